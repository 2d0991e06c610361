import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryAgentStore } from '../../functions/adapters/memory/agent-store.js';
import { UNLIMITED } from '../../functions/core/budget.js';
import { DEREGISTERED_MESSAGE, deregisterAgent } from '../../functions/core/deregister.js';
import { BackendUnavailableError } from '../../functions/core/errors.js';
import { handleExpiry } from '../../functions/core/handle-expiry.js';
import { reconcile } from '../../functions/core/reconcile.js';
import { recordHeartbeat } from '../../functions/core/record-heartbeat.js';
import { scheduleNameFor } from '../../functions/core/schedule-name.js';
import { expiresAt } from '../../functions/core/timing.js';
import { FakeClock, RecordingLog, RecordingScheduler, coreDeps, makeHeartbeat } from '../support/fakes.js';
import { interleaved } from '../support/interleaved.js';

// Deregistration (issue 10): a decommissioned server's agent never expires, its schedule is gone,
// and a later heartbeat registers it again.
function setup() {
  const clock = new FakeClock();
  const store = new MemoryAgentStore();
  const scheduler = new RecordingScheduler();
  const log = new RecordingLog();
  const deps = coreDeps({ store, scheduler, clock, log });
  const beat = (seq = 1) =>
    recordHeartbeat(deps, makeHeartbeat({ agentId: 'web-1', seq, ttlSeconds: 60 }), UNLIMITED);
  return { clock, store, scheduler, log, deps, beat };
}
const NAME = scheduleNameFor('web-1');

describe('deregistering an agent', () => {
  it('sets it deregistered, deletes its schedule, writes one INFO line; it never expires', async () => {
    const s = setup();
    await s.beat();
    expect(s.scheduler.schedules.has(NAME)).toBe(true);
    const result = await deregisterAgent(s.deps, 'web-1', 'req-1', UNLIMITED);
    expect(result).toMatchObject({
      kind: 'deregistered',
      already: false,
      record: { state: 'deregistered', armedFor: null },
    });
    expect(s.scheduler.schedules.has(NAME)).toBe(false);
    expect(s.log.withMessage(DEREGISTERED_MESSAGE)).toEqual([
      expect.objectContaining({
        level: 'info',
        attributes: expect.objectContaining({ agentId: 'web-1', previousState: 'alive' }),
      }),
    ]);
    const stored = await s.store.get('web-1');
    expect(stored?.record.transitions.at(-1)).toMatchObject({ state: 'deregistered', by: 'req-1' });

    // Long past its deadline: a late firing and the reconciler leave it alone.
    s.clock.advance(3600);
    expect((await handleExpiry(s.deps, 'web-1', 'fire-1', UNLIMITED)).result).toEqual({
      kind: 'ignored',
      reason: 'not-alive',
    });
    const run = await reconcile(
      { ...s.deps, checkpoints: s.store },
      { invocationId: 'run-1', budget: UNLIMITED, precisionMs: 1000, reportGraceMs: 60_000 },
    );
    expect(run).toMatchObject({ expired: 0, rearmed: 0 });
    expect(s.log.withMessage('agent expired')).toEqual([]);
  });

  it('is idempotent: again, the same record and no second line; unknown agents are unknown', async () => {
    const s = setup();
    await s.beat();
    await deregisterAgent(s.deps, 'web-1', 'req-1', UNLIMITED);
    const again = await deregisterAgent(s.deps, 'web-1', 'req-2', UNLIMITED);
    expect(again).toMatchObject({ kind: 'deregistered', already: true });
    expect(s.log.withMessage(DEREGISTERED_MESSAGE)).toHaveLength(1);
    expect(await deregisterAgent(s.deps, 'db-9', 'req-3', UNLIMITED)).toEqual({ kind: 'unknown' });
  });

  it('deregisters an expired agent too', async () => {
    const s = setup();
    await s.beat();
    s.clock.advance(61);
    expect((await handleExpiry(s.deps, 'web-1', 'fire-1', UNLIMITED)).result.kind).toBe('expired');
    expect(await deregisterAgent(s.deps, 'web-1', 'req-1', UNLIMITED)).toMatchObject({
      record: { state: 'deregistered' },
    });
  });

  it('a later heartbeat registers it again, with a schedule, and logs no recovery', async () => {
    const s = setup();
    await s.beat(1);
    await deregisterAgent(s.deps, 'web-1', 'req-1', UNLIMITED);
    s.clock.advance(10);
    const again = await s.beat(2);
    expect(again.outcome).toBe('registered');
    expect(again.record.state).toBe('alive');
    expect(s.scheduler.schedules.get(NAME)?.fireAt).toBe(again.record.armedFor);
    expect(s.log.withMessage('agent recovered')).toEqual([]);
  });

  it('a failed schedule delete still deregisters; the schedule left behind fires and is ignored', async () => {
    const s = setup();
    await s.beat();
    s.scheduler.failNext(new BackendUnavailableError('scheduler', 'down'));
    expect(await deregisterAgent(s.deps, 'web-1', 'req-1', UNLIMITED)).toMatchObject({
      kind: 'deregistered',
    });
    expect(s.scheduler.schedules.has(NAME)).toBe(true);
    expect(s.log.withMessage('schedule delete failed; it fires once and is ignored')).toHaveLength(1);
    s.clock.advance(61);
    expect((await handleExpiry(s.deps, 'web-1', 'fire-1', UNLIMITED)).result.kind).toBe('ignored');
  });
});

describe('deregistration racing heartbeats and firings (property)', () => {
  it('ends consistent: deregistered with nothing armed, or alive with a schedule that fires in time; never expired while reporting', async () => {
    const operation = fc.constantFrom('beat', 'deregister', 'fire');
    await fc.assert(
      fc.asyncProperty(
        fc.array(operation, { minLength: 2, maxLength: 8 }),
        fc.scheduler(),
        async (ops, scheduler) => {
          const s = setup();
          await s.beat(0);
          // Every operation's store and scheduler calls are interleaved by fast-check's scheduler.
          const store = s.store;
          const { store: gatedStore, scheduler: gatedScheduler } = interleaved(scheduler, store, s.scheduler);
          const gated = coreDeps({
            store: gatedStore,
            scheduler: gatedScheduler,
            clock: s.clock,
            log: s.log,
          });
          let seq = 1;
          const committed: string[] = [];
          const running = ops.map((op, i) => {
            if (op === 'beat') {
              const n = seq++;
              return recordHeartbeat(
                gated,
                makeHeartbeat({ agentId: 'web-1', seq: n, ttlSeconds: 60 }),
                UNLIMITED,
              ).then((r) => void committed.push(r.outcome === 'stale' ? 'stale' : 'beat'));
            }
            if (op === 'deregister') {
              return deregisterAgent(gated, 'web-1', `req-${i}`, UNLIMITED).then(
                () => void committed.push('deregister'),
              );
            }
            return handleExpiry(gated, 'web-1', `fire-${i}`, UNLIMITED).then(
              () => void committed.push('fire'),
            );
          });
          await scheduler.waitFor(Promise.all(running));

          const final = (await store.get('web-1'))?.record;
          expect(final).toBeDefined();
          if (final === undefined) return;
          // Nothing was due (the clock never moved): no expiry, whatever the interleaving.
          expect(final.state).not.toBe('expired');
          expect(s.log.withMessage('agent expired')).toEqual([]);
          if (final.state === 'deregistered') {
            expect(final.armedFor).toBeNull();
          } else {
            // Alive: the record vouches only for a schedule the scheduler holds, firing in time.
            const held = s.scheduler.schedules.get(NAME);
            if (final.armedFor !== null) {
              expect(held).toBeDefined();
              expect(held?.fireAt).toBeLessThanOrEqual(expiresAt(final, s.deps.timing));
            }
          }
        },
      ),
      { numRuns: 200, seed: 20261202 },
    );
  });
});
