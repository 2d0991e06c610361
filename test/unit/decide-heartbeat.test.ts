import { describe, expect, it } from 'vitest';
import { decideHeartbeat } from '../../functions/core/decide-heartbeat.js';
import type { AgentRecord } from '../../functions/core/agent.js';
import { NO_GRACE, makeHeartbeat } from '../support/fakes.js';

const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);

function afterHeartbeatAt(seconds: number, previous?: AgentRecord) {
  const heartbeat = makeHeartbeat({ seq: null });
  return decideHeartbeat(previous, heartbeat, T0 + seconds * 1000, previous?.armedFor ?? null, NO_GRACE);
}

describe('decideHeartbeat', () => {
  it('registers a new agent alive with deadline lastSeen + ttl and arms its schedule there', () => {
    const decision = afterHeartbeatAt(0.25);
    expect(decision.outcome).toBe('registered');
    expect(decision.next).toMatchObject({ state: 'alive', lastSeen: T0 + 250, deadline: T0 + 90_250 });
    // Armed exactly at the deadline (the EventBridge adapter rounds up to its whole seconds).
    expect(decision.arm).toBe(T0 + 90_250);
    expect(decision.next.armedFor).toBe(T0 + 90_250);
    expect(decision.next.transitions).toEqual([{ state: 'alive', at: T0 + 250 }]);
  });

  it('writes the schedule on every second heartbeat at interval 30 s / ttl 90 s (coalesced arming)', () => {
    let record: AgentRecord | undefined;
    const armed: boolean[] = [];
    for (let i = 0; i < 8; i++) {
      const decision = afterHeartbeatAt(i * 30 + 0.1, record);
      armed.push(decision.arm !== null);
      record = decision.next;
    }
    expect(armed).toEqual([true, false, true, false, true, false, true, false]);
  });

  it('never keeps a schedule that would fire before the next expected heartbeat', () => {
    let record: AgentRecord | undefined;
    for (let i = 0; i < 20; i++) {
      const now = i * 30 + 0.1;
      record = afterHeartbeatAt(now, record).next;
      expect(record.armedFor).not.toBeNull();
      expect(record.armedFor ?? 0).toBeGreaterThan(T0 + (now + 30) * 1000);
      expect(record.armedFor ?? Infinity).toBeLessThanOrEqual(Math.ceil(record.deadline / 1000) * 1000);
    }
  });

  it('re-arms when the armed schedule would fire too late (ttl shortened)', () => {
    const first = afterHeartbeatAt(0).next;
    const decision = decideHeartbeat(
      first,
      makeHeartbeat({ ttlSeconds: 30, intervalSeconds: 10 }),
      T0 + 1000,
      first.armedFor,
      NO_GRACE,
    );
    expect(decision.arm).toBe(T0 + 31_000);
  });

  it('ignores a duplicate or reordered report from the same boot and keeps lastSeen (I4)', () => {
    const first = decideHeartbeat(undefined, makeHeartbeat({ seq: 5 }), T0 + 10_000, null, NO_GRACE).next;
    for (const seq of [5, 4, 0]) {
      const decision = decideHeartbeat(first, makeHeartbeat({ seq }), T0 + 20_000, first.armedFor, NO_GRACE);
      expect(decision).toMatchObject({ outcome: 'stale', write: false, arm: null });
      expect(decision.next).toBe(first);
    }
  });

  it('compares seq only within a known boot: without a bootId a restart is never mistaken for a replay', () => {
    const first = decideHeartbeat(
      undefined,
      makeHeartbeat({ bootId: null, seq: 500 }),
      T0,
      null,
      NO_GRACE,
    ).next;
    const decision = decideHeartbeat(
      first,
      makeHeartbeat({ bootId: null, seq: 1 }),
      T0 + 30_000,
      first.armedFor,
      NO_GRACE,
    );
    expect(decision.outcome).toBe('refreshed');
    expect(decision.next).toMatchObject({ seq: 1, lastSeen: T0 + 30_000 });
  });

  it('accepts a lower seq from a new boot (an agent restart)', () => {
    const first = decideHeartbeat(undefined, makeHeartbeat({ seq: 500 }), T0, null, NO_GRACE).next;
    const decision = decideHeartbeat(
      first,
      makeHeartbeat({ bootId: 'boot-2', seq: 1 }),
      T0 + 1000,
      first.armedFor,
      NO_GRACE,
    );
    expect(decision.outcome).toBe('refreshed');
    expect(decision.next).toMatchObject({ bootId: 'boot-2', seq: 1, lastSeen: T0 + 1000 });
  });

  it('never moves lastSeen backwards when a slower request commits after a faster one', () => {
    const first = afterHeartbeatAt(10).next;
    const decision = decideHeartbeat(first, makeHeartbeat(), T0 + 5000, first.armedFor, NO_GRACE);
    expect(decision.next.lastSeen).toBe(T0 + 10_000);
  });

  it('recovers an expired agent, clears expiredAt and arms a new schedule', () => {
    const alive = afterHeartbeatAt(0).next;
    const expired: AgentRecord = {
      ...alive,
      state: 'expired',
      expiredAt: alive.deadline,
      detectedAt: alive.deadline + 500,
      armedFor: null,
    };
    const decision = decideHeartbeat(expired, makeHeartbeat(), T0 + 200_000, null, NO_GRACE);
    expect(decision.outcome).toBe('recovered');
    expect(decision.next).toMatchObject({ state: 'alive', expiredAt: null, detectedAt: null });
    expect(decision.arm).toBe(T0 + 290_000);
    expect(decision.next.transitions.at(-1)).toEqual({ state: 'alive', at: T0 + 200_000 });
  });

  it('does not resurrect an expired agent from a stale report', () => {
    const alive = decideHeartbeat(undefined, makeHeartbeat({ seq: 3 }), T0, null, NO_GRACE).next;
    const expired: AgentRecord = { ...alive, state: 'expired', expiredAt: alive.deadline, armedFor: null };
    const decision = decideHeartbeat(expired, makeHeartbeat({ seq: 2 }), T0 + 200_000, null, NO_GRACE);
    expect(decision).toMatchObject({ outcome: 'stale', write: false, arm: null });
    expect(decision.next.state).toBe('expired');
  });

  it('puts back the schedule the record names if this request moved it before finding its report stale', () => {
    const alive = decideHeartbeat(undefined, makeHeartbeat({ seq: 3 }), T0, null, NO_GRACE).next;
    // null: this request already wrote a schedule, so what the scheduler holds is unknown.
    const decision = decideHeartbeat(alive, makeHeartbeat({ seq: 3 }), T0 + 1000, null, NO_GRACE);
    expect(decision.arm).toBe(alive.armedFor);
  });
});
