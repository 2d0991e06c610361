import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ExpiryPayload } from '../../functions/core/agent.js';
import type { AgentStore } from '../../functions/core/ports.js';
import { recordHeartbeat } from '../../functions/core/record-heartbeat.js';
import { BackendUnavailableError } from '../../functions/core/errors.js';
import { scheduleNameFor } from '../../functions/core/schedule-name.js';
import { makeExpiryHandler } from '../../functions/handlers/expiry.js';
import { noMetrics } from '../../functions/handlers/metrics.js';
import { FakeClock, RecordingLog, RecordingScheduler, makeHeartbeat } from './fakes.js';
import { type Fault, FaultyScheduler, FaultyStore } from './faulty.js';
import { GatedStore } from './gated-store.js';

/**
 * The race scenarios of DESIGN.md §3 (I2, I4, I5 and the record/schedule agreement of I1/I6),
 * run against any store: `makeStore` must return an empty store each time.
 */
export function describeRaces(storeName: string, makeStore: () => Promise<AgentStore>, propertyRuns: number) {
  async function setup() {
    const clock = new FakeClock();
    const store = new GatedStore(await makeStore());
    const scheduler = new RecordingScheduler();
    const log = new RecordingLog();
    const core = { store, scheduler, clock };
    const expire = makeExpiryHandler({ core, log, metrics: noMetrics });
    const payload = (agentId: string) => {
      const armed = scheduler.schedules.get(scheduleNameFor(agentId));
      if (!armed) throw new Error(`no schedule for ${agentId}`);
      return armed.payload;
    };
    return { clock, store, scheduler, log, core, expire, payload };
  }

  describe(`races (${storeName})`, () => {
    it('a heartbeat landing while the expiry invocation runs never causes a false expiry (I2)', async () => {
      const s = await setup();
      await recordHeartbeat(s.core, makeHeartbeat({ ttlSeconds: 60, intervalSeconds: 20 }));
      const firing = s.payload('web-1');
      s.clock.advance(61); // the deadline has passed: the expiry reads an agent that looks dead

      const gate = s.store.pauseNextWrite();
      const expiry = s.expire(firing);
      await gate.reached; // expiry has read the record and decided to expire it...
      const heartbeat = await recordHeartbeat(s.core, makeHeartbeat({ ttlSeconds: 60, intervalSeconds: 20 }));
      gate.release(); // ...but the heartbeat committed first, so its conditional write must lose
      await expiry;

      const record = (await s.store.get('web-1'))?.record;
      expect(record?.state).toBe('alive');
      expect(record?.lastSeen).toBe(heartbeat.record.lastSeen);
      expect(s.log.withMessage('agent expired')).toEqual([]);
      expect(s.scheduler.schedules.get(scheduleNameFor('web-1'))?.fireAt).toBe(record?.armedFor);
    });

    it('a second expiry invocation for the same deadline changes nothing and logs nothing (I5)', async () => {
      const s = await setup();
      await recordHeartbeat(s.core, makeHeartbeat({ ttlSeconds: 60, intervalSeconds: 20 }));
      const firing = s.payload('web-1');
      s.clock.advance(61);

      await s.expire(firing);
      const afterFirst = await s.store.get('web-1');
      const writes = s.store.writes;
      await s.expire(firing);
      await Promise.all([s.expire(firing), s.expire(firing)]);

      expect(await s.store.get('web-1')).toEqual(afterFirst);
      expect(s.store.writes).toBe(writes);
      expect(s.log.withMessage('agent expired')).toHaveLength(1);
    });

    it('concurrent expiry deliveries for one deadline expire the agent exactly once', async () => {
      const s = await setup();
      await recordHeartbeat(s.core, makeHeartbeat({ ttlSeconds: 60, intervalSeconds: 20 }));
      const firing = s.payload('web-1');
      s.clock.advance(61);
      await Promise.all(Array.from({ length: 5 }, () => s.expire(firing)));
      expect(s.log.withMessage('agent expired')).toHaveLength(1);
    });

    it('duplicate and reordered heartbeats, even concurrent, never move lastSeen or seq back (I4)', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ seq: fc.nat(20), advanceMs: fc.nat(3000) }), { minLength: 1, maxLength: 30 }),
          fc.integer({ min: 1, max: 6 }),
          async (reports, batch) => {
            const s = await setup();
            let maxSeq = -1;
            let latestAccepted = 0;
            for (let i = 0; i < reports.length; i += batch) {
              const group = reports.slice(i, i + batch);
              const results = await Promise.all(
                group.map((report) => {
                  s.clock.ms += report.advanceMs;
                  return recordHeartbeat(s.core, makeHeartbeat({ seq: report.seq }));
                }),
              );
              const record = (await s.store.get('web-1'))?.record;
              if (!record) throw new Error('no record');
              expect(record.lastSeen).toBeGreaterThanOrEqual(latestAccepted);
              latestAccepted = record.lastSeen;
              maxSeq = Math.max(maxSeq, ...group.map((report) => report.seq));
              expect(record.seq).toBe(maxSeq);
              for (const result of results)
                expect(result.record.lastSeen).toBeLessThanOrEqual(record.lastSeen);
              // The record always names the schedule the scheduler holds (I1, I6).
              expect(s.scheduler.schedules.get(scheduleNameFor('web-1'))?.fireAt).toBe(record.armedFor);
              expect(s.scheduler.schedules.size).toBe(1);
            }
          },
        ),
        { numRuns: propertyRuns },
      );
    });

    it('the scheduler ends holding exactly what the record names, whatever interleaves (TTL changes, stale retries, expiries)', async () => {
      const step = fc.oneof(
        fc.record({
          kind: fc.constant('beat' as const),
          ttl: fc.constantFrom(30, 60, 90),
          advanceMs: fc.nat(2000),
        }),
        fc.record({
          kind: fc.constant('stale' as const),
          ttl: fc.constantFrom(30, 60, 90),
          advanceMs: fc.nat(2000),
        }),
        fc.record({ kind: fc.constant('expire' as const), ttl: fc.constant(0), advanceMs: fc.nat(120_000) }),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.array(step, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 6 }),
          async (batches) => {
            const s = await setup();
            let seq = 0;
            for (const batch of batches) {
              await Promise.all(
                batch.map(async (op) => {
                  s.clock.ms += op.advanceMs;
                  if (op.kind === 'expire') {
                    const armed = s.scheduler.schedules.get(scheduleNameFor('web-1'));
                    if (armed) await s.expire(armed.payload);
                    return;
                  }
                  // A stale report repeats an old sequence number, as a client retry or a delayed packet would.
                  const reportSeq = op.kind === 'stale' ? Math.max(0, seq - 1) : ++seq;
                  await recordHeartbeat(
                    s.core,
                    makeHeartbeat({ seq: reportSeq, ttlSeconds: op.ttl, intervalSeconds: 10 }),
                  );
                }),
              );
              const record = (await s.store.get('web-1'))?.record;
              const armed = s.scheduler.schedules.get(scheduleNameFor('web-1'));
              if (record?.state === 'alive') {
                expect(armed?.fireAt).toBe(record.armedFor);
                expect(armed?.fireAt ?? Infinity).toBeLessThanOrEqual(
                  Math.ceil(record.deadline / 1000) * 1000,
                );
              }
            }
          },
        ),
        { numRuns: propertyRuns },
      );
    });

    it('with one failed call injected anywhere, an alive agent keeps a schedule no later than the deadline its record vouches for, and each expiry logs once (I3, I5, I6)', async () => {
      const singleFault = (calls: number, kinds: Fault[]) =>
        fc
          .tuple(fc.nat(calls - 1), fc.constantFrom(...kinds))
          .map(([at, fault]) => Array.from({ length: at + 1 }, (_, i): Fault => (i === at ? fault : 'ok')));
      const step = fc.oneof(
        fc.record({
          kind: fc.constant('beat' as const),
          ttl: fc.constantFrom(30, 60),
          stale: fc.boolean(),
          advanceMs: fc.nat(20_000),
        }),
        // The current schedule fires (and, as ActionAfterCompletion DELETE, is gone).
        fc.record({ kind: fc.constant('fire' as const), advanceMs: fc.nat(90_000) }),
        // An earlier firing is delivered again: at-least-once delivery, or a Lambda retry.
        fc.record({ kind: fc.constant('redeliver' as const), pick: fc.nat(), advanceMs: fc.nat(30_000) }),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.array(step, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 6 }),
          // One failed call, anywhere: before it applied or after (its answer lost). Two failures
          // together can leave the scheduler's state unknowable (README, "What can still go wrong").
          fc.oneof(
            fc.record({
              store: singleFault(30, ['before', 'after', 'after-conflict']),
              scheduler: fc.constant<Fault[]>([]),
            }),
            fc.record({ store: fc.constant<Fault[]>([]), scheduler: singleFault(15, ['before', 'after']) }),
          ),
          async (batches, { store: storeFaults, scheduler: schedulerFaults }) => {
            const clock = new FakeClock();
            const inner = await makeStore();
            const store = new FaultyStore(inner, storeFaults);
            const scheduler = new FaultyScheduler(schedulerFaults);
            const core = { store, scheduler, clock };
            const log = new RecordingLog();
            const expire = makeExpiryHandler({ core, log, metrics: noMetrics });
            const name = scheduleNameFor('web-1');
            const fired: ExpiryPayload[] = [];
            let seq = 0;
            // Agents retry a 503; Lambda retries a failed expiry invocation. Faults are finite, so both end.
            const retrying = async (call: () => Promise<unknown>) => {
              for (let attempt = 1; ; attempt++) {
                try {
                  return await call();
                } catch (error) {
                  if (!(error instanceof BackendUnavailableError) || attempt === 50) throw error;
                }
              }
            };
            for (const batch of batches) {
              await Promise.all(
                batch.map(async (op) => {
                  clock.ms += op.advanceMs;
                  if (op.kind === 'beat') {
                    const reportSeq = op.stale ? Math.max(0, seq - 1) : ++seq;
                    const heartbeat = makeHeartbeat({
                      seq: reportSeq,
                      ttlSeconds: op.ttl,
                      intervalSeconds: 10,
                    });
                    await retrying(() => recordHeartbeat(core, heartbeat));
                    return;
                  }
                  const payload =
                    op.kind === 'fire'
                      ? scheduler.fire(name)?.payload
                      : fired[op.pick % Math.max(1, fired.length)];
                  if (payload === undefined) return;
                  if (op.kind === 'fire') fired.push(payload);
                  await retrying(() => expire(payload));
                }),
              );
              const record = (await inner.get('web-1'))?.record;
              if (record?.state === 'alive') {
                const armed = scheduler.schedules.get(name);
                expect(armed, 'an alive agent has a schedule').toBeDefined();
                // armedFor null: a schedule write failed and may or may not have landed, and the
                // record says so; the next heartbeat or firing arms one for certain.
                if (record.armedFor !== null)
                  expect(armed?.fireAt ?? Infinity).toBeLessThanOrEqual(record.deadline);
              }
              // Each expiry declared in the record was logged exactly once, by the invocation that declared it.
              const declared = (record?.transitions ?? [])
                .filter((t) => t.state === 'expired')
                .map((t) => t.by);
              const logged = log.withMessage('agent expired').map((line) => line.attributes.expiredBy);
              expect(logged.sort()).toEqual([...declared].sort());
            }
          },
        ),
        { numRuns: propertyRuns },
      );
    });
  });
}
