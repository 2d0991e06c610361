import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { scheduleEconomy } from '../../bench/schedule-economy.js';
import { memoryStore } from '../../bench/pipeline.js';
import { ASSUMPTIONS } from '../../capacity/assumptions.js';
import { CHART_PATH, DOCUMENT_PATH, buildDocument, formatted } from '../../capacity/document.js';
import { dynamoItemBytes, readUnits, writeUnits } from '../../capacity/dynamo-size.js';
import { emptyDynamoMeter } from '../../capacity/metered-store.js';
import { apiGatewayUsd, customMetricsUsd, estimate, peakRate, roundUp } from '../../capacity/model.js';
import { PRICE_TABLE } from '../../capacity/prices.js';
import { DEFAULT_SHAPE, type Measurement, emptyCounts, simulate } from '../../capacity/simulate.js';
import { FUNCTION_DEFAULTS } from '../../cdk/heartbeat-function.js';

// The capacity calculator (issue 11): its arithmetic on cases worked out by hand, its measured
// rates against the bench's, and docs/capacity.md as its output.

const MONTH = 730 * 3600;

/** A sample of 10 agents over 1,000 s: 0.1 heartbeats per agent-second, and round numbers. */
function handMeasurement(overrides: Partial<Measurement['counts']> = {}): Measurement {
  return {
    shape: { ...DEFAULT_SHAPE, agents: 10 },
    seconds: 1_000,
    counts: { ...emptyCounts(), heartbeats: 1_000, ingestInvocations: 1_000, ...overrides },
    scheduler: { updateSchedule: 500, createSchedule: 0, deleteSchedule: 0, invocations: 0 },
    dynamo: { ...emptyDynamoMeter(), getItem: 1_000, putItem: 1_000, writeUnits: 2_000, readUnits: 1_000 },
    storedBytesPerAgent: 1_000,
    busiestMinute: { heartbeats: 6, scheduleWrites: 3, invocations: 0, putEvents: 0, writeUnits: 12 },
  };
}

describe("the calculator's arithmetic, by hand", () => {
  it('sizes an item as DynamoDB bills it: names, strings, numbers, booleans, lists and maps', () => {
    // agentId(7)+ab(2)=9; n(1)+12345(3 digit pairs rounded up, +1 = 4)=5; ok(2)+1=3;
    // tags(4)+[3 + (1+1) + (1+2)]=12; m(1)+{3 + (1+1+1)}=7: 36 bytes.
    expect(dynamoItemBytes({ agentId: 'ab', n: 12345, ok: true, tags: ['x', 'yz'], m: { k: 'v' } })).toBe(36);
    expect(dynamoItemBytes({ é: 'ü' })).toBe(4); // UTF-8 bytes, not characters
  });

  it('bills writes per 1 KB of the larger item, reads per 4 KB (half when eventually consistent)', () => {
    expect(writeUnits(1_024)).toBe(1);
    expect(writeUnits(1_025)).toBe(2);
    expect(writeUnits(100, 3_000)).toBe(3);
    expect(readUnits(4_096)).toBe(1);
    expect(readUnits(4_097)).toBe(2);
    expect(readUnits(4_097, false)).toBe(1);
  });

  it('prices tiers: custom metrics past 10,000, HTTP API requests past 300 M', () => {
    expect(customMetricsUsd(10_000)).toBeCloseTo(3_000);
    expect(customMetricsUsd(250_000)).toBeCloseTo(3_000 + 240_000 * 0.1);
    expect(apiGatewayUsd(300e6)).toBeCloseTo(300);
    expect(apiGatewayUsd(400e6)).toBeCloseTo(390);
  });

  it("asks for quotas in two significant digits, up; caps a sample's peak by a Poisson bound", () => {
    expect(roundUp(757.5)).toBe(760);
    expect(roundUp(41_001)).toBe(42_000);
    expect(roundUp(42_000)).toBe(42_000);
    // 10/s: 600 a minute, + 4 x sqrt(600) = 697.98 a minute at most.
    expect(peakRate(10, 100)).toBeCloseTo(697.98 / 60, 2);
    expect(peakRate(10, 10.5)).toBe(10.5);
    expect(peakRate(10, 5)).toBe(10);
  });

  it('scales a sample to the fleet and prices each line', () => {
    const m = handMeasurement();
    // 100 agents: 10 heartbeats/s; busiest minute 6 of the sample's = 0.1/s, x10 = 1/s < mean.
    const ours = estimate(m, 100, 'coalesced');
    const line = (what: string) => ours.lines.find((l) => l.what.startsWith(what));
    expect(line('heartbeat requests')).toMatchObject({ meanPerSecond: 10, peakPerSecond: 10 });
    expect(line('heartbeat requests')?.monthlyUsd).toBeCloseTo((10 * MONTH) / 1e6);
    expect(line('UpdateSchedule')).toMatchObject({ meanPerSecond: 5, headroom: 200 });
    expect(line('write request units')?.meanPerSecond).toBeCloseTo(20);
    expect(line('write request units')?.monthlyUsd).toBeCloseTo(((20 * MONTH) / 1e6) * 0.625);
    expect(line('read request units')?.meanPerSecond).toBeCloseTo(10);

    const perHeartbeat = estimate(m, 100, 'per-heartbeat');
    expect(perHeartbeat.lines.find((l) => l.what === 'UpdateSchedule')?.meanPerSecond).toBe(10);

    const alarms = estimate(m, 100, 'cloudwatch-alarm');
    expect(alarms.lines.some((l) => l.service === 'EventBridge Scheduler')).toBe(false);
    expect(alarms.lines.find((l) => l.what.startsWith('PutMetricData'))?.monthlyUsd).toBeCloseTo(
      ((10 * MONTH) / 1_000) * 0.01,
    );
    expect(alarms.lines.find((l) => l.what.startsWith('alarms and metrics'))?.monthlyUsd).toBeCloseTo(
      100 * 0.1 + 100 * 0.3,
    );

    const steps = estimate(m, 100, 'step-functions');
    expect(steps.lines.find((l) => l.what.startsWith('open executions'))).toMatchObject({
      meanPerSecond: 100,
      headroom: 10_000,
    });
  });

  it('names the first quota to bind and what to ask for', () => {
    // 100,000 agents: 5,000 UpdateSchedule/s against 1,000; 10,000 heartbeats/s against 10,000.
    const e = estimate(handMeasurement(), 100_000, 'coalesced');
    expect(e.binding[0]).toMatchObject({
      line: { what: 'UpdateSchedule', peakPerSecond: 5_000, headroom: 0.2 },
      request: 6_300, // 5,000 x 1.25 = 6,250, up to two significant digits
    });
    expect(e.tightest?.request).toBe(6_300);
    const small = estimate(handMeasurement(), 100, 'coalesced');
    expect(small.binding).toEqual([]);
    expect(small.tightest?.request).toBeUndefined();
  });

  it("assumes the stack's function memory", () => {
    expect(ASSUMPTIONS.lambdaMemoryGb * 1024).toBe(FUNCTION_DEFAULTS.memorySize);
    expect(PRICE_TABLE.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});

describe("the calculator's measurement", () => {
  it('writes schedules per heartbeat as the bench measures, and expires no healthy agent (30 s / 90 s, 100 agents, an hour)', async () => {
    const bench = await scheduleEconomy(memoryStore);
    const measured = await simulate({
      ...DEFAULT_SHAPE,
      agents: 100,
      restartsPerDay: 0,
      deathsPerHour: 0,
      checkChangesPerDay: 0,
      hours: 1,
      warmupMinutes: 1,
    });
    const writes =
      (measured.scheduler.updateSchedule + measured.scheduler.createSchedule) / measured.counts.heartbeats;
    expect(writes.toFixed(2)).toBe(bench.steadyState.scheduleWritesPerHeartbeat.toFixed(2));
    expect(measured.counts.expiryInvocations).toBe(bench.steadyState.expiryInvocationsForHealthyAgents);
    expect(measured.counts.expiryInvocations).toBe(0);
    // One read and one conditional write of the record per heartbeat, as the bench's store rates say.
    expect(measured.dynamo.recordWrites / measured.counts.heartbeats).toBeCloseTo(1, 2);
  }, 120_000);

  it('docs/capacity.md and its chart are what the calculator writes now (npm run capacity -- --doc)', async () => {
    const { markdown, svg } = await buildDocument(() => undefined);
    expect(await formatted(markdown)).toBe(readFileSync(DOCUMENT_PATH, 'utf8'));
    expect(svg).toBe(readFileSync(CHART_PATH, 'utf8'));
  }, 300_000);
});
