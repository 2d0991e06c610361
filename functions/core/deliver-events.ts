import type { AgentRecord, OutboxEvent } from './agent.js';
import type { Budget, CoreDeps } from './ports.js';
import { toIso } from './time.js';
import { done, writeAgent } from './write-protocol.js';

/** The message on-call searches for; cdk/monitoring.ts queries and alarms use the same text. */
export const EXPIRED_MESSAGE = 'agent expired';

/**
 * Delivers the record's outbox events that `which` selects: the on-call line and its metric for
 * each, then one conditional write removing them. At least once: if the removal fails (or the
 * process dies before it), a retry of the same invocation or the reconciler delivers them again.
 * Exactly once otherwise, because only the invocation that committed an event delivers it at
 * once; others wait until its committer must have finished (the reconciler's grace period).
 */
export async function deliverEvents(
  deps: CoreDeps,
  record: AgentRecord,
  which: (event: OutboxEvent) => boolean,
  budget: Budget,
): Promise<number> {
  const events = record.outbox.filter(which);
  if (events.length === 0) return 0;
  for (const event of events) writeLine(deps, event);

  const delivered = new Set(events.map(eventKey));
  const pending = (found: AgentRecord) => found.outbox.some((event) => delivered.has(eventKey(event)));
  try {
    await writeAgent(deps, record.agentId, budget, (current) =>
      current === undefined || !pending(current)
        ? done(undefined)
        : {
            kind: 'write',
            next: { ...current, outbox: current.outbox.filter((event) => !delivered.has(eventKey(event))) },
            isOurs: (found) => !pending(found),
            result: () => undefined,
          },
    );
  } catch (error) {
    deps.log.warn('events delivered but not yet marked delivered; they may be delivered again', {
      agentId: record.agentId,
      events: events.map(eventKey),
      error,
    });
  }
  return events.length;
}

function eventKey(event: OutboxEvent): string {
  return `${event.type}/${event.by}`;
}

function writeLine(deps: CoreDeps, event: OutboxEvent): void {
  const report = event.report;
  deps.metrics.count('AgentsExpired');
  deps.log.warn(EXPIRED_MESSAGE, {
    agentId: report.agentId,
    lastSeen: toIso(report.lastSeen),
    ttlSeconds: report.ttlSeconds,
    expiredAt: toIso(report.expiredAt),
    detectedAt: toIso(report.detectedAt),
    lateBySeconds: Math.max(0, (report.detectedAt - report.expiredAt) / 1000),
    detectedBy: report.detectedBy,
    // Logs drop null fields; keep the key so a query for it always finds one.
    bootId: report.bootId ?? 'none',
    failingChecks: report.failingChecks,
    labels: report.labels,
    expiredBy: event.by,
    // Expired at the end of a deferral: the service may have been deaf rather than the agent dead.
    suspectedPipelineOutage: report.suspectedPipelineOutage === true,
    // Silent together with a good part of the fleet: one event (see the per-minute summary).
    massExpiry: report.massExpiry === true,
  });
}
