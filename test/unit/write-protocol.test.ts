import { describe, expect, it } from 'vitest';
import { MemoryAgentStore } from '../../functions/adapters/memory/agent-store.js';
import { UNLIMITED, budgetFor } from '../../functions/core/budget.js';
import { BackendUnavailableError } from '../../functions/core/errors.js';
import { handleExpiry } from '../../functions/core/handle-expiry.js';
import { recordHeartbeat } from '../../functions/core/record-heartbeat.js';
import { scheduleNameFor } from '../../functions/core/schedule-name.js';
import { FakeClock, RecordingLog, RecordingScheduler, coreDeps, makeHeartbeat } from '../support/fakes.js';

const NAME = scheduleNameFor('web-1');
const down = () => new BackendUnavailableError('scheduler', 'throttled');

function setup() {
  const clock = new FakeClock();
  const store = new MemoryAgentStore();
  const scheduler = new RecordingScheduler();
  const log = new RecordingLog();
  const core = coreDeps({ store, scheduler, clock, log });
  const beat = (ttlSeconds = 90, intervalSeconds = 30) =>
    recordHeartbeat(core, makeHeartbeat({ ttlSeconds, intervalSeconds }), UNLIMITED);
  return { clock, store, scheduler, log, core, beat };
}

describe('the write protocol when the schedule write fails (I6: the schedule is a hint)', () => {
  it('keeps the armed schedule when it has not fired and fires no later than the new deadline', async () => {
    const s = setup();
    const first = await s.beat();
    s.clock.advance(50); // the armed time is now too early to keep: the heartbeat wants to move it
    s.scheduler.failNext(down());
    const { record } = await s.beat();
    expect(record.lastSeen).toBe(s.clock.now());
    expect(record.armedFor).toBe(first.record.armedFor);
    expect(s.scheduler.schedules.get(NAME)?.fireAt).toBe(first.record.armedFor);
  });

  it('says "no schedule known" when the armed one would fire after the new, shorter deadline', async () => {
    const s = setup();
    await s.beat(600, 60); // armed ten minutes out
    s.scheduler.failNext(down());
    const { record } = await s.beat(60, 20); // the TTL shrinks: that schedule would fire too late
    expect(record.deadline).toBe(s.clock.now() + 60_000);
    expect(record.armedFor).toBeNull();
  });

  it('says "no schedule known" when the armed one has already fired (and deleted itself)', async () => {
    const s = setup();
    await s.beat();
    s.clock.advance(95); // past the armed time: that schedule is gone
    s.scheduler.failNext(down());
    const { record } = await s.beat();
    expect(record.state).toBe('alive');
    expect(record.armedFor).toBeNull();
  });

  it('after a lost race in which it had written the schedule, trusts no earlier schedule', async () => {
    const s = setup();
    await s.beat();
    s.clock.advance(60);
    // Its first schedule write lands, its record write loses to another writer, and its second
    // schedule write fails: whatever the scheduler holds now may be the other writer's, or ours.
    const other = makeHeartbeat({ ttlSeconds: 90, intervalSeconds: 30, seq: 7 });
    let raced = false;
    const store = s.store;
    const racing = coreDeps({
      store: {
        get: (id) => store.get(id),
        create: (r) => store.create(r),
        listByState: (st, p) => store.listByState(st, p),
        listOpen: (p) => store.listOpen(p),
        replace: async (record, version) => {
          if (!raced) {
            raced = true;
            await recordHeartbeat(s.core, other, UNLIMITED);
            s.scheduler.failNext(down());
          }
          return store.replace(record, version);
        },
      },
      scheduler: s.scheduler,
      clock: s.clock,
    });
    const { record } = await recordHeartbeat(
      racing,
      makeHeartbeat({ ttlSeconds: 90, intervalSeconds: 30 }),
      UNLIMITED,
    );
    expect(record.armedFor).toBeNull();
  });

  it('an expiry firing early whose re-arm fails commits "no schedule known" instead of failing', async () => {
    const s = setup();
    await s.beat(); // armed for +90 s
    s.clock.advance(30);
    await s.beat(); // the deadline moves to +120 s; the schedule at +90 s is kept (coalesced arming)
    s.clock.advance(60); // it fires, early, and deletes itself
    s.scheduler.failNext(down());
    const { result } = await handleExpiry(s.core, 'web-1', 'inv-1', UNLIMITED);
    expect(result).toEqual({ kind: 'rearmed', armedFor: null });
    expect((await s.store.get('web-1'))?.record).toMatchObject({ state: 'alive', armedFor: null });
  });

  it('a failed record write after a schedule write replaces that schedule with one firing now (a failed store write arms nothing late)', async () => {
    const s = setup();
    await s.beat();
    s.clock.advance(60);
    s.store.failNext('replace', new BackendUnavailableError('store', 'down'));
    await expect(s.beat()).rejects.toBeInstanceOf(BackendUnavailableError);
    expect(s.scheduler.schedules.get(NAME)?.fireAt).toBe(s.clock.now());
  });
});

describe('the write protocol within its budget (I10)', () => {
  it('starts no call once the budget is spent, and says which backend it was waiting for', async () => {
    const s = setup();
    const budget = budgetFor(s.clock, 0);
    await expect(recordHeartbeat(s.core, makeHeartbeat(), budget)).rejects.toMatchObject({
      name: 'BackendUnavailableError',
      backend: 'store',
    });
  });

  it('gives the schedule write at most a share of what is left, so the record write always has time', async () => {
    const s = setup();
    const timeouts: Array<number | undefined> = [];
    const scheduler = {
      upsert: async (
        request: Parameters<RecordingScheduler['upsert']>[0],
        options?: { timeoutMs?: number },
      ) => {
        timeouts.push(options?.timeoutMs);
        return s.scheduler.upsert(request);
      },
      delete: (name: string) => s.scheduler.delete(name),
    };
    const core = coreDeps({ store: s.store, scheduler, clock: s.clock });
    await recordHeartbeat(core, makeHeartbeat(), budgetFor(s.clock, 5_000));
    await recordHeartbeat(
      core,
      makeHeartbeat({ ttlSeconds: 60, intervalSeconds: 20 }),
      budgetFor(s.clock, 60_000),
    );
    expect(timeouts).toEqual([2_000, 3_000]);
  });
});
