import { setTimeout as sleep } from 'node:timers/promises';
import { InternalException, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { EventBridgeClient, PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { BackendUnavailableError } from '../../core/errors.js';
import { EVENT_SOURCE } from '../../core/events.js';
import type { CallOptions, EventPublisher, PublishedEvent } from '../../core/ports.js';
import { isTransientAwsError } from '../aws-errors.js';
import { backoffMs } from '../aws-retry.js';
import { CallTimeoutError, withCallTimeout } from '../call-timeout.js';

export interface EventBridgePublisherConfig {
  /** The bus rules listen on (its name or ARN). */
  eventBusName: string;
}

/** PutEvents quotas: entries per request, and bytes per request (and so per entry). */
export const MAX_ENTRIES_PER_REQUEST = 10;
export const MAX_REQUEST_BYTES = 256 * 1024;
// A rejected entry is usually a throttled or failed shard behind an accepted request: a couple of
// quick retries of just those entries ride it out. More would only eat the invocation's budget;
// the outbox keeps what still failed for the reconciler.
const MAX_ATTEMPTS = 3;

/** An entry's size as EventBridge counts it against the quota (Time counts as 14 bytes). */
export function entrySize(entry: PutEventsRequestEntry): number {
  const bytes = (text: string | undefined) => (text === undefined ? 0 : Buffer.byteLength(text, 'utf8'));
  return (
    (entry.Time === undefined ? 0 : 14) +
    bytes(entry.Source) +
    bytes(entry.DetailType) +
    bytes(entry.Detail) +
    (entry.Resources ?? []).reduce((sum, resource) => sum + bytes(resource), 0)
  );
}

/** Splits entries, in order, into requests within both quotas. */
export function batchEntries(entries: readonly PutEventsRequestEntry[]): PutEventsRequestEntry[][] {
  const batches: PutEventsRequestEntry[][] = [];
  let current: PutEventsRequestEntry[] = [];
  let currentBytes = 0;
  for (const entry of entries) {
    const size = entrySize(entry);
    // Our own details are small; one this big is a bug (a runaway check output), not an outage.
    if (size > MAX_REQUEST_BYTES) {
      throw new Error(`event ${entry.DetailType} of ${size} bytes exceeds PutEvents' ${MAX_REQUEST_BYTES}`);
    }
    if (current.length === MAX_ENTRIES_PER_REQUEST || currentBytes + size > MAX_REQUEST_BYTES) {
      batches.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(entry);
    currentBytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * The event publisher on EventBridge PutEvents. Throttling, 5xx and network errors of a whole
 * request are the client's own retry strategy (functions/adapters/aws-retry.ts); this adapter adds
 * what the SDK cannot see: PutEvents answers 200 even when it rejected some entries, so those
 * (and only those, to keep duplicates down) are sent again, all within CallOptions.timeoutMs.
 */
export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly config: EventBridgePublisherConfig,
  ) {
    if (config.eventBusName === '') throw new Error('eventBusName must be set');
  }

  async publish(events: readonly PublishedEvent[], options?: CallOptions): Promise<void> {
    if (events.length === 0) return;
    // Built and batched before any call: an oversized event fails the whole publication up front
    // rather than after part of it went out.
    const batches = batchEntries(events.map((event) => this.entryOf(event)));
    // What was last rejected, so a budget that runs out during a retry still says why it retried.
    const state: { rejected?: string } = {};
    try {
      await withCallTimeout(options, async (abortSignal) => {
        for (const batch of batches) await this.putBatch(batch, abortSignal, state);
      });
    } catch (err) {
      throw this.failure(
        `publishing ${events.length} events to ${this.config.eventBusName} failed`,
        err,
        state,
      );
    }
  }

  private entryOf(event: PublishedEvent): PutEventsRequestEntry {
    return {
      Source: EVENT_SOURCE,
      DetailType: event.detailType,
      Detail: JSON.stringify(event.detail),
      Time: new Date(event.time),
      EventBusName: this.config.eventBusName,
    };
  }

  private async putBatch(
    entries: PutEventsRequestEntry[],
    abortSignal: AbortSignal | undefined,
    state: { rejected?: string },
  ): Promise<void> {
    let pending = entries;
    for (let attempt = 1; ; attempt++) {
      const output = await this.client.send(new PutEventsCommand({ Entries: pending }), { abortSignal });
      if ((output.FailedEntryCount ?? 0) === 0) return;
      // Results come in the order of the request; a failed one carries an ErrorCode, no EventId.
      const results = output.Entries ?? [];
      const failed = pending.flatMap((entry, index) => {
        const result = results[index];
        return result?.EventId !== undefined && result.ErrorCode === undefined
          ? []
          : [{ entry, code: result?.ErrorCode ?? 'NoResult' }];
      });
      if (failed.length === 0) return;
      state.rejected = describeCodes(failed.map((f) => f.code));
      if (attempt >= MAX_ATTEMPTS) throw new EntriesRejected(failed.length, state.rejected);
      pending = failed.map((f) => f.entry);
      // The SDK's jittered backoff, but never an immediate resend: the shard that rejected them
      // needs a moment. The budget's signal cancels the wait.
      await sleep(50 + backoffMs(attempt), undefined, { signal: abortSignal });
    }
  }

  /**
   * Rejected entries, throttling, 5xx, network trouble and an exhausted budget are an outage the
   * outbox rides out: BackendUnavailableError. Anything else (AccessDenied, a missing bus) is a
   * misconfiguration no retry fixes: a plain error, so that it reads as one in the logs.
   */
  private failure(message: string, cause: unknown, state: { rejected?: string }): Error {
    if (cause instanceof EntriesRejected) {
      return new BackendUnavailableError('events', `${message}: ${cause.message}`, 1, { cause });
    }
    const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    const rejected = state.rejected === undefined ? '' : `; entries last rejected with ${state.rejected}`;
    if (
      cause instanceof InternalException ||
      cause instanceof CallTimeoutError ||
      isTransientAwsError(cause)
    ) {
      return new BackendUnavailableError('events', `${message} (${detail}${rejected})`, 1, { cause });
    }
    return new Error(`${message} (${detail})`, { cause });
  }
}

/** "ThrottlingException x2, InternalFailure": each code once, with how many entries had it. */
function describeCodes(codes: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const code of codes) counts.set(code, (counts.get(code) ?? 0) + 1);
  return [...counts].map(([code, n]) => (n === 1 ? code : `${code} x${n}`)).join(', ');
}

/** Entries EventBridge kept rejecting after every attempt. */
class EntriesRejected extends Error {
  override readonly name = 'EntriesRejected';
  constructor(
    readonly count: number,
    readonly codes: string,
  ) {
    super(`${count} entries still rejected after ${MAX_ATTEMPTS} attempts (${codes})`);
  }
}
