import type { AgentRecord } from '../core/agent.js';
import { toIso } from '../core/time.js';
import type { AgentView } from './schemas.js';

const isoOrNull = (epochMs: number | null) => (epochMs === null ? null : toIso(epochMs));

/** The public JSON shape of an agent: ISO-8601 UTC times, no storage internals. */
export function toAgentView(record: AgentRecord): AgentView {
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
  };
}
