import { callOptions } from './budget.js';
import { LIMITS } from './limits.js';
import type { Budget, Log, Metrics, PulseStore } from './ports.js';

export const HOUR_MS = 3_600_000;

/**
 * Bucket lengths are whole seconds that divide an hour (1, 2, 5, 10, 30, 60, ... 3600), so every
 * bucket lies inside one hour: stores keep an hour's buckets together (one item or document).
 */
export function isValidBucketSeconds(seconds: number): boolean {
  return Number.isInteger(seconds) && seconds >= 1 && seconds <= 3600 && 3600 % seconds === 0;
}

/** The start of the bucket `at` falls in. */
export function bucketStart(at: number, bucketMs: number): number {
  return at - (((at % bucketMs) + bucketMs) % bucketMs);
}

/** A flush waits at most this long, so a slow store costs a heartbeat's answer little. */
const FLUSH_CAP_MS = 500;

/**
 * Counts the heartbeats this instance accepts, per bucket, and adds each bucket's count to the
 * shared pulse once: when the instance accepts its first heartbeat of a later bucket. So a store
 * write happens at most once per bucket per instance, whatever the heartbeat rate, and there is no
 * timer: an instance that goes quiet flushes its last bucket with its next heartbeat, or never
 * (the count is lost, which reads as a quieter bucket, never a louder one). A failed flush is not
 * retried: after a timeout the count may have landed, and adding it twice would hide deafness.
 */
export class PulseRecorder {
  #bucket: number | undefined;
  #count = 0;

  constructor(private readonly deps: { store: PulseStore; bucketMs: number; log: Log; metrics: Metrics }) {}

  /** For each accepted heartbeat, received at `at`; resolves once a flush it made due is done. */
  async accepted(at: number, budget: Budget): Promise<void> {
    const bucket = bucketStart(at, this.deps.bucketMs);
    if (bucket === this.#bucket) {
      this.#count++;
      return;
    }
    const due = this.#bucket === undefined ? undefined : { bucket: this.#bucket, count: this.#count };
    this.#bucket = bucket;
    this.#count = 1;
    if (due === undefined) return;
    try {
      await this.deps.store.addPulse(due.bucket, due.count, callOptions(budget, 'store', FLUSH_CAP_MS));
      this.deps.metrics.count('PulseFlushes');
    } catch (error) {
      this.deps.metrics.count('PulseFlushFailures');
      this.deps.log.warn('pulse flush failed; that bucket reads quieter than it was', {
        bucketStart: new Date(due.bucket).toISOString(),
        count: due.count,
        error,
      });
    }
  }
}

/**
 * How long stores keep the pulse: the longest TTL an agent may have (its whole silence is looked
 * at), plus the hour of baseline before it, plus an hour of slack.
 */
export const PULSE_RETENTION_MS = LIMITS.maxTtlSeconds * 1000 + 2 * HOUR_MS;

/**
 * Stores keep an hour's buckets together, in one item or document per hour: a bucket's count is
 * in the field `s<second of the hour it starts>` of its hour's item.
 */
export function pulseSlot(bucket: number): { hourStart: number; field: string } {
  const hourStart = bucketStart(bucket, HOUR_MS);
  return { hourStart, field: `s${(bucket - hourStart) / 1000}` };
}

/** The starts of the hours whose items hold the buckets starting in [from, to). */
export function hoursCovering(from: number, to: number): number[] {
  const hours: number[] = [];
  for (let hour = bucketStart(from, HOUR_MS); hour < to; hour += HOUR_MS) hours.push(hour);
  return hours;
}

/** Adds the counts an hour's item holds for buckets starting in [from, to) to `counts`. */
export function readHourItem(
  hourStart: number,
  fields: Record<string, unknown>,
  range: { from: number; to: number },
  counts: Map<number, number>,
): void {
  for (const [name, value] of Object.entries(fields)) {
    const second = /^s(\d+)$/.exec(name)?.[1];
    if (second === undefined || typeof value !== 'number') continue;
    const bucket = hourStart + Number(second) * 1000;
    if (bucket >= range.from && bucket < range.to) counts.set(bucket, value);
  }
}
