import { describe, expect, it } from 'vitest';
import type { AgentReport } from '../../drill/fleet-worker.js';
import { type Line, judgeDrill } from '../../drill/judge.js';
import { DRILLS } from '../../drill/scenarios.js';

// The drill's verdict is what operators act on in a game day: it must fail when the guard fails.
const T = Date.UTC(2026, 0, 15, 10, 0, 0);
const LIMITS = { maxDeferMs: 30_000, graceMs: 4_000, onTimeSlackMs: 2_000 };

const agent = (agentId: string, diedAt: number | null): AgentReport => ({
  agentId,
  diedAt,
  lastAccepted: T,
  sent: 10,
  accepted: 10,
  failures: {},
});
const expiry = (agentId: string, lateMs: number, marks: Record<string, boolean> = {}): Line => ({
  message: 'agent expired',
  agentId,
  expiredAt: new Date(T).toISOString(),
  detectedAt: new Date(T + lateMs).toISOString(),
  suspectedPipelineOutage: false,
  massExpiry: false,
  ...marks,
});
const fleet = [agent('a', T), agent('b', null), agent('c', null)];

describe('judging a drill', () => {
  it('passes an outage drill when only the dead expired, by the bound', () => {
    const verdict = judgeDrill(DRILLS['ingest-down'], fleet, [expiry('a', 25_000)], LIMITS);
    expect(verdict.failures).toEqual([]);
    expect(verdict.figures).toMatchObject({ died: 1, expired: 1, worstLatenessSeconds: 25 });
  });

  it('fails on a false expiry, a missed one, a duplicate, or lateness past the bound', () => {
    const judge = (lines: Line[]) => judgeDrill(DRILLS['store-down'], fleet, lines, LIMITS).failures;
    expect(judge([expiry('a', 5_000), expiry('b', 5_000)])).toEqual(['1 agents expired that kept reporting']);
    expect(judge([])).toEqual(['1 agents stopped and were never expired']);
    expect(judge([expiry('a', 5_000), expiry('a', 6_000)])).toEqual(['1 expiries reported twice']);
    expect(judge([expiry('a', 31_000)])).toEqual([
      'an expiry came 31000 ms after its deadline, past the bound (30000 ms)',
    ]);
  });

  it('fleet-dies: on time, none deferred, each marked massExpiry', () => {
    const judge = (lines: Line[]) => judgeDrill(DRILLS['fleet-dies'], fleet, lines, LIMITS).failures;
    expect(judge([expiry('a', 4_500, { massExpiry: true })])).toEqual([]);
    expect(judge([expiry('a', 4_500)])).toEqual(['1 expiries not marked massExpiry']);
    expect(judge([expiry('a', 7_000, { massExpiry: true })])).toEqual([
      'an expiry came 7000 ms after its deadline (on time: 6000 ms)',
    ]);
    const deferred = { message: 'expiry deferred: pipeline degraded', agentId: 'a' };
    expect(judge([deferred, expiry('a', 4_500, { massExpiry: true })])).toEqual([
      '1 expiries deferred: the guard hid a real partial outage',
    ]);
  });

  it('power-cut: every expiry marked both ways, and the minute summaries account for them', () => {
    const all = [agent('a', T), agent('b', T)];
    const marked = { suspectedPipelineOutage: true, massExpiry: true };
    const lines = [expiry('a', 25_000, marked), expiry('b', 25_000, marked)];
    const summary = (expired: number): Line => ({
      message: 'mass expiry: agents expired together',
      minuteStart: new Date(T).toISOString(),
      expired,
    });
    expect(judgeDrill(DRILLS['power-cut'], all, [...lines, summary(2)], LIMITS).failures).toEqual([]);
    expect(judgeDrill(DRILLS['power-cut'], all, [...lines, summary(1)], LIMITS).failures).toEqual([
      'the minute summaries say 1, 2 were marked',
    ]);
    expect(
      judgeDrill(
        DRILLS['power-cut'],
        all,
        [expiry('a', 25_000, marked), expiry('b', 5_000), summary(1)],
        LIMITS,
      ).failures,
    ).toEqual(['1 expiries not marked suspectedPipelineOutage', '1 expiries not marked massExpiry']);
  });
});
