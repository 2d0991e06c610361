import { setTimeout as sleepTimer } from 'node:timers/promises';
import { BackendUnavailableError } from '../../core/errors.js';
import { EVENT_SOURCE } from '../../core/events.js';
import type { CallOptions, EventPublisher, PublishedEvent } from '../../core/ports.js';
import { toIso } from '../../core/time.js';
import { CallTimeoutError, withCallTimeout } from '../call-timeout.js';

export interface WebhookPublisherConfig {
  /** Where each event is POSTed; http: or https: only. */
  url: string;
  /** For tests; the global fetch by default. */
  fetch?: typeof fetch;
  /** For tests; by default a timer the budget's signal cancels. Awaited, so nothing outlives a call. */
  sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
}

/** A publication without a budget of its own still ends: a webhook that hangs must not hang us. */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 5_000;
// Three attempts, 200 ms then 400 ms apart: enough to ride out a receiver restarting, short enough
// to fit an invocation; what still fails stays in the outbox for the reconciler.
const RETRY_DELAYS_MS = [200, 400];

const defaultSleep = (ms: number, signal: AbortSignal | undefined): Promise<void> =>
  sleepTimer(ms, undefined, { signal });

/**
 * Publishes each event as one JSON POST, shaped like the EventBridge event a rule would deliver
 * (`id`, `source`, `detail-type`, `time`, `detail`), so that a consumer is written once for both.
 * Network errors, 429 and 5xx are retried; any other answer but 2xx is the receiver refusing the
 * event, which a retry would not change.
 */
export class WebhookEventPublisher implements EventPublisher {
  private readonly url: URL;
  private readonly fetch: typeof fetch;
  private readonly sleep: (ms: number, signal: AbortSignal | undefined) => Promise<void>;

  constructor(config: WebhookPublisherConfig) {
    // Checked at start-up: a typo in the URL is a configuration error, not an outage per event.
    let url: URL;
    try {
      url = new URL(config.url);
    } catch (err) {
      throw new Error(`webhook URL ${JSON.stringify(config.url)} is not a URL`, { cause: err });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`webhook URL must be http: or https:, got ${url.protocol}`);
    }
    this.url = url;
    this.fetch = config.fetch ?? fetch;
    this.sleep = config.sleep ?? defaultSleep;
  }

  async publish(events: readonly PublishedEvent[], options?: CallOptions): Promise<void> {
    if (events.length === 0) return;
    // One budget for every event, retries and waits included (I10).
    const timeoutMs = options?.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
    const state: { lastProblem?: string } = {};
    try {
      await withCallTimeout({ timeoutMs }, async (signal) => {
        for (const event of events) await this.post(event, signal, state);
      });
    } catch (err) {
      const detail =
        err instanceof CallTimeoutError && state.lastProblem !== undefined
          ? `${err.message}; last attempt: ${state.lastProblem}`
          : err instanceof Error
            ? err.message
            : String(err);
      throw new BackendUnavailableError(
        'events',
        `webhook ${this.url.origin}${this.url.pathname} failed (${detail})`,
        1,
        { cause: err },
      );
    }
  }

  private async post(
    event: PublishedEvent,
    signal: AbortSignal | undefined,
    state: { lastProblem?: string },
  ): Promise<void> {
    const body = JSON.stringify({
      id: event.id,
      source: EVENT_SOURCE,
      'detail-type': event.detailType,
      time: toIso(event.time),
      detail: event.detail,
    });
    for (let attempt = 1; ; attempt++) {
      const failed = await this.attempt(body, signal);
      if (failed === undefined) return;
      state.lastProblem = `${failed.problem} for event ${event.id}`;
      const delay = RETRY_DELAYS_MS[attempt - 1];
      if (!failed.retry) throw new Error(`${state.lastProblem}, not retried: the receiver refused it`);
      if (delay === undefined) throw new Error(`${state.lastProblem}, after ${attempt} attempts`);
      await this.sleep(delay, signal);
    }
  }

  /** One POST: nothing when it was accepted, else what went wrong and whether to try again. */
  private async attempt(
    body: string,
    signal: AbortSignal | undefined,
  ): Promise<{ problem: string; retry: boolean } | undefined> {
    let response: Response;
    try {
      response = await this.fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        // A redirect is not followed: events go to the configured receiver or nowhere.
        redirect: 'manual',
        signal,
      });
    } catch (err) {
      if (signal?.aborted === true) throw err; // the budget ran out: withCallTimeout says so
      return { problem: networkProblem(err), retry: true };
    }
    // Nothing to read; dropping the body frees the connection.
    await response.body?.cancel();
    if (response.ok) return undefined;
    const status = response.status;
    return { problem: `HTTP ${status}`, retry: status === 429 || status >= 500 };
  }
}

/** fetch rejects with "fetch failed" and puts what failed (ECONNREFUSED, ...) in its cause. */
function networkProblem(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause as { code?: unknown; message?: unknown } | undefined;
  const code =
    typeof cause?.code === 'string'
      ? cause.code
      : typeof cause?.message === 'string'
        ? cause.message
        : undefined;
  return code === undefined ? err.message : `${err.message} (${code})`;
}
