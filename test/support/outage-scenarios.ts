import { describe, expect, it } from 'vitest';
import type { AgentStore, CheckpointStore, MassExpiryStore, PulseStore } from '../../functions/core/ports.js';
import { AWS_TIMING } from '../../functions/core/timing.js';
import { type FleetOptions, SimulatedFleet } from './fleet-sim.js';

const MINUTE = 60_000;
const START = Date.UTC(2030, 0, 1);
const TTL = 90;
const INTERVAL = 30;
const RECONCILE_MINUTES = 5;
const PRECISION_MS = 60_000;
const GRACE_SECONDS = AWS_TIMING.graceMs / 1000;
/** I3 with a lost timer: the first reconciler run after deadline + grace + precision. */
const BOUND_SECONDS = GRACE_SECONDS + (PRECISION_MS + RECONCILE_MINUTES * MINUTE) / 1000;

/**
 * The outage shapes issue 7 names, through the deployed handlers in virtual time, on any store:
 * a Scheduler API brownout of 5 x TTL, the scheduler deleting a schedule after its invocation
 * returned (deleting the handler's re-arm), and firings lost to the dead-letter queue.
 */
export function describeOutages(
  storeName: string,
  makeStore: () => Promise<AgentStore & CheckpointStore & PulseStore & MassExpiryStore>,
  agents: number,
) {
  const fleet = async (options: Partial<FleetOptions>) =>
    new SimulatedFleet({
      store: await makeStore(),
      agents,
      intervalSeconds: INTERVAL,
      ttlSeconds: TTL,
      reconcileMinutes: RECONCILE_MINUTES,
      precisionMs: PRECISION_MS,
      start: START,
      ...options,
    });
  // A fifth of the fleet dies at minute 12, a tenth at minute 25; the rest report throughout.
  const silentFrom = (agent: number) =>
    agent % 10 < 2 ? START + 12 * MINUTE : agent % 10 === 2 ? START + 25 * MINUTE : Number.POSITIVE_INFINITY;
  const dying = Array.from({ length: agents }, (_, agent) => silentFrom(agent)).filter(
    Number.isFinite,
  ).length;

  describe(`outages (${storeName}, ${agents} agents at ${INTERVAL} s / ${TTL} s, reconciler every ${RECONCILE_MINUTES} min)`, () => {
    it('a Scheduler brownout of 5 x TTL fails no heartbeat and expires no healthy agent; agents that die during or after it expire within one reconciler period', async () => {
      const brownout = { from: START + 10 * MINUTE, to: START + 10 * MINUTE + 5 * TTL * 1000 };
      const sim = await fleet({
        silentFrom,
        schedulerDown: (now) => now >= brownout.from && now < brownout.to,
      });
      const report = await sim.run(START + 60 * MINUTE);
      expect(report.scheduleFailures).toBeGreaterThan(0);
      expect(report.heartbeats.failed).toBe(0);
      expect(report.falseExpiries).toBe(0);
      expect(report.missedExpiries).toBe(0);
      expect(report.expired).toBe(dying);
      expect(report.worstLateSeconds).toBeLessThanOrEqual(BOUND_SECONDS);
    });

    it('the scheduler deleting each schedule after its invocation returned (the re-arm with it) leaves no agent unexpired: late by one reconciler period at most', async () => {
      const sim = await fleet({ silentFrom, deleteAfterFire: 'after-return' });
      const report = await sim.run(START + 60 * MINUTE);
      expect(report.falseExpiries).toBe(0);
      expect(report.missedExpiries).toBe(0);
      expect(report.expired).toBe(dying);
      expect(report.worstLateSeconds).toBeLessThanOrEqual(BOUND_SECONDS);
      // The early firing's re-arm was deleted, so these came from the reconciler.
      expect(report.worstLateSeconds).toBeGreaterThan(PRECISION_MS / 1000);
    });

    it('firings lost to the dead-letter queue leave no agent unexpired: late by one reconciler period at most', async () => {
      const sim = await fleet({ silentFrom, dropFiring: () => true });
      const report = await sim.run(START + 60 * MINUTE);
      expect(report.falseExpiries).toBe(0);
      expect(report.missedExpiries).toBe(0);
      expect(report.expired).toBe(dying);
      expect(report.worstLateSeconds).toBeLessThanOrEqual(BOUND_SECONDS);
    });

    it('with nothing lost, expiries come from the schedules, the grace after the deadline', async () => {
      const sim = await fleet({ silentFrom });
      const report = await sim.run(START + 60 * MINUTE);
      expect(report.falseExpiries).toBe(0);
      expect(report.expired).toBe(dying);
      expect(report.worstLateSeconds).toBeGreaterThanOrEqual(GRACE_SECONDS);
      expect(report.worstLateSeconds).toBeLessThanOrEqual(GRACE_SECONDS + 1);
    });
  });
}
