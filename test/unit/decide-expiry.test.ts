import { describe, expect, it } from 'vitest';
import { REPORT_OUTPUT_CHARS, decideExpiry } from '../../functions/core/decide-expiry.js';
import { decideHeartbeat } from '../../functions/core/decide-heartbeat.js';
import { NO_GRACE, makeHeartbeat } from '../support/fakes.js';

const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);
const alive = decideHeartbeat(undefined, makeHeartbeat(), T0 + 400, null, NO_GRACE).next;

describe('decideExpiry', () => {
  it('expires a silent agent with expiredAt = lastSeen + ttl, not the detection time', () => {
    const decision = decideExpiry(alive, alive.deadline + 1600, 'inv-1', 'schedule', NO_GRACE);
    expect(decision.kind).toBe('expire');
    if (decision.kind !== 'expire') return;
    expect(decision.next).toMatchObject({
      state: 'expired',
      expiredAt: T0 + 90_400,
      detectedAt: T0 + 92_000,
      expiredBy: 'inv-1',
      armedFor: null,
    });
    expect(decision.next.transitions.at(-1)).toEqual({ state: 'expired', at: T0 + 90_400, by: 'inv-1' });
  });

  it('commits the on-call report with the expiry, in the outbox, so it survives the process (I9)', () => {
    const record = {
      ...alive,
      checks: [
        { name: 'disk', status: 'fail' as const, output: 'x'.repeat(5000) },
        { name: 'port', status: 'pass' as const },
      ],
    };
    const decision = decideExpiry(record, alive.deadline + 5_000, 'inv-1', 'reconciler', NO_GRACE);
    if (decision.kind !== 'expire') throw new Error('expected an expiry');
    expect(decision.next.outbox).toEqual([
      { type: 'agent.expired', by: 'inv-1', at: alive.deadline + 5_000, report: decision.report },
    ]);
    expect(decision.report).toMatchObject({
      agentId: 'web-1',
      expiredAt: alive.deadline,
      detectedAt: alive.deadline + 5_000,
      detectedBy: 'reconciler',
      failingChecks: [{ name: 'disk', status: 'fail' }],
    });
    // The record keeps the whole output; the report only enough to say what failed.
    expect(decision.report.failingChecks[0]?.output?.length).toBe(REPORT_OUTPUT_CHARS + 1);
    expect(decision.next.checks[0]?.output?.length).toBe(5000);
  });

  it('re-arms to the real deadline when fired early, with a conditional write even if armedFor stays', () => {
    expect(decideExpiry(alive, alive.deadline - 1, 'inv-1', 'schedule', NO_GRACE)).toEqual({
      kind: 'rearm',
      fireAt: T0 + 90_400,
      next: alive,
    });
    const armedEarlier = { ...alive, armedFor: T0 + 60_000 };
    const decision = decideExpiry(armedEarlier, T0 + 60_000, 'inv-1', 'schedule', NO_GRACE);
    expect(decision).toMatchObject({ kind: 'rearm', fireAt: T0 + 90_400, next: { armedFor: T0 + 90_400 } });
  });

  it('ignores an agent that is already expired (a duplicate delivery changes nothing)', () => {
    const expired = decideExpiry(alive, alive.deadline + 10, 'inv-1', 'schedule', NO_GRACE);
    if (expired.kind !== 'expire') throw new Error('expected an expiry');
    expect(decideExpiry(expired.next, alive.deadline + 20, 'inv-2', 'schedule', NO_GRACE)).toEqual({
      kind: 'ignore',
      reason: 'not-alive',
    });
  });
});
