import { describe, expect, it } from 'vitest';
import { LocalExpiryScheduler } from '../../functions/adapters/scheduler/local-scheduler.js';
import type { ExpiryPayload } from '../../functions/core/agent.js';
import { NO_GRACE } from '../support/fakes.js';
import { makeAgentRecord } from '../support/records.js';
import { VirtualTime } from '../support/virtual-time.js';

function setup(fire: (payload: ExpiryPayload) => Promise<void> = async () => undefined) {
  const time = new VirtualTime();
  const fired: { payload: ExpiryPayload; at: number }[] = [];
  const deadLetters: ExpiryPayload[] = [];
  const scheduler = new LocalExpiryScheduler({
    clock: time,
    timers: time,
    fire: async (payload) => {
      fired.push({ payload, at: time.now() });
      await fire(payload);
    },
    deadLetter: (payload) => deadLetters.push(payload),
    retryDelayMs: 1000,
    maxAttempts: 3,
  });
  const request = (name: string, inSeconds: number) => ({
    name,
    fireAt: time.now() + inSeconds * 1000,
    payload: { agentId: name, armedFor: new Date(time.now() + inSeconds * 1000).toISOString() },
  });
  const advance = (seconds: number) => time.advanceTo(time.now() + seconds * 1000, () => scheduler.settle());
  return { time, scheduler, fired, deadLetters, request, advance };
}

describe('LocalExpiryScheduler', () => {
  it('fires each schedule once at its time, then forgets it (ActionAfterCompletion DELETE)', async () => {
    const s = setup();
    await s.scheduler.upsert(s.request('a', 5));
    await s.scheduler.upsert(s.request('b', 2));
    await s.advance(10);
    expect(s.fired.map((f) => [f.payload.agentId, f.at - s.time.ms + 10_000])).toEqual([
      ['b', 2000],
      ['a', 5000],
    ]);
    expect(s.scheduler.size).toBe(0);
  });

  it('an upsert of the same name replaces the schedule: 1,000 upserts, one schedule, one timer', async () => {
    const s = setup();
    for (let i = 0; i < 1000; i++) await s.scheduler.upsert(s.request('flappy', 60 + i));
    expect(s.scheduler.size).toBe(1);
    expect(s.time.liveTimers).toBe(1);
    await s.advance(2000);
    expect(s.fired).toHaveLength(1);
  });

  it('uses one timer for any number of agents', async () => {
    const s = setup();
    for (let i = 0; i < 500; i++) await s.scheduler.upsert(s.request(`agent-${i}`, 1 + (i % 50)));
    expect(s.time.liveTimers).toBe(1);
    await s.advance(100);
    expect(s.fired).toHaveLength(500);
    expect(s.time.liveTimers).toBe(0);
  });

  it('delete cancels a schedule and deleting an unknown one is fine', async () => {
    const s = setup();
    await s.scheduler.upsert(s.request('a', 5));
    await s.scheduler.delete('a');
    await s.scheduler.delete('never-existed');
    await s.advance(10);
    expect(s.fired).toEqual([]);
    expect(s.time.liveTimers).toBe(0);
  });

  it('retries a failed delivery with backoff, then dead-letters it', async () => {
    const s = setup(async () => {
      throw new Error('store down');
    });
    await s.scheduler.upsert(s.request('a', 1));
    await s.advance(60);
    const first = s.fired[0]?.at ?? 0;
    expect(s.fired.map((f) => f.at - first)).toEqual([0, 1000, 3000]);
    expect(s.deadLetters).toHaveLength(1);
  });

  it('rebuilds alive agents from the store, firing overdue ones at once', async () => {
    const s = setup();
    const now = s.time.now();
    const stored = (agentId: string, armedFor: number | null, deadline: number) =>
      makeAgentRecord({ agentId, armedFor, deadline });
    async function* alive() {
      yield stored('future', now + 30_000, now + 30_000);
      yield stored('overdue', now - 5_000, now - 5_000);
      yield stored('unarmed', null, now + 10_500);
    }
    expect(await s.scheduler.rebuild(alive(), NO_GRACE)).toBe(3);
    await s.advance(0);
    expect(s.fired.map((f) => f.payload.agentId)).toEqual(['overdue']);
    await s.advance(60);
    expect(s.fired.map((f) => [f.payload.agentId, f.at - now])).toEqual([
      ['overdue', 0],
      ['unarmed', 10_500],
      ['future', 30_000],
    ]);
  });
});
