import { describe, expect, it } from 'vitest';
import { MemoryAgentStore } from '../../functions/adapters/memory/agent-store.js';
import { UNLIMITED } from '../../functions/core/budget.js';
import { EXPIRED_MESSAGE } from '../../functions/core/deliver-events.js';
import { BackendUnavailableError } from '../../functions/core/errors.js';
import { MAX_WINDOW_MS, assessPulse, makeExpiryGuard } from '../../functions/core/expiry-guard.js';
import { DEFERRED_MESSAGE, handleExpiry } from '../../functions/core/handle-expiry.js';
import type { GuardSettings } from '../../functions/core/ports.js';
import { reconcile } from '../../functions/core/reconcile.js';
import { recordHeartbeat } from '../../functions/core/record-heartbeat.js';
import {
  FakeClock,
  RecordingLog,
  RecordingMetrics,
  RecordingScheduler,
  coreDeps,
  makeHeartbeat,
} from '../support/fakes.js';

const BUCKET = 10_000;
const T = Date.UTC(2026, 0, 15, 10, 0, 0);
const SETTINGS: GuardSettings = {
  bucketMs: BUCKET,
  degradedShare: 0.5,
  baselineMs: 3_600_000,
  minBaselinePerBucket: 10,
  massShare: 0.2,
  maxDeferMs: 600_000,
  recheckMs: 60_000,
};

/** A pulse of `perBucket` heartbeats per bucket over [from, to), then `during` over [to, end). */
function pulse(from: number, to: number, perBucket: number, end = to, during = perBucket) {
  const counts = new Map<number, number>();
  for (let b = from; b < to; b += BUCKET) counts.set(b, perBucket);
  for (let b = to; b < end; b += BUCKET) if (during > 0) counts.set(b, during);
  return counts;
}

describe('judging the pulse over an agent’s silence', () => {
  // An agent last seen at T, TTL 90 s: its silence is [T, T + 90 s).
  const agent = { lastSeen: T, deadline: T + 90_000 };
  const now = T + 96_000;

  it('a healthy service heard its usual: not degraded, so the agent is really silent', () => {
    const a = assessPulse(pulse(T - 3_600_000, T + 100_000, 200), agent, now, SETTINGS);
    expect(a).toMatchObject({ degraded: false, heardPerBucket: 200, baselinePerBucket: 200 });
    expect(a.windowBuckets).toBeGreaterThanOrEqual(6);
  });

  it('a deaf service (nothing accepted during the silence) is degraded; missing buckets count as zero', () => {
    const a = assessPulse(pulse(T - 3_600_000, T + BUCKET, 200), agent, now, SETTINGS);
    expect(a).toMatchObject({ degraded: true, heardPerBucket: 0, baselinePerBucket: 200 });
  });

  it('a fifth of the fleet dying is not deafness (80 % heard); below half of the baseline is', () => {
    expect(assessPulse(pulse(T - 3_600_000, T, 200, T + 100_000, 160), agent, now, SETTINGS).degraded).toBe(
      false,
    );
    expect(assessPulse(pulse(T - 3_600_000, T, 200, T + 100_000, 90), agent, now, SETTINGS).degraded).toBe(
      true,
    );
  });

  it('marks a mass silence when those silent with the agent outnumber the share of those still heard', () => {
    const still = (perBucket: number) =>
      assessPulse(pulse(T - 3_600_000, T, 200, T + 100_000, perBucket), agent, now, SETTINGS).massSilence;
    expect(still(160)).toBe(true); // a fifth silent: 40 > 0.2 x 160
    expect(still(170)).toBe(false); // 30 < 0.2 x 170
    expect(still(0)).toBe(true); // a power cut
    expect(still(200)).toBe(false);
    // Judged by the latter half of the silence, when all that stopped with it have stopped: the
    // others' last heartbeats in its first half do not hide it.
    const counts = pulse(T - 3_600_000, T + 40_000, 200, T + 100_000, 160);
    expect(assessPulse(counts, agent, now, SETTINGS).massSilence).toBe(true);
    // Not judged without a baseline.
    expect(assessPulse(pulse(T, T + 100_000, 0), agent, now, SETTINGS).massSilence).toBe(false);
  });

  it('with only ten minutes of history, the baseline is those ten minutes', () => {
    const a = assessPulse(pulse(T - 600_000, T + BUCKET, 50), agent, now, SETTINGS);
    expect(a).toMatchObject({ degraded: true, baselinePerBucket: 50 });
  });

  it('a pulse too thin to tell one agent from the service (a few agents) is not judged', () => {
    expect(assessPulse(pulse(T - 3_600_000, T + BUCKET, 9), agent, now, SETTINGS)).toMatchObject({
      degraded: false,
      baselinePerBucket: 9,
    });
    expect(assessPulse(pulse(T - 3_600_000, T + BUCKET, 10), agent, now, SETTINGS).degraded).toBe(true);
  });

  it('less than 30 buckets of history is no baseline: not judged', () => {
    expect(assessPulse(pulse(T - 280_000, T + BUCKET, 200), agent, now, SETTINGS).degraded).toBe(false);
    expect(assessPulse(pulse(T - 290_000, T + BUCKET, 200), agent, now, SETTINGS).degraded).toBe(true);
  });

  it('no history at all, or a silence shorter than a complete bucket, cannot be judged: not degraded', () => {
    expect(assessPulse(new Map(), agent, now, SETTINGS)).toMatchObject({
      degraded: false,
      baselinePerBucket: null,
    });
    const short = { lastSeen: T, deadline: T + 12_000 };
    expect(assessPulse(pulse(T - 3_600_000, T, 200), short, T + 20_000, SETTINGS)).toMatchObject({
      degraded: false,
      windowBuckets: 0,
    });
  });

  it('leaves out the latest bucket, which instances have not all written yet', () => {
    // Everything accepted up to the last bucket: still healthy, though that bucket reads empty.
    const counts = pulse(T - 3_600_000, T + 80_000, 200);
    expect(assessPulse(counts, agent, T + 90_000 + 1, SETTINGS).degraded).toBe(false);
  });

  it('judges a long silence by its last hour', () => {
    const long = { lastSeen: T - 86_400_000, deadline: T };
    const counts = pulse(T - 2 * 3_600_000 - MAX_WINDOW_MS, T, 200);
    expect(assessPulse(counts, long, T + 6_000, SETTINGS)).toMatchObject({
      degraded: false,
      windowBuckets: 360,
    });
  });
});

describe('the guarded expiry', () => {
  function setup() {
    const clock = new FakeClock(T);
    const store = new MemoryAgentStore();
    const log = new RecordingLog();
    const metrics = new RecordingMetrics();
    const scheduler = new RecordingScheduler();
    const guard = makeExpiryGuard({ store, clock, log, metrics }, SETTINGS);
    const deps = coreDeps({ store, scheduler, clock, log, metrics, guard });
    return { clock, store, log, metrics, scheduler, deps };
  }
  const healthyUntil = async (store: MemoryAgentStore, end: number) => {
    for (let b = T - 3_600_000; b < end; b += BUCKET) await store.addPulse(b, 200);
  };

  it('defers while the service is deaf, with one WARN line per deferral, then expires by the bound, marked', async () => {
    const { clock, store, log, metrics, deps } = setup();
    await recordHeartbeat(deps, makeHeartbeat({ agentId: 'web-1', ttlSeconds: 90 }), UNLIMITED);
    await healthyUntil(store, T + BUCKET); // the service goes deaf after the agent's heartbeat
    clock.ms = T + 90_000; // the deadline (NO_GRACE in these tests)
    const first = await handleExpiry(deps, 'web-1', 'fire-1', UNLIMITED);
    expect(first.result).toEqual({ kind: 'deferred', armedFor: T + 150_000 });
    expect(log.withMessage(DEFERRED_MESSAGE)).toHaveLength(1);
    expect(log.withMessage(DEFERRED_MESSAGE)[0]?.attributes).toMatchObject({
      agentId: 'web-1',
      heardPerBucket: 0,
      baselinePerBucket: 200,
      expiresAtLatest: new Date(T + 690_000).toISOString(),
    });
    expect(metrics.counts.get('ExpiriesDeferred')).toBe(1);
    expect((await store.get('web-1'))?.record).toMatchObject({ state: 'alive', armedFor: T + 150_000 });

    clock.ms = T + 660_000; // still deaf: the last look comes 10 s before the bound
    expect((await handleExpiry(deps, 'web-1', 'fire-2', UNLIMITED)).result).toEqual({
      kind: 'deferred',
      armedFor: T + 680_000,
    });
    clock.ms = T + 680_000;
    const last = await handleExpiry(deps, 'web-1', 'fire-3', UNLIMITED);
    expect(last.result.kind).toBe('expired');
    const line = log.withMessage(EXPIRED_MESSAGE)[0]?.attributes;
    expect(line).toMatchObject({ agentId: 'web-1', suspectedPipelineOutage: true });
    expect(line?.['expiredAt']).toBe(new Date(T + 90_000).toISOString()); // the deadline that passed
  });

  it('expires on time, unmarked, when the service heard its usual during the silence', async () => {
    const { clock, store, log, deps } = setup();
    await recordHeartbeat(deps, makeHeartbeat({ agentId: 'web-1', ttlSeconds: 90 }), UNLIMITED);
    await healthyUntil(store, T + 100_000);
    clock.ms = T + 90_000;
    expect((await handleExpiry(deps, 'web-1', 'fire-1', UNLIMITED)).result.kind).toBe('expired');
    expect(log.withMessage(DEFERRED_MESSAGE)).toEqual([]);
    expect(log.withMessage(EXPIRED_MESSAGE)[0]?.attributes).toMatchObject({ suspectedPipelineOutage: false });
  });

  it('an agent that reports during its deferral is never expired, and nothing says it recovered', async () => {
    const { clock, store, log, deps } = setup();
    await recordHeartbeat(deps, makeHeartbeat({ agentId: 'web-1', ttlSeconds: 90 }), UNLIMITED);
    await healthyUntil(store, T + BUCKET);
    clock.ms = T + 90_000;
    await handleExpiry(deps, 'web-1', 'fire-1', UNLIMITED);
    clock.ms = T + 120_000; // the service hears again; the agent reports
    await recordHeartbeat(deps, makeHeartbeat({ agentId: 'web-1', ttlSeconds: 90 }), UNLIMITED);
    clock.ms = T + 150_000; // the deferral's firing: not due any more
    expect((await handleExpiry(deps, 'web-1', 'fire-2', UNLIMITED)).result.kind).toBe('rearmed');
    expect((await store.get('web-1'))?.record.state).toBe('alive');
    expect(log.withMessage(EXPIRED_MESSAGE)).toEqual([]);
    expect(log.lines.filter((line) => /recover/.test(line.message))).toEqual([]);
  });

  it('a pulse that cannot be read defers too (and says so), bounded the same way', async () => {
    const { clock, store, log, metrics, deps } = setup();
    await recordHeartbeat(deps, makeHeartbeat({ agentId: 'web-1', ttlSeconds: 90 }), UNLIMITED);
    clock.ms = T + 90_000;
    store.failNext('readPulse', new BackendUnavailableError('store', 'down'));
    expect((await handleExpiry(deps, 'web-1', 'fire-1', UNLIMITED)).result.kind).toBe('deferred');
    expect(metrics.counts.get('PulseReadFailures')).toBe(1);
    expect(log.withMessage(DEFERRED_MESSAGE)[0]?.attributes).toMatchObject({ unreadable: true });
  });

  it('the reconciler leaves a pending deferral to its own look, and takes over once that look is overdue', async () => {
    const { clock, store, deps } = setup();
    await recordHeartbeat(deps, makeHeartbeat({ agentId: 'web-1', ttlSeconds: 90 }), UNLIMITED);
    await healthyUntil(store, T + BUCKET);
    clock.ms = T + 90_000;
    await handleExpiry(deps, 'web-1', 'fire-1', UNLIMITED); // deferred, armed for T + 150 s
    const before = await store.get('web-1');
    const options = {
      invocationId: 'reconcile-1',
      budget: UNLIMITED,
      precisionMs: 60_000,
      reportGraceMs: 300_000,
    };
    const pending = await reconcile({ ...deps, checkpoints: store }, options);
    expect(pending).toMatchObject({ checked: 1, overdue: 0, deferred: 0 });
    expect((await store.get('web-1'))?.version).toBe(before?.version);
    clock.ms = T + 150_000 + 60_001; // its look never came (a lost firing): overdue again
    const overdue = await reconcile(
      { ...deps, checkpoints: store },
      { ...options, invocationId: 'reconcile-2' },
    );
    expect(overdue).toMatchObject({ overdue: 1, deferred: 1 });
  });

  it('reads the pulse once per bucket for all the decisions of an instance', async () => {
    const { clock, store, deps } = setup();
    let reads = 0;
    const original = store.readPulse.bind(store);
    store.readPulse = (from, to) => {
      reads++;
      return original(from, to);
    };
    for (const agentId of ['a', 'b', 'c']) {
      await recordHeartbeat(deps, makeHeartbeat({ agentId, ttlSeconds: 90 }), UNLIMITED);
    }
    clock.ms = T + 90_000;
    await Promise.all(['a', 'b', 'c'].map((id) => handleExpiry(deps, id, `fire-${id}`, UNLIMITED)));
    expect(reads).toBe(1);
    clock.ms += BUCKET;
    await handleExpiry(deps, 'a', 'fire-a2', UNLIMITED);
    expect(reads).toBe(2);
  });
});
