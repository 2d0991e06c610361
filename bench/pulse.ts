/**
 * The fleet pulse's cost (issue 9): store writes at 600 accepted heartbeats/s spread over N
 * function instances, in virtual time (the recorder's logic, a counting in-memory store). Target:
 * at most one write per instance per bucket, whatever the rate. And the expiry guard's extra read
 * per expiry decision, at a mass expiry.
 */
import { MemoryAgentStore } from '../functions/adapters/memory/agent-store.js';
import { UNLIMITED } from '../functions/core/budget.js';
import type { Log } from '../functions/core/ports.js';
import { PulseReader } from '../functions/core/expiry-guard.js';
import { PulseRecorder } from '../functions/core/pulse.js';
import { noMetrics } from '../functions/observability/null-metrics.js';

const quiet: Log = { info: () => undefined, warn: () => undefined, error: () => undefined };
const RATE_PER_SECOND = 600;
const SECONDS = 300;
const BUCKET_MS = 10_000;

class CountingStore extends MemoryAgentStore {
  writes = 0;
  override addPulse(bucket: number, count: number): Promise<void> {
    this.writes++;
    return super.addPulse(bucket, count);
  }
}

export async function pulseFigures(): Promise<Record<string, unknown>> {
  const rows: Record<string, unknown>[] = [];
  for (const instances of [1, 5, 20, 50]) {
    const store = new CountingStore();
    const recorders = Array.from(
      { length: instances },
      () => new PulseRecorder({ store, bucketMs: BUCKET_MS, log: quiet, metrics: noMetrics }),
    );
    // Heartbeats evenly in time, each to a pseudo-random instance (as Lambda spreads them).
    let seed = 12345;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const start = Date.UTC(2026, 0, 15, 10, 0, 0);
    const total = RATE_PER_SECOND * SECONDS;
    for (let i = 0; i < total; i++) {
      const at = start + Math.floor((i * 1000) / RATE_PER_SECOND);
      await recorders[Math.floor(random() * instances)]?.accepted(at, UNLIMITED);
    }
    const counted = [...(await store.readPulse(start, start + SECONDS * 1000)).values()].reduce(
      (a, b) => a + b,
      0,
    );
    rows.push({
      instances,
      storeWritesPerSecond: Math.round((store.writes / SECONDS) * 100) / 100,
      writesPerInstancePerBucket:
        Math.round((store.writes / instances / (SECONDS / (BUCKET_MS / 1000))) * 100) / 100,
      // The last bucket of each instance is written with its next heartbeat, after the run.
      heartbeatsCounted: `${counted} of ${total}`,
    });
  }
  return {
    ratePerSecond: RATE_PER_SECOND,
    bucketSeconds: BUCKET_MS / 1000,
    virtualSeconds: SECONDS,
    rows,
    readsPerExpiryDecision: await readsPerDecision(),
  };
}

/**
 * The guard's extra read: 18,000 agents falling due over 5 minutes (a mass expiry), their
 * decisions spread over N expiry instances; each instance reads the pulse once per bucket.
 */
async function readsPerDecision(): Promise<Record<string, unknown>[]> {
  const settings = {
    bucketMs: BUCKET_MS,
    degradedShare: 0.5,
    baselineMs: 3_600_000,
    minBaselinePerBucket: 10,
    massShare: 0.2,
    maxDeferMs: 600_000,
    recheckMs: 60_000,
  };
  const rows: Record<string, unknown>[] = [];
  for (const instances of [10, 100]) {
    let now = Date.UTC(2026, 0, 15, 10, 0, 0);
    const clock = { now: () => now };
    let reads = 0;
    const store = new (class extends MemoryAgentStore {
      override readPulse(from: number, to: number) {
        reads++;
        return super.readPulse(from, to);
      }
    })();
    const readers = Array.from({ length: instances }, () => new PulseReader({ store, clock, settings }));
    const decisions = 18_000;
    const spanMs = 5 * 60_000;
    for (let i = 0; i < decisions; i++) {
      now = Date.UTC(2026, 0, 15, 10, 0, 0) + Math.floor((i * spanMs) / decisions);
      await readers[i % instances]?.counts(UNLIMITED);
    }
    rows.push({
      instances,
      decisions,
      pulseReads: reads,
      readsPerDecision: Math.round((reads / decisions) * 1000) / 1000,
      // Each read is a GetItem of each hour's item the range covers: up to three.
      getItemsAtMost: reads * 3,
    });
  }
  return rows;
}
