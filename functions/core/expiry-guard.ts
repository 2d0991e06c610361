import type { AgentRecord } from './agent.js';
import { callOptions } from './budget.js';
import { MassExpiryTally } from './mass-expiry.js';
import type {
  Budget,
  Clock,
  ExpiryGuardDeps,
  GuardSettings,
  Log,
  MassExpiryStore,
  Metrics,
  PulseStore,
} from './ports.js';
import { HOUR_MS, bucketStart } from './pulse.js';

/**
 * The guard that keeps the service's own outage from expiring the fleet (issue 9). Before an
 * expiry, it asks whether the service went deaf during the agent's silence: whether the fleet
 * pulse (core/pulse.ts) over that silence fell well below its recent baseline. If so the expiry
 * is deferred, not dropped, and at most until `maxDeferMs` after the deadline (GuardSettings, in
 * ports.ts with the rest of what the core is given).
 */

/**
 * A silence longer than this is judged by its last hour: enough to tell an outage, and it keeps
 * the pulse read to a fixed three hourly items whatever the agent's TTL.
 */
export const MAX_WINDOW_MS = HOUR_MS;

/**
 * A baseline of fewer buckets is no baseline (a service that started seconds ago, a test's first
 * bursts): 5 minutes at the 10 s buckets of AWS, 30 s at the local runner's 1 s.
 */
export const MIN_BASELINE_BUCKETS = 30;

export interface PulseAssessment {
  degraded: boolean;
  /** Mean accepted heartbeats per bucket over the agent's silence. */
  heardPerBucket: number;
  /** Median per bucket before it; null when there is no history to compare with. */
  baselinePerBucket: number | null;
  /** Buckets in the silence that could be judged (complete, and flushed). */
  windowBuckets: number;
  /**
   * The agents that fell silent with this one outnumber `massShare` of those still heard: the
   * heartbeats missing from the latter half of the silence (when every agent that stopped with
   * this one has stopped) against those still heard then. The expiry is part of a mass expiry.
   */
  massSilence: boolean;
  /** The pulse could not be read: treated as deaf. */
  unreadable?: true;
}

/**
 * Judges the pulse over one agent's silence (pure). The silence is the complete buckets after the
 * one holding `lastSeen` and before the deadline, less the latest bucket (instances write a
 * bucket's count with their first heartbeat of the next one). A bucket nobody wrote counts as
 * zero: deaf. The baseline is the median bucket of `baselineMs` before the silence, or of what
 * history there is: it starts at the first bucket anyone wrote. No history (or less than
 * MIN_BASELINE_BUCKETS of it), a baseline thinner than `minBaselinePerBucket`, or a silence too
 * short to hold a complete bucket cannot be judged: not degraded, so the agent expires as it would
 * without the guard.
 */
export function assessPulse(
  counts: ReadonlyMap<number, number>,
  agent: Pick<AgentRecord, 'lastSeen' | 'deadline'>,
  now: number,
  settings: Pick<
    GuardSettings,
    'bucketMs' | 'degradedShare' | 'baselineMs' | 'minBaselinePerBucket' | 'massShare'
  >,
): PulseAssessment {
  const { bucketMs } = settings;
  const windowEnd = bucketStart(Math.min(agent.deadline, now - bucketMs), bucketMs);
  const windowStart = Math.max(
    bucketStart(agent.lastSeen, bucketMs) + bucketMs,
    bucketStart(windowEnd - MAX_WINDOW_MS, bucketMs),
  );
  const window = bucketsIn(counts, windowStart, windowEnd, bucketMs);
  const firstWritten = Math.min(...counts.keys());
  const baseline = bucketsIn(
    counts,
    Math.max(windowStart - settings.baselineMs, firstWritten),
    windowStart,
    bucketMs,
  );
  const heardPerBucket = mean(window);
  const baselinePerBucket = baseline.length === 0 ? null : median(baseline);
  const judged =
    window.length > 0 &&
    baselinePerBucket !== null &&
    baseline.length >= MIN_BASELINE_BUCKETS &&
    baselinePerBucket >= settings.minBaselinePerBucket;
  // The agents that stopped with this one stopped by its next heartbeat, within the first part
  // of its silence (a TTL is two intervals or more in practice): the latter half hears only the
  // agents still alive. Missing from it: those that stopped, this one among them.
  const stillHeard = mean(window.slice(Math.floor(window.length / 2)));
  return {
    degraded: judged && heardPerBucket < settings.degradedShare * baselinePerBucket,
    heardPerBucket: round(heardPerBucket),
    baselinePerBucket: baselinePerBucket === null ? null : round(baselinePerBucket),
    windowBuckets: window.length,
    massSilence: judged && baselinePerBucket - stillHeard > settings.massShare * stillHeard,
  };
}

function mean(values: number[]): number {
  return values.length === 0 ? 0 : values.reduce((sum, n) => sum + n, 0) / values.length;
}

/** The counts of the buckets starting in [from, to), zero for those nobody wrote. */
function bucketsIn(
  counts: ReadonlyMap<number, number>,
  from: number,
  to: number,
  bucketMs: number,
): number[] {
  const values: number[] = [];
  for (let bucket = from; bucket < to; bucket += bucketMs) values.push(counts.get(bucket) ?? 0);
  return values;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

const round = (n: number) => Math.round(n * 100) / 100;

/**
 * Reads the pulse an expiry decision needs: the last `MAX_WINDOW_MS + baselineMs` and a bucket,
 * the same range for every agent, so one read (three hourly items) serves every decision in this
 * instance for a bucket's length. A mass expiry costs one pulse read per instance per bucket.
 */
export class PulseReader {
  #cached: { at: number; counts: Map<number, number> } | undefined;
  #reading: Promise<Map<number, number>> | undefined;

  constructor(private readonly deps: { store: PulseStore; clock: Clock; settings: GuardSettings }) {}

  async counts(budget: Budget): Promise<Map<number, number>> {
    const now = this.deps.clock.now();
    const { bucketMs, baselineMs } = this.deps.settings;
    if (this.#cached !== undefined && now - this.#cached.at < bucketMs) return this.#cached.counts;
    const from = bucketStart(now - MAX_WINDOW_MS - baselineMs - 2 * bucketMs, bucketMs);
    // One read at a time, however many decisions (the reconciler's concurrent ones) ask meanwhile.
    this.#reading ??= this.deps.store
      .readPulse(from, now, callOptions(budget, 'store'))
      .then((counts) => {
        this.#cached = { at: now, counts };
        return counts;
      })
      .finally(() => {
        this.#reading = undefined;
      });
    return this.#reading;
  }
}

/** The guard an expiry decision is given: the pulse reader and mass-expiry tally on one store. */
export function makeExpiryGuard(
  deps: { store: PulseStore & MassExpiryStore; clock: Clock; log: Log; metrics: Metrics },
  settings: GuardSettings,
): ExpiryGuardDeps {
  return {
    reader: new PulseReader({ store: deps.store, clock: deps.clock, settings }),
    tally: new MassExpiryTally(deps),
    settings,
  };
}
