import { BackendUnavailableError } from '../../core/errors.js';
import type { CallOptions, EventPublisher, PublishedEvent } from '../../core/ports.js';

/**
 * Publishes to every publisher at once (locally: the log and a webhook), each with the same
 * budget, and fails when any failed, after all were tried: one broken webhook must not keep the
 * events from the others, and the events stay in the outbox to be published (to all) again.
 */
export class FanoutEventPublisher implements EventPublisher {
  constructor(private readonly publishers: readonly EventPublisher[]) {}

  async publish(events: readonly PublishedEvent[], options?: CallOptions): Promise<void> {
    const results = await Promise.allSettled(this.publishers.map((p) => p.publish(events, options)));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    const [first] = failures;
    if (failures.length === 0) return;
    // One failure keeps its own class: a bug stays a plain error, an outage a BackendUnavailableError.
    if (failures.length === 1) throw first;
    const count = `${failures.length} of ${this.publishers.length} event publishers failed`;
    const message = `${count}: ${failures.map(String).join('; ')}`;
    const cause = new AggregateError(failures, message);
    throw failures.every((f) => f instanceof BackendUnavailableError)
      ? new BackendUnavailableError('events', message, 1, { cause })
      : new Error(message, { cause });
  }
}
