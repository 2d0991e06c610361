import { describe, expect, it } from 'vitest';
import { MemoryAgentStore } from '../../functions/adapters/memory/agent-store.js';
import { UNLIMITED, budgetFor } from '../../functions/core/budget.js';
import { BackendUnavailableError } from '../../functions/core/errors.js';
import type { CallOptions } from '../../functions/core/ports.js';
import { PulseRecorder, bucketStart, isValidBucketSeconds } from '../../functions/core/pulse.js';
import { makeIngestHandler } from '../../functions/handlers/ingest.js';
import { makeBearerAuth } from '../../functions/http/auth.js';
import { TOKEN, heartbeatEvent } from '../support/api-events.js';
import { FakeClock, RecordingLog, RecordingMetrics, RecordingScheduler, coreDeps } from '../support/fakes.js';

const BUCKET_MS = 10_000;
const T = Date.UTC(2026, 0, 15, 10, 0, 0);

/** A memory store that also records every pulse write and the options it was given. */
class CountingPulseStore extends MemoryAgentStore {
  readonly adds: Array<{ bucket: number; count: number; options: CallOptions | undefined }> = [];
  override addPulse(bucket: number, count: number, options?: CallOptions): Promise<void> {
    this.adds.push({ bucket, count, options });
    return super.addPulse(bucket, count);
  }
}

function recorder(store = new CountingPulseStore()) {
  const log = new RecordingLog();
  const metrics = new RecordingMetrics();
  return { store, log, metrics, pulse: new PulseRecorder({ store, bucketMs: BUCKET_MS, log, metrics }) };
}

describe('the fleet pulse', () => {
  it('bucket lengths are whole seconds dividing an hour', () => {
    for (const ok of [1, 2, 5, 10, 15, 30, 60, 600, 3600])
      expect(isValidBucketSeconds(ok), String(ok)).toBe(true);
    for (const bad of [0, 7, 11, 1.5, -10, 7200, Number.NaN])
      expect(isValidBucketSeconds(bad), String(bad)).toBe(false);
    expect(bucketStart(T + 9_999, BUCKET_MS)).toBe(T);
    expect(bucketStart(T + 10_000, BUCKET_MS)).toBe(T + 10_000);
  });

  it('writes each bucket once per instance, when its first heartbeat of a later bucket comes', async () => {
    const { store, pulse, metrics } = recorder();
    // 600 heartbeats/s for 30 s on this instance: three buckets, two of them complete.
    for (let i = 0; i < 18_000; i++) await pulse.accepted(T + Math.floor(i / 0.6), UNLIMITED);
    expect(store.adds.map(({ bucket, count }) => ({ bucket, count }))).toEqual([
      { bucket: T, count: 6000 },
      { bucket: T + 10_000, count: 6000 },
    ]);
    expect(metrics.counts.get('PulseFlushes')).toBe(2);
    // A quiet spell, then one heartbeat: the last busy bucket is written then, the quiet ones never.
    await pulse.accepted(T + 95_000, UNLIMITED);
    expect(store.adds.at(-1)).toMatchObject({ bucket: T + 20_000, count: 6000 });
    expect([...(await store.readPulse(T, T + 100_000))]).toEqual([
      [T, 6000],
      [T + 10_000, 6000],
      [T + 20_000, 6000],
    ]);
  });

  it('two instances add up in the store', async () => {
    const store = new CountingPulseStore();
    const a = recorder(store).pulse;
    const b = recorder(store).pulse;
    for (let i = 0; i < 10; i++) await (i % 2 === 0 ? a : b).accepted(T + i * 100, UNLIMITED);
    await a.accepted(T + BUCKET_MS, UNLIMITED);
    await b.accepted(T + BUCKET_MS, UNLIMITED);
    expect((await store.readPulse(T, T + 1)).get(T)).toBe(10);
  });

  it('a failed write is logged, counted and not retried (it may have landed); the next bucket is written', async () => {
    const { store, pulse, log, metrics } = recorder();
    await pulse.accepted(T, UNLIMITED);
    store.failNext('addPulse', new BackendUnavailableError('store', 'timed out'), 'after');
    await pulse.accepted(T + BUCKET_MS, UNLIMITED);
    await pulse.accepted(T + 2 * BUCKET_MS, UNLIMITED);
    expect(metrics.counts.get('PulseFlushFailures')).toBe(1);
    expect(log.withMessage('pulse flush failed; that bucket reads quieter than it was')).toHaveLength(1);
    expect(store.adds.map(({ bucket }) => bucket)).toEqual([T, T + BUCKET_MS]);
    expect((await store.readPulse(T, T + 3 * BUCKET_MS)).get(T)).toBe(1); // landed, counted once
  });

  it("a write waits at most 500 ms of the heartbeat's budget, and none when it has none left", async () => {
    const clock = new FakeClock(T);
    const { store, pulse, metrics } = recorder();
    await pulse.accepted(T, budgetFor(clock, 5_000));
    await pulse.accepted(T + BUCKET_MS, budgetFor(clock, 5_000));
    expect(store.adds[0]?.options).toEqual({ timeoutMs: 500 });
    await pulse.accepted(T + 2 * BUCKET_MS, budgetFor(clock, 0));
    expect(store.adds).toHaveLength(1);
    expect(metrics.counts.get('PulseFlushFailures')).toBe(1);
  });

  it('the ingest handler counts accepted heartbeats, not refused ones', async () => {
    const clock = new FakeClock(T);
    const store = new CountingPulseStore();
    const { pulse } = recorder(store);
    const ingest = makeIngestHandler({
      core: coreDeps({ store, scheduler: new RecordingScheduler(), clock }),
      policy: { defaultTtlSeconds: 90, defaultIntervalSeconds: 30, minTtlSeconds: 1 },
      authenticate: makeBearerAuth([TOKEN]),
      pulse,
    });
    expect((await ingest(heartbeatEvent({ agentId: 'web-1' }))).statusCode).toBe(200);
    expect((await ingest(heartbeatEvent({ agentId: 'web-2' }))).statusCode).toBe(200);
    expect((await ingest(heartbeatEvent({ agentId: 'a/b' }))).statusCode).toBe(400);
    clock.advance(10);
    expect((await ingest(heartbeatEvent({ agentId: 'web-1' }))).statusCode).toBe(200);
    expect([...(await store.readPulse(T, T + BUCKET_MS))]).toEqual([[T, 2]]);
  });
});
