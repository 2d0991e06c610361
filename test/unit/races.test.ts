import { MemoryAgentStore } from '../../functions/adapters/memory/agent-store.js';
import { describe, expect, it } from 'vitest';
import { UNLIMITED } from '../../functions/core/budget.js';
import { BackendUnavailableError, VersionConflictError } from '../../functions/core/errors.js';
import { handleExpiry } from '../../functions/core/handle-expiry.js';
import { recordHeartbeat } from '../../functions/core/record-heartbeat.js';
import { scheduleNameFor } from '../../functions/core/schedule-name.js';
import { makeExpiryHandler } from '../../functions/handlers/expiry.js';
import { FakeClock, RecordingLog, RecordingScheduler, coreDeps, makeHeartbeat } from '../support/fakes.js';
import { GatedStore } from '../support/gated-store.js';
import { describeRaces } from '../support/races.js';

describeRaces('memory store', async () => new MemoryAgentStore(), 1000);

describe('expiry whose write committed but reported an error', () => {
  for (const error of [
    new VersionConflictError('web-1'),
    new BackendUnavailableError('store', 'timed out'),
  ]) {
    it(`still reports the expiry, so its one log line is written (${error.name})`, async () => {
      const store = new MemoryAgentStore();
      const clock = new FakeClock();
      const scheduler = new RecordingScheduler();
      const log = new RecordingLog();
      const core = coreDeps({ store, scheduler, clock, log });
      await recordHeartbeat(core, makeHeartbeat({ ttlSeconds: 60, intervalSeconds: 20 }), UNLIMITED);
      const firing = scheduler.schedules.get(scheduleNameFor('web-1'))?.payload;
      clock.advance(61);
      // The SDK retried a PutItem that had committed: the retry fails its condition.
      store.failNext('replace', error, 'after');
      await makeExpiryHandler({ core })(firing);
      expect((await store.get('web-1'))?.record.state).toBe('expired');
      expect(log.withMessage('agent expired')).toHaveLength(1);
    });
  }
});

describe('a re-arm whose write failed, racing a heartbeat that shortened the TTL', () => {
  it('is not mistaken for applied (same record content), so the schedule is not left later than the deadline', async () => {
    const clock = new FakeClock();
    const memory = new MemoryAgentStore();
    const store = new GatedStore(memory);
    const recorded = new RecordingScheduler();
    // Holds the expiry's schedule write until the heartbeat has written its own.
    let releaseExpiryUpsert: () => void = () => undefined;
    let expiryUpsertReached: () => void = () => undefined;
    const expiryAtUpsert = new Promise<void>((resolve) => (expiryUpsertReached = resolve));
    let gateNextUpsert = false;
    const scheduler = {
      schedules: recorded.schedules,
      upsert: async (request: Parameters<RecordingScheduler['upsert']>[0]) => {
        if (gateNextUpsert) {
          gateNextUpsert = false;
          expiryUpsertReached();
          await new Promise<void>((resolve) => (releaseExpiryUpsert = resolve));
        }
        return recorded.upsert(request);
      },
      delete: (name: string) => recorded.delete(name),
    };
    const core = coreDeps({ store, scheduler, clock });
    const name = scheduleNameFor('web-1');
    await recordHeartbeat(core, makeHeartbeat({ ttlSeconds: 90, intervalSeconds: 30 }), UNLIMITED);
    const firing = recorded.schedules.get(name)?.payload;
    clock.advance(30); // a duplicate or delayed delivery, before the deadline: the expiry re-arms

    gateNextUpsert = true;
    const expiry = handleExpiry(core, firing?.agentId ?? 'web-1', 'inv-1', UNLIMITED).catch(
      (error: unknown) => error,
    );
    await expiryAtUpsert;
    // The heartbeat shortens the TTL and arms the earlier deadline; its record write waits.
    const gate = store.pauseNextWrite();
    const heartbeat = recordHeartbeat(
      core,
      makeHeartbeat({ ttlSeconds: 30, intervalSeconds: 10 }),
      UNLIMITED,
    );
    await gate.reached;
    // The expiry's schedule write lands after the heartbeat's; its record write then fails.
    memory.failNext('replace', new BackendUnavailableError('store', 'timed out'));
    releaseExpiryUpsert();
    await expiry;
    gate.release();
    await heartbeat;

    const record = (await memory.get('web-1'))?.record;
    expect(record?.ttlSeconds).toBe(30);
    expect(recorded.schedules.get(name)?.fireAt ?? Infinity).toBeLessThanOrEqual(record?.deadline ?? 0);
  });
});
