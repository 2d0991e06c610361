import { MemoryAgentStore } from '../../functions/adapters/memory/agent-store.js';
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, VersionConflictError } from '../../functions/core/errors.js';
import { recordHeartbeat } from '../../functions/core/record-heartbeat.js';
import { scheduleNameFor } from '../../functions/core/schedule-name.js';
import { makeExpiryHandler } from '../../functions/handlers/expiry.js';
import { noMetrics } from '../../functions/handlers/metrics.js';
import { FakeClock, RecordingLog, RecordingScheduler, makeHeartbeat } from '../support/fakes.js';
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
      const core = { store, scheduler, clock };
      await recordHeartbeat(core, makeHeartbeat({ ttlSeconds: 60, intervalSeconds: 20 }));
      const firing = scheduler.schedules.get(scheduleNameFor('web-1'))?.payload;
      clock.advance(61);
      // The SDK retried a PutItem that had committed: the retry fails its condition.
      store.failNext('replace', error, 'after');
      await makeExpiryHandler({ core, log, metrics: noMetrics })(firing);
      expect((await store.get('web-1'))?.record.state).toBe('expired');
      expect(log.withMessage('agent expired')).toHaveLength(1);
    });
  }
});
