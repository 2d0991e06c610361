import type { AgentRecord, OutboxEvent } from './agent.js';
import { callOptions } from './budget.js';
import { LINES, lineOf, outboxKey, toPublished } from './events.js';
import type { Budget, CoreDeps, PublishedEvent } from './ports.js';
import { done, writeAgent } from './write-protocol.js';

/** The message on-call searches for; cdk/monitoring.ts queries and alarms use the same text. */
export const EXPIRED_MESSAGE = LINES['Agent Expired'].message;

/**
 * Delivers the record's outbox events that `which` selects: the on-call line and metric of each
 * (once: not again for an event whose line an earlier delivery wrote), then their publication,
 * then one conditional write removing the published ones. A publication that fails leaves them
 * in the record, marked `logged`, for the reconciler to publish later; it never fails the caller.
 *
 * At least once: if the removal fails (or the process dies before it), a retry of the same
 * invocation or the reconciler delivers them again. Exactly once otherwise, because only the
 * invocation that committed an event delivers it at once; others wait until its committer must
 * have finished (the reconciler's grace period).
 */
export async function deliverEvents(
  deps: CoreDeps,
  record: AgentRecord,
  which: (event: OutboxEvent) => boolean,
  budget: Budget,
): Promise<number> {
  const events = record.outbox.filter(which);
  if (events.length === 0) return 0;
  const published = events.map((event) => toPublished(record, event));
  events.forEach((event, index) => {
    const publishedEvent = published[index];
    if (event.logged !== true && publishedEvent !== undefined) writeLine(deps, publishedEvent);
  });
  const ok = await publishEvents(deps, published, budget, { agentId: record.agentId });

  const keys = new Set(events.map(outboxKey));
  const pending = (found: AgentRecord) =>
    found.outbox.some((event) => keys.has(outboxKey(event)) && (ok || event.logged !== true));
  try {
    await writeAgent(deps, record.agentId, budget, (current) =>
      current === undefined || !pending(current)
        ? done(undefined)
        : {
            kind: 'write',
            next: {
              ...current,
              // Published: removed. Not published: kept, marked as logged, for a later try.
              outbox: ok
                ? current.outbox.filter((event) => !keys.has(outboxKey(event)))
                : current.outbox.map((event) =>
                    keys.has(outboxKey(event)) ? { ...event, logged: true as const } : event,
                  ),
            },
            isOurs: (found) => !pending(found),
            result: () => undefined,
          },
    );
  } catch (error) {
    deps.log.warn('events delivered but not yet marked delivered; they may be delivered again', {
      agentId: record.agentId,
      events: events.map(outboxKey),
      error,
    });
  }
  return events.length;
}

/**
 * Writes the line of each event and publishes them: for events no record keeps (a reaped agent,
 * a maintenance window), whose callers retry as they can. Resolves whether they were published.
 */
export async function announce(
  deps: Pick<CoreDeps, 'events' | 'log' | 'metrics'>,
  events: readonly PublishedEvent[],
  budget: Budget,
  context: Record<string, unknown> = {},
): Promise<boolean> {
  for (const event of events) writeLine(deps, event);
  return publishEvents(deps, events, budget, context);
}

/**
 * A publication may use at most this share of what is left, and this long at most, so the write
 * that marks the events published (or logged, for a later try) always has time after it.
 */
const PUBLISH_SHARE = 0.4;
const PUBLISH_CAP_MS = 3_000;

/**
 * Publishes, within the budget; a failure is counted (the EventPublishFailures alarm) and logged,
 * never thrown: a transition that committed stands whatever the bus does.
 */
export async function publishEvents(
  deps: Pick<CoreDeps, 'events' | 'log' | 'metrics'>,
  events: readonly PublishedEvent[],
  budget: Budget,
  context: Record<string, unknown> = {},
): Promise<boolean> {
  if (deps.events === undefined || events.length === 0) return true;
  try {
    const cap = Math.min(PUBLISH_CAP_MS, budget.remainingMs() * PUBLISH_SHARE);
    await deps.events.publish(events, callOptions(budget, 'events', cap));
    deps.metrics.count('EventsPublished', events.length);
    return true;
  } catch (error) {
    deps.metrics.count('EventPublishFailures', events.length);
    deps.log.warn(NOT_PUBLISHED_MESSAGE, {
      ...context,
      events: events.map((event) => ({ eventId: event.id, detailType: event.detailType })),
      error,
    });
    return false;
  }
}

/** Counted by EventPublishFailures too; an outbox keeps such events for the reconciler to retry. */
export const NOT_PUBLISHED_MESSAGE = 'events not published';

export function writeLine(deps: Pick<CoreDeps, 'log' | 'metrics'>, event: PublishedEvent): void {
  const line = lineOf(event);
  if (line.metric !== undefined) deps.metrics.count(line.metric);
  deps.log[line.level](line.message, line.attributes);
}
