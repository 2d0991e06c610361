import { callOptions } from './budget.js';
import type { Budget, Clock, Log, MassExpiryStore, MassMinute, Metrics } from './ports.js';
import { HOUR_MS, bucketStart } from './pulse.js';
import { toIso } from './time.js';

export const MINUTE_MS = 60_000;

/**
 * A minute is summarized this long after it ends: an expiry decided in it has counted by then
 * (an expiry invocation lasts 10 s at most, and the count is its last store call). A count that
 * lands later still is left out of the summary, never counted twice.
 */
export const SUMMARY_GRACE_MS = 30_000;

/** The on-call line that says how many agents expired together in a minute. */
export const MASS_SUMMARY_MESSAGE = 'mass expiry: agents expired together';

/**
 * Turns the mass expiries of a fabric-wide outage into one line per minute (issue 9), without a
 * timer: every expiry marked massExpiry adds one to its minute's shared count, and whoever looks
 * next after the minute is over (another mass expiry, or the reconciler's run) claims the minute
 * and writes its summary. The claim is a conditional write, so however many instances look, each
 * minute is summarized once. Neither counting nor summarizing ever fails an expiry.
 */
export class MassExpiryTally {
  /** The end of the minutes this instance last looked at: it looks once per minute. */
  #lookedUpTo: number | undefined;

  constructor(private readonly deps: { store: MassExpiryStore; clock: Clock; log: Log; metrics: Metrics }) {}

  /** For each expiry committed marked massExpiry. */
  async counted(budget: Budget): Promise<void> {
    const minute = bucketStart(this.deps.clock.now(), MINUTE_MS);
    this.deps.metrics.count('MassExpiries');
    try {
      await this.deps.store.countMassExpiry(minute, callOptions(budget, 'store'));
    } catch (error) {
      this.deps.metrics.count('MassExpiryCountFailures');
      this.deps.log.warn('mass expiry not counted; its minute summary reads lower', {
        minuteStart: toIso(minute),
        error,
      });
    }
  }

  /** Summarizes the minutes of the last hour that are over and nobody summarized yet. */
  async summarize(budget: Budget): Promise<void> {
    const upTo = bucketStart(this.deps.clock.now() - SUMMARY_GRACE_MS, MINUTE_MS);
    if (upTo === this.#lookedUpTo) return;
    this.#lookedUpTo = upTo;
    try {
      const minutes = await this.deps.store.readMassExpiries(
        upTo - HOUR_MS,
        upTo,
        callOptions(budget, 'store'),
      );
      const due = [...minutes].filter(([, m]) => !m.summarized && m.count > 0).sort(([a], [b]) => a - b);
      for (const [minute, { count }] of due) {
        if (!(await this.deps.store.claimMassSummary(minute, callOptions(budget, 'store')))) continue;
        this.deps.log.warn(MASS_SUMMARY_MESSAGE, {
          minuteStart: toIso(minute),
          minuteEnd: toIso(minute + MINUTE_MS),
          expired: count,
        });
      }
    } catch (error) {
      // Another look (the next mass expiry's, or the reconciler's) summarizes what is left.
      this.#lookedUpTo = undefined;
      this.deps.log.warn('mass expiry summary not written yet; the next look writes it', { error });
    }
  }
}

/**
 * Stores keep an hour's minutes together, in one item or document per hour, as they keep the
 * pulse: a minute's count is in the field `m<second of the hour it starts>`, and its summary's
 * claim in `c<second>`.
 */
export function massSlot(minute: number): { hourStart: number; count: string; claim: string } {
  const hourStart = bucketStart(minute, HOUR_MS);
  const second = (minute - hourStart) / 1000;
  return { hourStart, count: `m${second}`, claim: `c${second}` };
}

/** How long stores keep the counts: the hour summaries look back, and an hour of slack. */
export const MASS_RETENTION_MS = 2 * HOUR_MS;

/** Adds the minutes an hour's item holds, starting in [from, to), to `minutes`. */
export function readMassHourItem(
  hourStart: number,
  fields: Record<string, unknown>,
  range: { from: number; to: number },
  minutes: Map<number, MassMinute>,
): void {
  for (const [name, value] of Object.entries(fields)) {
    const second = /^m(\d+)$/.exec(name)?.[1];
    if (second === undefined || typeof value !== 'number') continue;
    const minute = hourStart + Number(second) * 1000;
    if (minute < range.from || minute >= range.to) continue;
    minutes.set(minute, { count: value, summarized: fields[`c${second}`] !== undefined });
  }
}
