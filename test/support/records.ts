import { type AgentRecord, deadlineOf } from '../../functions/core/agent.js';

const LAST_SEEN = Date.UTC(2026, 0, 15, 9, 30, 0);

/**
 * A valid alive AgentRecord; override what the test is about. `deadline` follows `lastSeen` and
 * `ttlSeconds` unless it is overridden itself, so records stay consistent by default.
 */
export function makeAgentRecord(overrides: Partial<AgentRecord> = {}): AgentRecord {
  const lastSeen = overrides.lastSeen ?? LAST_SEEN;
  const ttlSeconds = overrides.ttlSeconds ?? 90;
  const deadline = deadlineOf({ lastSeen, ttlSeconds });
  return {
    schemaVersion: 2,
    agentId: 'srv-0001',
    state: 'alive',
    bootId: 'boot-7f3a',
    seq: 42,
    lastSeen,
    ttlSeconds,
    intervalSeconds: 30,
    deadline,
    armedFor: deadline,
    expiredAt: null,
    detectedAt: null,
    expiredBy: null,
    checks: [
      { name: 'port-443', status: 'pass', output: 'connected in 3 ms' },
      { name: 'disk-root', status: 'warn', output: '91% used' },
    ],
    labels: { role: 'web', dc: 'fra1' },
    transitions: [{ state: 'alive', at: lastSeen - 3_600_000 }],
    outbox: [],
    ...overrides,
  };
}
