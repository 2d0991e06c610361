import type { AgentRecord } from '../core/agent.js';
import { type MaintenanceWindow, coveringWindow, effectiveEnd, isActive } from '../core/maintenance.js';
import { toIso } from '../core/time.js';
import type { AgentView, WindowView } from './schemas.js';

const isoOrNull = (epochMs: number | null) => (epochMs === null ? null : toIso(epochMs));

/**
 * The public JSON shape of an agent: ISO-8601 UTC times, no storage internals; `windows` (with
 * the time they are judged at) tell which maintenance window covers it now.
 */
export function toAgentView(
  record: AgentRecord,
  windows: { windows: readonly MaintenanceWindow[]; now: number } = { windows: [], now: 0 },
): AgentView {
  const window = coveringWindow(windows.windows, record, windows.now);
  return {
    agentId: record.agentId,
    state: record.state,
    bootId: record.bootId,
    seq: record.seq,
    lastSeen: toIso(record.lastSeen),
    deadline: toIso(record.deadline),
    ttlSeconds: record.ttlSeconds,
    intervalSeconds: record.intervalSeconds,
    armedFor: isoOrNull(record.armedFor),
    expiredAt: isoOrNull(record.expiredAt),
    detectedAt: isoOrNull(record.detectedAt),
    expiredBy: record.expiredBy,
    checks: record.checks,
    labels: record.labels,
    transitions: record.transitions.map((transition) => ({
      state: transition.state,
      at: toIso(transition.at),
      ...(transition.by === undefined ? {} : { by: transition.by }),
    })),
    maintenance:
      window === undefined
        ? null
        : {
            id: window.id,
            reason: window.reason,
            start: toIso(window.start),
            end: toIso(effectiveEnd(window)),
          },
  };
}

export function toWindowView(window: MaintenanceWindow, now: number): WindowView {
  return {
    id: window.id,
    state: isActive(window, now)
      ? 'active'
      : now < window.start && window.endedAt === undefined
        ? 'upcoming'
        : 'ended',
    selector: window.selector,
    start: toIso(window.start),
    end: toIso(window.end),
    endedAt: isoOrNull(window.endedAt ?? null),
    reason: window.reason,
    createdAt: toIso(window.createdAt),
    createdBy: window.createdBy,
  };
}
