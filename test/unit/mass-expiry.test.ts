import { describe, expect, it } from 'vitest';
import { MemoryAgentStore } from '../../functions/adapters/memory/agent-store.js';
import { UNLIMITED } from '../../functions/core/budget.js';
import { BackendUnavailableError } from '../../functions/core/errors.js';
import {
  MASS_SUMMARY_MESSAGE,
  MINUTE_MS,
  MassExpiryTally,
  SUMMARY_GRACE_MS,
} from '../../functions/core/mass-expiry.js';
import { FakeClock, RecordingLog, RecordingMetrics } from '../support/fakes.js';

const T = Date.UTC(2026, 0, 15, 10, 0, 0);

function instances(count: number) {
  const store = new MemoryAgentStore();
  const clock = new FakeClock(T);
  const log = new RecordingLog();
  const metrics = new RecordingMetrics();
  const tallies = Array.from({ length: count }, () => new MassExpiryTally({ store, clock, log, metrics }));
  const summaries = () =>
    log
      .withMessage(MASS_SUMMARY_MESSAGE)
      .map((line) => [line.attributes.minuteStart, line.attributes.expired]);
  return { store, clock, log, metrics, tallies, summaries };
}

describe('the mass-expiry tally: one summary line per minute, however many instances', () => {
  it('counts every instance’s mass expiries into the minute and summarizes it once, after the grace', async () => {
    const { clock, tallies, summaries, metrics } = instances(3);
    for (let i = 0; i < 30; i++) {
      clock.ms = T + i * 1_500; // 45 s of expiries in the first minute, spread over instances
      await tallies[i % 3]?.counted(UNLIMITED);
    }
    clock.ms = T + MINUTE_MS + 5_000;
    for (let i = 0; i < 4; i++) await tallies[i % 3]?.counted(UNLIMITED);
    // Too soon: an expiry decided at the end of the first minute may still be counting.
    for (const tally of tallies) await tally.summarize(UNLIMITED);
    expect(summaries()).toEqual([]);

    clock.ms = T + MINUTE_MS + SUMMARY_GRACE_MS;
    for (const tally of tallies) await tally.summarize(UNLIMITED);
    expect(summaries()).toEqual([[new Date(T).toISOString(), 30]]);

    clock.ms = T + 2 * MINUTE_MS + SUMMARY_GRACE_MS + 1;
    for (const tally of tallies) await tally.summarize(UNLIMITED);
    for (const tally of tallies) await tally.summarize(UNLIMITED);
    expect(summaries()).toEqual([
      [new Date(T).toISOString(), 30],
      [new Date(T + MINUTE_MS).toISOString(), 4],
    ]);
    expect(metrics.counts.get('MassExpiries')).toBe(34);
  });

  it('looks at the store at most once a minute per instance', async () => {
    const { store, clock, tallies } = instances(1);
    let reads = 0;
    const read = store.readMassExpiries.bind(store);
    store.readMassExpiries = async (from, to) => {
      reads++;
      return read(from, to);
    };
    for (let s = 0; s < 120; s++) {
      clock.ms = T + s * 1_000;
      await tallies[0]?.summarize(UNLIMITED);
    }
    // Two minutes of looks cross three minute boundaries, the grace after each: three reads.
    expect(reads).toBe(3);
  });

  it('never fails its caller: a failed count is counted and logged, a failed look is tried again', async () => {
    const { store, clock, log, metrics, tallies, summaries } = instances(1);
    const tally = tallies[0] as MassExpiryTally;
    store.failNext('countMassExpiry', new BackendUnavailableError('store', 'down'));
    await tally.counted(UNLIMITED);
    await tally.counted(UNLIMITED);
    expect(metrics.counts.get('MassExpiryCountFailures')).toBe(1);
    expect(log.withMessage('mass expiry not counted; its minute summary reads lower')).toHaveLength(1);

    clock.ms = T + MINUTE_MS + SUMMARY_GRACE_MS;
    store.failNext('claimMassSummary', new BackendUnavailableError('store', 'down'));
    await tally.summarize(UNLIMITED);
    expect(summaries()).toEqual([]);
    await tally.summarize(UNLIMITED); // the same minute: looked at again, since the last look failed
    expect(summaries()).toEqual([[new Date(T).toISOString(), 1]]);
  });
});
