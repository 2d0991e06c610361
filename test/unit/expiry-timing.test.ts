import { describe, expect, it } from 'vitest';
import { MemoryAgentStore } from '../../functions/adapters/memory/agent-store.js';
import { BackendUnavailableError } from '../../functions/core/errors.js';
import type { ScheduleRequest } from '../../functions/core/ports.js';
import { AWS_TIMING, LOCAL_TIMING, assertTiming } from '../../functions/core/timing.js';
import { makeExpiryHandler } from '../../functions/handlers/expiry.js';
import { makeIngestHandler } from '../../functions/handlers/ingest.js';
import { makeBearerAuth } from '../../functions/http/auth.js';
import { TOKEN, heartbeatEvent } from '../support/api-events.js';
import { FakeClock, RecordingLog, RecordingScheduler, ampleContext, coreDeps } from '../support/fakes.js';

// A heartbeat received before its agent's deadline never loses to the agent's expiry, however
// slow the scheduler is (core/timing.ts): it commits within the commit window or is refused, and
// the expiry waits the (longer) grace.
function setup(onUpsert: (request: ScheduleRequest) => Promise<void> = async () => undefined) {
  const clock = new FakeClock();
  const store = new MemoryAgentStore();
  const recording = new RecordingScheduler();
  let stall = false;
  const scheduler = {
    upsert: async (request: ScheduleRequest) => {
      if (stall) {
        stall = false;
        await onUpsert(request);
        throw new BackendUnavailableError('scheduler', 'no answer within 3000 ms');
      }
      return recording.upsert(request);
    },
    delete: (name: string) => recording.delete(name),
  };
  const log = new RecordingLog();
  const core = coreDeps({ store, scheduler, clock, log, timing: AWS_TIMING });
  const ingest = makeIngestHandler({
    core,
    policy: { defaultTtlSeconds: 60, defaultIntervalSeconds: 20, minTtlSeconds: 1 },
    authenticate: makeBearerAuth([TOKEN]),
  });
  const expire = makeExpiryHandler({ core });
  return { clock, store, log, ingest, expire, stallNextUpsert: () => (stall = true) };
}

describe('expiry timing (I2 with a slow scheduler)', () => {
  it('the deployed and local timings keep the grace longer than the commit window', () => {
    expect(() => assertTiming(AWS_TIMING)).not.toThrow();
    expect(() => assertTiming(LOCAL_TIMING)).not.toThrow();
    expect(() => assertTiming({ commitWindowMs: 5_000, graceMs: 5_000 })).toThrow(RangeError);
  });

  it('a heartbeat received 2 s before the deadline whose schedule write stalls 3 s, while the firing runs, is not expired', async () => {
    let firing: Promise<void> | undefined;
    const s = setup(async () => {
      s.clock.advance(3); // the scheduler keeps the heartbeat waiting past the deadline...
      firing = s.expire({ agentId: 'web-1' }, ampleContext('firing-1')); // ...while the firing runs
      await firing;
    });
    expect((await s.ingest(heartbeatEvent({ agentId: 'web-1' }), ampleContext())).statusCode).toBe(200);
    s.clock.advance(58); // 2 s before the deadline
    s.stallNextUpsert();
    const answer = await s.ingest(heartbeatEvent({ agentId: 'web-1' }), ampleContext());
    await firing;

    expect(answer.statusCode).toBe(200);
    expect(s.log.withMessage('agent expired')).toEqual([]);
    expect((await s.store.get('web-1'))?.record.state).toBe('alive');
  });

  it('a heartbeat that cannot commit within the window is refused (503), so an expiry after it is real', async () => {
    const s = setup(async () => {
      s.clock.advance(AWS_TIMING.commitWindowMs / 1000 + 1); // the window is gone before the record write
    });
    await s.ingest(heartbeatEvent({ agentId: 'web-1' }), ampleContext());
    const before = (await s.store.get('web-1'))?.record;
    s.clock.advance(40); // the armed schedule is now too early to keep: this heartbeat moves it
    s.stallNextUpsert();
    const answer = await s.ingest(heartbeatEvent({ agentId: 'web-1' }), ampleContext());
    expect(answer.statusCode).toBe(503);
    expect((await s.store.get('web-1'))?.record.lastSeen).toBe(before?.lastSeen);
  });

  it('an expiry waits the grace after the deadline, and then dates itself at the deadline', async () => {
    const s = setup();
    await s.ingest(heartbeatEvent({ agentId: 'web-1' }), ampleContext());
    const deadline = (await s.store.get('web-1'))?.record.deadline ?? 0;
    s.clock.ms = deadline + AWS_TIMING.graceMs - 1;
    await s.expire({ agentId: 'web-1' }, ampleContext('early'));
    expect((await s.store.get('web-1'))?.record.state).toBe('alive');
    s.clock.ms = deadline + AWS_TIMING.graceMs;
    await s.expire({ agentId: 'web-1' }, ampleContext('due'));
    expect((await s.store.get('web-1'))?.record).toMatchObject({ state: 'expired', expiredAt: deadline });
  });
});
