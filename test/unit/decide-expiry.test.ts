import { describe, expect, it } from 'vitest';
import { decideExpiry } from '../../functions/core/decide-expiry.js';
import { decideHeartbeat } from '../../functions/core/decide-heartbeat.js';
import { makeHeartbeat } from '../support/fakes.js';

const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);
const alive = decideHeartbeat(undefined, makeHeartbeat(), T0 + 400, null).next;

describe('decideExpiry', () => {
  it('expires a silent agent with expiredAt = lastSeen + ttl, not the detection time', () => {
    const decision = decideExpiry(alive, alive.deadline + 1600, 'inv-1');
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

  it('re-arms to the real deadline when fired early, with a conditional write even if armedFor stays', () => {
    expect(decideExpiry(alive, alive.deadline - 1, 'inv-1')).toEqual({
      kind: 'rearm',
      fireAt: T0 + 90_400,
      next: alive,
    });
    const armedEarlier = { ...alive, armedFor: T0 + 60_000 };
    const decision = decideExpiry(armedEarlier, T0 + 60_000, 'inv-1');
    expect(decision).toMatchObject({ kind: 'rearm', fireAt: T0 + 90_400, next: { armedFor: T0 + 90_400 } });
  });

  it('ignores an agent that is already expired (a duplicate delivery changes nothing)', () => {
    const expired = decideExpiry(alive, alive.deadline + 10, 'inv-1');
    if (expired.kind !== 'expire') throw new Error('expected an expiry');
    expect(decideExpiry(expired.next, alive.deadline + 20, 'inv-1')).toEqual({
      kind: 'ignore',
      reason: 'not-alive',
    });
  });
});
