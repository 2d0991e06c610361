import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ExpiryPayload } from '../../functions/core/agent.js';
import { UNLIMITED } from '../../functions/core/budget.js';
import { BackendUnavailableError } from '../../functions/core/errors.js';
import type { AgentStore, CheckpointStore } from '../../functions/core/ports.js';
import { reconcile } from '../../functions/core/reconcile.js';
import { recordHeartbeat } from '../../functions/core/record-heartbeat.js';
import { scheduleNameFor } from '../../functions/core/schedule-name.js';
import { AWS_TIMING, expiresAt } from '../../functions/core/timing.js';
import { makeExpiryHandler } from '../../functions/handlers/expiry.js';
import {
  FakeClock,
  RecordingLog,
  RecordingScheduler,
  ampleContext,
  coreDeps,
  makeHeartbeat,
} from './fakes.js';
import { type Fault, FaultyScheduler, FaultyStore } from './faulty.js';
import { GatedStore } from './gated-store.js';

type TestStore = AgentStore & CheckpointStore;

const PRECISION_MS = 1_000;
/** Seconds after a 60 s-TTL heartbeat at which its agent may be expired: TTL, grace, one more. */
const PAST_EXPIRY = 60 + AWS_TIMING.graceMs / 1000 + 1;

/**
 * The race scenarios of DESIGN.md §3 (I2, I4, I5 and the record/schedule agreement of I1/I6),
 * and the fault property (I2, I3 within the reconciler's bound, I5, I9), run against any store:
 * `makeStore` must return an empty store each time.
 */
export function describeRaces(storeName: string, makeStore: () => Promise<TestStore>, propertyRuns: number) {
  async function setup() {
    const clock = new FakeClock();
    const store = new GatedStore(await makeStore());
    const scheduler = new RecordingScheduler();
    const log = new RecordingLog();
    const core = coreDeps({ store, scheduler, clock, log, timing: AWS_TIMING });
    const expireHandler = makeExpiryHandler({ core });
    // Each call is its own delivery (a new request id), as the scheduler's duplicates are.
    const expire = (payload: ExpiryPayload) => expireHandler(payload, ampleContext());
    const beat = (overrides: Parameters<typeof makeHeartbeat>[0] = {}) =>
      recordHeartbeat(core, makeHeartbeat({ ttlSeconds: 60, intervalSeconds: 20, ...overrides }), UNLIMITED);
    const payload = (agentId: string) => {
      const armed = scheduler.schedules.get(scheduleNameFor(agentId));
      if (!armed) throw new Error(`no schedule for ${agentId}`);
      return armed.payload;
    };
    return { clock, store, scheduler, log, core, expire, beat, payload };
  }

  describe(`races (${storeName})`, () => {
    it('a heartbeat landing while the expiry invocation runs never causes a false expiry (I2)', async () => {
      const s = await setup();
      await s.beat();
      const firing = s.payload('web-1');
      s.clock.advance(PAST_EXPIRY); // the expiry time has passed: the expiry reads an agent that looks dead

      const gate = s.store.pauseNextWrite();
      const expiry = s.expire(firing);
      await gate.reached; // expiry has read the record and decided to expire it...
      const heartbeat = await s.beat();
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
      await s.beat();
      const firing = s.payload('web-1');
      s.clock.advance(PAST_EXPIRY);

      await s.expire(firing);
      const afterFirst = await s.store.get('web-1');
      const writes = s.store.writes;
      await s.expire(firing);
      await Promise.all([s.expire(firing), s.expire(firing)]);

      expect(afterFirst?.record).toMatchObject({ state: 'expired', outbox: [] });
      expect(await s.store.get('web-1')).toEqual(afterFirst);
      expect(s.store.writes).toBe(writes);
      expect(s.log.withMessage('agent expired')).toHaveLength(1);
    });

    it('concurrent expiry deliveries for one deadline expire the agent exactly once', async () => {
      const s = await setup();
      await s.beat();
      const firing = s.payload('web-1');
      s.clock.advance(PAST_EXPIRY);
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
                  return s.beat({ seq: report.seq, ttlSeconds: 90, intervalSeconds: 30 });
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

    it('without faults, the scheduler ends holding exactly what the record names, whatever interleaves (TTL changes, stale retries, expiries)', async () => {
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
                  await s.beat({ seq: reportSeq, ttlSeconds: op.ttl, intervalSeconds: 10 });
                }),
              );
              const record = (await s.store.get('web-1'))?.record;
              const armed = s.scheduler.schedules.get(scheduleNameFor('web-1'));
              if (record?.state === 'alive') {
                expect(armed?.fireAt).toBe(record.armedFor);
                expect(armed?.fireAt ?? Infinity).toBeLessThanOrEqual(expiresAt(record, AWS_TIMING));
              }
            }
          },
        ),
        { numRuns: propertyRuns },
      );
    });

    it('with failed and ambiguous calls anywhere, the scheduler deleting a schedule after its firing returns, retries and duplicate deliveries: no false expiry, every expiry reported, and a silent agent expires by the first reconciler run after its deadline (I2, I3, I5, I9)', async () => {
      // Faults: a few calls anywhere fail, before they applied or after (their answer lost).
      const faults = (calls: number, kinds: Fault[]) =>
        fc.array(fc.tuple(fc.nat(calls - 1), fc.constantFrom(...kinds)), { maxLength: 3 }).map((picked) => {
          const plan: Fault[] = Array.from({ length: calls }, () => 'ok');
          for (const [at, fault] of picked) plan[at] = fault;
          return plan;
        });
      const step = fc.oneof(
        fc.record({
          kind: fc.constant('beat' as const),
          ttl: fc.constantFrom(30, 60),
          stale: fc.boolean(),
          advanceMs: fc.nat(20_000),
        }),
        // The current schedule fires. EventBridge deletes a one-time schedule after it fires and
        // documents no ordering with the handler's re-arm: either before the target runs, or
        // (the worst case) after the invocation returned, deleting the re-armed schedule.
        fc.record({
          kind: fc.constant('fire' as const),
          deleteAfterReturn: fc.boolean(),
          advanceMs: fc.nat(90_000),
        }),
        // An earlier firing is delivered again (a new request id: at-least-once delivery).
        fc.record({ kind: fc.constant('redeliver' as const), pick: fc.nat(), advanceMs: fc.nat(30_000) }),
        fc.record({ kind: fc.constant('reconcile' as const), advanceMs: fc.nat(60_000) }),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.array(step, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 7 }),
          faults(40, ['before', 'after', 'after-conflict']),
          faults(20, ['before', 'after']),
          async (batches, storeFaults, schedulerFaults) => {
            const clock = new FakeClock();
            const inner = await makeStore();
            const store = new FaultyStore(inner, storeFaults);
            const scheduler = new FaultyScheduler(schedulerFaults);
            const log = new RecordingLog();
            const core = coreDeps({ store, scheduler, clock, log, timing: AWS_TIMING });
            const expire = makeExpiryHandler({ core });
            const name = scheduleNameFor('web-1');
            const fired: ExpiryPayload[] = [];
            let seq = 0;
            let runs = 0;
            // Lambda retries a failed invocation with the same request id; agents retry a 503.
            const retrying = async (call: (attempt: number) => Promise<unknown>) => {
              for (let attempt = 1; ; attempt++) {
                try {
                  return await call(attempt);
                } catch (error) {
                  if (!(error instanceof BackendUnavailableError) || attempt === 20) throw error;
                }
              }
            };
            const deliver = (payload: ExpiryPayload) => {
              const awsRequestId = `delivery-${fired.length}-${Math.random()}`;
              return retrying(() => expire(payload, ampleContext(awsRequestId)));
            };
            const runReconciler = (reportGraceMs: number) =>
              retrying(() =>
                reconcile(
                  { ...core, checkpoints: store },
                  {
                    invocationId: `reconcile-${++runs}`,
                    budget: UNLIMITED,
                    precisionMs: PRECISION_MS,
                    reportGraceMs,
                  },
                ),
              );
            const acks: Array<{ at: number; lastSeen: number }> = [];
            const checkExpiryLines = () => {
              for (const line of log.withMessage('agent expired')) {
                const { lastSeen, ttlSeconds, expiredAt, detectedAt } = line.attributes as Record<
                  string,
                  string
                >;
                // I2: declared at lastSeen + ttl or later, never on an older lastSeen than a
                // heartbeat that had already been answered when the expiry was decided.
                expect(Date.parse(expiredAt ?? '')).toBe(
                  Date.parse(lastSeen ?? '') + Number(ttlSeconds) * 1000,
                );
                expect(Date.parse(detectedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(expiredAt ?? ''));
                // A heartbeat answered before the expiry was decided (the clock only moves
                // forward) had committed before it, so the expiry saw its lastSeen or a later one.
                for (const ack of acks) {
                  if (ack.at < Date.parse(detectedAt ?? '')) {
                    expect(Date.parse(lastSeen ?? '')).toBeGreaterThanOrEqual(ack.lastSeen);
                  }
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
                    const result = (await retrying(() => recordHeartbeat(core, heartbeat, UNLIMITED))) as {
                      record: { lastSeen: number };
                    };
                    acks.push({ at: clock.ms, lastSeen: result.record.lastSeen });
                    return;
                  }
                  if (op.kind === 'reconcile') {
                    await runReconciler(10 * 60_000);
                    return;
                  }
                  if (op.kind === 'redeliver') {
                    const payload = fired[op.pick % Math.max(1, fired.length)];
                    if (payload !== undefined) await deliver(payload);
                    return;
                  }
                  const armed = scheduler.schedules.get(name);
                  if (armed === undefined) return;
                  fired.push(armed.payload);
                  if (!op.deleteAfterReturn) scheduler.schedules.delete(name);
                  await deliver(armed.payload).finally(() => {
                    if (op.deleteAfterReturn) scheduler.schedules.delete(name);
                  });
                }),
              );
              checkExpiryLines();
              const record = (await inner.get('web-1'))?.record;
              const armed = scheduler.schedules.get(name);
              // I6, as a hint: a record that vouches for a schedule (armedFor set) never has one
              // firing after its deadline once every call has settled (one fault at a time; with
              // several, the reconciler bound below still holds). armedFor null promises nothing:
              // a TTL shrunk while the scheduler failed leaves the longer schedule in place until
              // the reconciler or the next heartbeat re-arms.
              const faultCount = [...storeFaults, ...schedulerFaults].filter((f) => f !== 'ok').length;
              if (
                record?.state === 'alive' &&
                record.armedFor !== null &&
                armed !== undefined &&
                faultCount <= 1
              ) {
                expect(armed.fireAt).toBeLessThanOrEqual(expiresAt(record, AWS_TIMING));
              }
            }

            // The outage ends. I3: whatever was lost, the first reconciler run after
            // deadline + precision expires a silent agent.
            store.quiet();
            scheduler.quiet();
            const before = (await inner.get('web-1'))?.record;
            if (before !== undefined && before.state === 'alive') {
              clock.ms = Math.max(clock.ms, expiresAt(before, AWS_TIMING) + PRECISION_MS + 1);
              await runReconciler(10 * 60_000);
              const after = (await inner.get('web-1'))?.record;
              expect(after?.state).toBe('expired');
              expect(after?.expiredAt).toBe(before.deadline);
            }
            // I9: every expiry the record declares is reported at least once (a run at a
            // process start delivers whatever a dead committer left), and none is invented.
            await runReconciler(0);
            const final = (await inner.get('web-1'))?.record;
            expect(final?.outbox ?? []).toEqual([]);
            const declared = (final?.transitions ?? []).filter((t) => t.state === 'expired').map((t) => t.by);
            const logged = log.withMessage('agent expired').map((line) => String(line.attributes.expiredBy));
            for (const by of declared) expect(logged).toContain(by);
            // Exactly once unless a fault struck the write that marks events delivered.
            const faultCount = [...storeFaults, ...schedulerFaults].filter((f) => f !== 'ok').length;
            if (faultCount === 0) expect(new Set(logged).size).toBe(logged.length);
            // Only the last 10 transitions are kept, so older expiries may have left the record.
            if ((final?.transitions.length ?? 0) < 10) {
              for (const by of logged) expect(declared).toContain(by);
            }
            checkExpiryLines();
          },
        ),
        { numRuns: propertyRuns },
      );
    });
  });
}
