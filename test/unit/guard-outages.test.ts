import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryAgentStore } from '../../functions/adapters/memory/agent-store.js';
import { FINAL_LEAD_MS } from '../../functions/core/decide-expiry.js';
import { BackendUnavailableError } from '../../functions/core/errors.js';
import { DEFERRED_MESSAGE } from '../../functions/core/handle-expiry.js';
import { MASS_SUMMARY_MESSAGE } from '../../functions/core/mass-expiry.js';
import type { GuardSettings } from '../../functions/core/ports.js';
import { AWS_TIMING } from '../../functions/core/timing.js';
import { SimulatedFleet } from '../support/fleet-sim.js';

// The service's own outage must not expire the fleet (issue 9): the deployed handlers, the fleet
// pulse and the expiry guard in virtual time, with an hour of healthy history first.
const MINUTE = 60_000;
const START = Date.UTC(2030, 0, 1);
const AGENTS = 300;
const INTERVAL = 30;
const TTL = 90;
const OUTAGE_FROM = START + 70 * MINUTE;
const OUTAGE_MS = 3 * TTL * 1000;
const GUARD: GuardSettings = {
  bucketMs: 10_000,
  degradedShare: 0.5,
  baselineMs: 60 * MINUTE,
  minBaselinePerBucket: 10,
  massShare: 0.2,
  maxDeferMs: 600_000,
  recheckMs: 60_000,
};
const GRACE_MS = AWS_TIMING.graceMs;

const DURING_OUTAGE = (now: number) => now >= OUTAGE_FROM && now < OUTAGE_FROM + OUTAGE_MS;

/**
 * A memory store that is unreachable while `down` says so: every call fails as an unavailable
 * backend (a 503 for ingest, a failed firing). `clock` is the simulation's, set once it exists.
 */
function outageStore(down: (now: number) => boolean) {
  const time = { now: () => 0 };
  const store = new Proxy(new MemoryAgentStore(), {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (down(time.now())) throw new BackendUnavailableError('store', 'simulated store outage');
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, time };
}

function fleet(options: {
  ingestDown?: (now: number) => boolean;
  schedulerDown?: (now: number) => boolean;
  freeze?: { from: number; to: number };
  silentFrom?: (agent: number) => number;
  store?: MemoryAgentStore;
}) {
  return new SimulatedFleet({
    store: options.store ?? new MemoryAgentStore(),
    agents: AGENTS,
    intervalSeconds: INTERVAL,
    ttlSeconds: TTL,
    reconcileMinutes: 5,
    start: START,
    guard: GUARD,
    ...options,
  });
}

function expiryLines(sim: SimulatedFleet) {
  return sim.log.withMessage('agent expired').map((line) => ({
    agentId: String(line.attributes.agentId),
    lateMs: Date.parse(String(line.attributes.detectedAt)) - Date.parse(String(line.attributes.expiredAt)),
    suspected: line.attributes.suspectedPipelineOutage,
    mass: line.attributes.massExpiry,
  }));
}

/** The per-minute summaries: one per minute, however many instances and runs looked. */
function summaries(sim: SimulatedFleet) {
  const lines = sim.log.withMessage(MASS_SUMMARY_MESSAGE).map((line) => ({
    minuteStart: String(line.attributes.minuteStart),
    expired: Number(line.attributes.expired),
  }));
  expect(new Set(lines.map((line) => line.minuteStart)).size).toBe(lines.length);
  return lines;
}

describe('the expiry guard through outages of the service itself', () => {
  it('ingest down for 3 x TTL: no agent that reports again is expired; the really silent ones expire, late by at most the bound', async () => {
    // A tenth of the fleet dies as the outage begins; the rest report again once it is over.
    const dead = (agent: number) => agent % 10 === 0;
    const sim = fleet({
      ingestDown: (now) => now >= OUTAGE_FROM && now < OUTAGE_FROM + OUTAGE_MS,
      silentFrom: (agent) => (dead(agent) ? OUTAGE_FROM : Number.POSITIVE_INFINITY),
    });
    await sim.run(OUTAGE_FROM + OUTAGE_MS + 20 * MINUTE);
    const lines = expiryLines(sim);
    const deadIds = new Set(
      Array.from({ length: AGENTS }, (_, a) => a)
        .filter(dead)
        .map((a) => sim.agentId(a)),
    );
    expect(lines.filter((line) => !deadIds.has(line.agentId))).toEqual([]); // no false expiry
    expect(new Set(lines.map((line) => line.agentId))).toEqual(deadIds); // none missed
    for (const line of lines) {
      expect(line.lateMs).toBeLessThanOrEqual(GUARD.maxDeferMs);
      expect(line.suspected).toBe(true); // their silence fell in the outage: it cannot tell
    }
    expect(sim.log.withMessage(DEFERRED_MESSAGE).length).toBeGreaterThan(0);
  }, 60_000);

  // A tenth of the fleet dies as each outage begins; the rest report again once it is over.
  const dead = (agent: number) => agent % 10 === 0;
  const silentFrom = (agent: number) => (dead(agent) ? OUTAGE_FROM : Number.POSITIVE_INFINITY);
  const expectOnlyTheDead = (sim: SimulatedFleet) => {
    const lines = expiryLines(sim);
    const deadIds = new Set(
      Array.from({ length: AGENTS }, (_, a) => a)
        .filter(dead)
        .map((a) => sim.agentId(a)),
    );
    expect(lines.filter((line) => !deadIds.has(line.agentId))).toEqual([]); // no false expiry
    expect(new Set(lines.map((line) => line.agentId))).toEqual(deadIds); // none missed
    for (const line of lines) expect(line.lateMs).toBeLessThanOrEqual(GUARD.maxDeferMs);
    return lines;
  };

  it('the store down for 3 x TTL (heartbeats 503, firings failing into the DLQ): the same', async () => {
    const { store, time } = outageStore(DURING_OUTAGE);
    const sim = fleet({ store, silentFrom });
    time.now = sim.clock.now;
    const report = await sim.run(OUTAGE_FROM + OUTAGE_MS + 20 * MINUTE);
    expect(report.heartbeats.worstStatus).toBe(503); // the outage reached the agents
    expectOnlyTheDead(sim);
  }, 60_000);

  it('the scheduler down for 3 x TTL (heartbeats still recorded): no false expiry, the silent ones by the bound', async () => {
    const sim = fleet({ schedulerDown: DURING_OUTAGE, silentFrom });
    await sim.run(OUTAGE_FROM + OUTAGE_MS + 20 * MINUTE);
    expectOnlyTheDead(sim);
  }, 60_000);

  it('the whole service frozen for 3 x TTL, its timers firing all at once when it resumes: the same', async () => {
    const sim = fleet({ freeze: { from: OUTAGE_FROM, to: OUTAGE_FROM + OUTAGE_MS }, silentFrom });
    await sim.run(OUTAGE_FROM + OUTAGE_MS + 20 * MINUTE);
    expectOnlyTheDead(sim);
  }, 60_000);

  it('a fifth of the fleet really dies while the service is healthy: each expires on time, none deferred, each marked massExpiry, with the per-minute summary', async () => {
    const dies = (agent: number) => agent % 5 === 0;
    const sim = fleet({ silentFrom: (agent) => (dies(agent) ? OUTAGE_FROM : Number.POSITIVE_INFINITY) });
    await sim.run(OUTAGE_FROM + 15 * MINUTE);
    const lines = expiryLines(sim);
    expect(lines).toHaveLength(AGENTS / 5);
    for (const line of lines) {
      expect(line.lateMs).toBeLessThanOrEqual(GRACE_MS + 1_000);
      expect(line.suspected).toBe(false);
      expect(line.mass).toBe(true);
    }
    expect(sim.log.withMessage(DEFERRED_MESSAGE)).toEqual([]);
    // Written by a later look (the reconciler's run at the latest), summing to every expiry.
    const minutes = summaries(sim);
    expect(minutes.length).toBeGreaterThan(0);
    expect(minutes.reduce((sum, m) => sum + m.expired, 0)).toBe(AGENTS / 5);
  }, 60_000);

  it('a tenth of the fleet dies: each expires on time, not marked massExpiry, and no summary', async () => {
    const dies = (agent: number) => agent % 10 === 3;
    const sim = fleet({ silentFrom: (agent) => (dies(agent) ? OUTAGE_FROM : Number.POSITIVE_INFINITY) });
    await sim.run(OUTAGE_FROM + 15 * MINUTE);
    const lines = expiryLines(sim);
    expect(lines).toHaveLength(AGENTS / 10);
    for (const line of lines) {
      expect(line.lateMs).toBeLessThanOrEqual(GRACE_MS + 1_000);
      expect(line.mass).toBe(false);
    }
    expect(summaries(sim)).toEqual([]);
  }, 60_000);

  it('a power cut (every agent stops, the service healthy): all expire, late by at most the bound, marked', async () => {
    const sim = fleet({ silentFrom: () => OUTAGE_FROM });
    await sim.run(OUTAGE_FROM + 20 * MINUTE);
    const lines = expiryLines(sim);
    expect(new Set(lines.map((line) => line.agentId)).size).toBe(AGENTS);
    for (const line of lines) {
      expect(line.lateMs).toBeLessThanOrEqual(GUARD.maxDeferMs);
      expect(line.lateMs).toBeGreaterThanOrEqual(GUARD.maxDeferMs - FINAL_LEAD_MS);
      expect(line.suspected).toBe(true);
      expect(line.mass).toBe(true);
    }
    // One summary per minute of the expiries, together saying how many.
    const minutes = summaries(sim);
    expect(minutes.reduce((sum, m) => sum + m.expired, 0)).toBe(AGENTS);
  }, 60_000);
});

describe('the expiry guard, property', () => {
  it('random outages (ingest down, frozen, scheduler down), deaths and firings: no agent that reports again after it is expired, none on an older lastSeen than an accepted heartbeat (I2), no deferral past the bound', async () => {
    const outage = fc.record({
      kind: fc.constantFrom('ingest', 'freeze', 'scheduler'),
      startMinute: fc.integer({ min: 35, max: 50 }),
      // Shorter than the bound: a service frozen for longer cannot act within it, and on resume
      // expires (marked) what fell due before it froze.
      seconds: fc.integer({ min: 30, max: 540 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(outage, { minLength: 1, maxLength: 2 }),
        fc.integer({ min: 0, max: 9 }),
        fc.integer({ min: 30, max: 60 }),
        async (outages, deadEvery, deathMinute) => {
          const windows = outages.map((o) => ({
            kind: o.kind,
            from: START + o.startMinute * MINUTE,
            to: START + o.startMinute * MINUTE + o.seconds * 1000,
          }));
          const during = (kind: string) => (now: number) =>
            windows.some((w) => w.kind === kind && now >= w.from && now < w.to);
          const frozen = windows.find((w) => w.kind === 'freeze');
          const sim = new SimulatedFleet({
            store: new MemoryAgentStore(),
            agents: 100,
            intervalSeconds: INTERVAL,
            ttlSeconds: TTL,
            reconcileMinutes: 5,
            start: START,
            guard: GUARD,
            ingestDown: during('ingest'),
            schedulerDown: during('scheduler'),
            ...(frozen === undefined ? {} : { freeze: { from: frozen.from, to: frozen.to } }),
            silentFrom: (agent) =>
              deadEvery > 0 && agent % deadEvery === 0
                ? START + deathMinute * MINUTE
                : Number.POSITIVE_INFINITY,
          });
          const report = await sim.run(START + 80 * MINUTE);
          expect(report.falseExpiries).toBe(0);
          const dies = (agentId: string) => deadEvery > 0 && Number(agentId.slice(4)) % deadEvery === 0;
          const lines = expiryLines(sim);
          // Every other agent reports again within its interval of the outage's end: none expires.
          expect(lines.filter((line) => !dies(line.agentId))).toEqual([]);
          for (const line of lines) expect(line.lateMs).toBeLessThanOrEqual(GUARD.maxDeferMs);
        },
      ),
      { numRuns: 8, seed: 20261202 },
    );
  }, 120_000);
});
