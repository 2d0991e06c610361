/**
 * A Scheduler API brownout in virtual time: 1,000 agents at 30 s / 90 s through the deployed
 * handlers, every scheduler call failing for 5 x TTL, a fifth of the fleet dying during it.
 * Returns what agents and on-call saw: heartbeats answered, false and missed expiries, lateness.
 */
import { MemoryAgentStore } from '../functions/adapters/memory/agent-store.js';
import { SimulatedFleet } from '../test/support/fleet-sim.js';

export async function brownoutFigures(agents = 1_000) {
  const start = Date.UTC(2030, 0, 1);
  const minute = 60_000;
  const from = start + 10 * minute;
  const to = from + 5 * 90_000;
  const sim = new SimulatedFleet({
    store: new MemoryAgentStore(),
    agents,
    intervalSeconds: 30,
    ttlSeconds: 90,
    reconcileMinutes: 5,
    start,
    schedulerDown: (now) => now >= from && now < to,
    // A fifth dies two minutes into the brownout, a tenth after it.
    silentFrom: (agent) =>
      agent % 10 < 2 ? from + 2 * minute : agent % 10 === 2 ? to + 5 * minute : Number.POSITIVE_INFINITY,
  });
  const report = await sim.run(start + 60 * minute);
  return {
    agents,
    brownoutSeconds: (to - from) / 1000,
    heartbeatsAnswered200: report.heartbeats.ok,
    heartbeatsAnswered5xx: report.heartbeats.failed,
    falseExpiries: report.falseExpiries,
    missedExpiries: report.missedExpiries,
    expired: report.expired,
    worstLateSeconds: report.worstLateSeconds,
    schedulerCallsFailed: report.scheduleFailures,
  };
}
