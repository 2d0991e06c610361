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
 * Undelivered events a record keeps at most. Only a long outage of the event bus lets them pile
 * up (each is removed once published); past this the oldest, whose lines were written, go.
 */
export const MAX_OUTBOX = 20;

export function appendEvents(outbox: readonly OutboxEvent[], events: readonly OutboxEvent[]): OutboxEvent[] {
  return [...outbox, ...events].slice(-MAX_OUTBOX);
}

/** The published form of an outbox event of `record` (the record as committed, or later). */
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
    case 'agent.registered':
      return make('Agent Registered', {
        ...base,
        at,
        reregistered: event.reregistered,
        lastSeen: toIso(record.lastSeen),
        deadline: toIso(record.deadline),
        ttlSeconds: record.ttlSeconds,
        bootId: record.bootId,
      });
    case 'agent.recovered':
      return make('Agent Recovered', {
        ...base,
        at,
        from: 'expired',
        expiredAt: event.expiredAt === null ? null : toIso(event.expiredAt),
        downSeconds: event.expiredAt === null ? null : Math.max(0, (event.at - event.expiredAt) / 1000),
        lastSeen: toIso(record.lastSeen),
        deadline: toIso(record.deadline),
        bootId: record.bootId,
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
