import { describe, expect, it } from 'vitest';
import { CircuitBreakingScheduler } from '../../functions/adapters/scheduler/circuit-breaker.js';
import { BackendUnavailableError } from '../../functions/core/errors.js';
import { FakeClock, RecordingScheduler } from '../support/fakes.js';

const request = { name: 'hb-a-0', fireAt: 0, payload: { agentId: 'a' } };
const down = () => new BackendUnavailableError('scheduler', 'throttled');

function setup() {
  const clock = new FakeClock();
  const inner = new RecordingScheduler();
  const opened: unknown[] = [];
  const calls = { count: 0 };
  const counting = {
    upsert: (r: typeof request) => {
      calls.count++;
      return inner.upsert(r);
    },
    delete: (name: string) => inner.delete(name),
  };
  const breaker = new CircuitBreakingScheduler(counting, {
    clock,
    failures: 3,
    openMs: 10_000,
    onOpen: (error) => opened.push(error),
  });
  return { clock, inner, breaker, opened, calls };
}

describe('the scheduler circuit breaker', () => {
  it('after three unavailable answers in a row, fails at once for ten seconds, then lets one call probe', async () => {
    const s = setup();
    s.inner.failNext(down(), 3);
    for (let i = 0; i < 3; i++)
      await expect(s.breaker.upsert(request)).rejects.toBeInstanceOf(BackendUnavailableError);
    expect(s.opened).toHaveLength(1);

    await expect(s.breaker.upsert(request)).rejects.toThrow(/paused/);
    expect(s.calls.count).toBe(3);

    s.clock.advance(10);
    await s.breaker.upsert(request); // the probe succeeds: closed again
    await s.breaker.upsert(request);
    expect(s.calls.count).toBe(5);
  });

  it('a failed probe opens it again, without telling twice', async () => {
    const s = setup();
    s.inner.failNext(down(), 4);
    for (let i = 0; i < 3; i++) await s.breaker.upsert(request).catch(() => undefined);
    s.clock.advance(10);
    await expect(s.breaker.upsert(request)).rejects.toThrow(/throttled/);
    await expect(s.breaker.upsert(request)).rejects.toThrow(/paused/);
    expect(s.opened).toHaveLength(1);
    expect(s.calls.count).toBe(4);
  });

  it('lets only one probe out at a time', async () => {
    const s = setup();
    s.inner.failNext(down(), 3);
    for (let i = 0; i < 3; i++) await s.breaker.upsert(request).catch(() => undefined);
    s.clock.advance(10);
    const [probe, other] = await Promise.allSettled([s.breaker.upsert(request), s.breaker.upsert(request)]);
    expect(probe.status).toBe('fulfilled');
    expect(other).toMatchObject({
      status: 'rejected',
      reason: expect.objectContaining({ message: expect.stringMatching(/paused/) }),
    });
  });

  it('does not count errors no waiting fixes (a misconfiguration), and a success resets the count', async () => {
    const s = setup();
    s.inner.failNext(down(), 2);
    for (let i = 0; i < 2; i++) await s.breaker.upsert(request).catch(() => undefined);
    s.inner.failNext(new Error('AccessDeniedException'));
    await expect(s.breaker.upsert(request)).rejects.toThrow(/AccessDenied/);
    await s.breaker.upsert(request);
    s.inner.failNext(down(), 2);
    for (let i = 0; i < 2; i++) await s.breaker.upsert(request).catch(() => undefined);
    await s.breaker.upsert(request);
    expect(s.opened).toHaveLength(0);
  });
});
