import { hash } from 'node:crypto';
import type { AgentRecord, OutboxEvent } from './agent.js';
import type { DetailType, EventDetail } from './event-schemas.js';
import type { MetricName, PublishedEvent } from './ports.js';
import { toIso } from './time.js';

export { EVENT_SOURCE } from './event-source.js';

/** The on-call line each event writes once, when first delivered, and the metric it counts. */
interface LineStyle {
  level: 'info' | 'warn';
  message: string;
  metric?: MetricName;
}

/** The messages on-call searches for; cdk/monitoring.ts queries and alarms use the same texts. */
export const LINES: Record<DetailType, LineStyle> = {
  'Agent Registered': { level: 'info', message: 'agent registered', metric: 'AgentsRegistered' },
  'Agent Recovered': { level: 'info', message: 'agent recovered', metric: 'AgentsRecovered' },
  'Agent Expired': { level: 'warn', message: 'agent expired', metric: 'AgentsExpired' },
  'Agent Deregistered': { level: 'info', message: 'agent deregistered', metric: 'AgentsDeregistered' },
  'Agent Reaped': { level: 'info', message: 'agent reaped', metric: 'AgentsReaped' },
  'Check Status Changed': { level: 'info', message: 'check status changed', metric: 'ChecksChanged' },
  'Maintenance Entered': { level: 'info', message: 'maintenance window started' },
  'Maintenance Left': { level: 'info', message: 'maintenance window ended' },
};

/** Identifies an outbox event within its record: its type, its committer, and a check's name. */
export function outboxKey(event: OutboxEvent): string {
  return event.type === 'check.changed'
    ? `${event.type}/${event.by}/${event.check}`
    : `${event.type}/${event.by}`;
}

/** A stable id for a transition, from what identifies it (32 hex digits of a SHA-256). */
export function eventIdOf(...parts: string[]): string {
  return hash('sha256', parts.join('\n'), 'hex').slice(0, 32);
}

/**
 * Events whose line was written but whose publication failed, that a record keeps at most: only
 * a long outage of the event bus lets them pile up (each is removed once published); past this
 * the oldest of them go. Events not yet delivered at all (a commit's own, or a committer's that
 * died) are never dropped: they are few, and an on-call line depends on each.
 */
export const MAX_OUTBOX = 20;

export function appendEvents(outbox: readonly OutboxEvent[], events: readonly OutboxEvent[]): OutboxEvent[] {
  const all = [...outbox, ...events];
  let excess = all.filter((event) => event.logged === true).length - MAX_OUTBOX;
  return all.filter((event) => !(event.logged === true && excess-- > 0));
}

/**
 * The published form of an outbox event of `record` (the record as committed, or later: what a
 * transition's own heartbeat said is in the event itself).
 */
export function toPublished(record: AgentRecord, event: OutboxEvent): PublishedEvent {
  const eventId = eventIdOf(record.agentId, outboxKey(event));
  const base = { eventId, agentId: record.agentId, labels: record.labels };
  const at = toIso(event.at);
  const make = <T extends DetailType>(detailType: T, detail: EventDetail<T>): PublishedEvent =>
    ({ id: eventId, detailType, time: event.at, detail }) as PublishedEvent;
  switch (event.type) {
    case 'agent.expired': {
      const report = event.report;
      return make('Agent Expired', {
        ...base,
        labels: report.labels,
        lastSeen: toIso(report.lastSeen),
        ttlSeconds: report.ttlSeconds,
        expiredAt: toIso(report.expiredAt),
        detectedAt: toIso(report.detectedAt),
        lateBySeconds: Math.max(0, (report.detectedAt - report.expiredAt) / 1000),
        detectedBy: report.detectedBy,
        bootId: report.bootId,
        failingChecks: report.failingChecks,
        expiredBy: event.by,
        // Expired at the end of a deferral: the service may have been deaf rather than the agent dead.
        suspectedPipelineOutage: report.suspectedPipelineOutage === true,
        // Silent together with a good part of the fleet: one event (see the per-minute summary).
        massExpiry: report.massExpiry === true,
      });
    }
    // As the heartbeat that made them said, whatever later ones changed since.
    case 'agent.registered':
      return make('Agent Registered', {
        ...base,
        labels: event.labels,
        at,
        reregistered: event.reregistered,
        lastSeen: at,
        deadline: toIso(event.deadline),
        ttlSeconds: event.ttlSeconds,
        bootId: event.bootId,
      });
    case 'agent.recovered':
      return make('Agent Recovered', {
        ...base,
        labels: event.labels,
        at,
        from: 'expired',
        expiredAt: event.expiredAt === null ? null : toIso(event.expiredAt),
        downSeconds: event.expiredAt === null ? null : Math.max(0, (event.at - event.expiredAt) / 1000),
        lastSeen: at,
        deadline: toIso(event.deadline),
        bootId: event.bootId,
      });
    case 'agent.deregistered':
      return make('Agent Deregistered', {
        ...base,
        at,
        previousState: event.previousState,
        lastSeen: toIso(record.lastSeen),
        deregisteredBy: event.by,
      });
    case 'check.changed':
      return make('Check Status Changed', {
        ...base,
        at,
        check: event.check,
        from: event.from,
        to: event.to,
        ...(event.output === undefined ? {} : { output: event.output }),
      });
  }
}

/** The on-call line of a published event: its style, with the detail as the line's fields. */
export function lineOf(event: PublishedEvent): LineStyle & { attributes: Record<string, unknown> } {
  const style = LINES[event.detailType];
  const attributes: Record<string, unknown> = { ...event.detail };
  // Logs drop null fields; keep the key so a query for it always finds one (the expiry line's
  // long-standing shape).
  if (event.detailType === 'Agent Expired' && attributes['bootId'] === null) attributes['bootId'] = 'none';
  return { ...style, attributes };
}
