import type { DrillPlan } from './scenarios.js';
import type { AgentReport } from './fleet-worker.js';

/** What the drill's service logged: its JSON lines, as objects. */
export type Line = { message: string } & Record<string, unknown>;

export interface DrillLimits {
  maxDeferMs: number;
  /** Expiries come this long after the deadline (the local expiry grace). */
  graceMs: number;
  /** On time: within the grace and this much more. */
  onTimeSlackMs: number;
}

export interface DrillFigures {
  agents: number;
  died: number;
  expired: number;
  /** Agents expired that never stopped reporting (they reported again after the outage). */
  falseExpiries: string[];
  /** Agents that stopped for good and were never expired. */
  missedExpiries: string[];
  deferrals: number;
  deferredAgents: number;
  /** The latest expiry after its deadline, in seconds (the grace included). */
  worstLatenessSeconds: number | null;
  markedSuspected: number;
  markedMass: number;
  summaries: { minuteStart: string; expired: number }[];
  deadLettered: number;
}

export interface DrillVerdict {
  figures: DrillFigures;
  /** Why the guard failed the drill; empty when it passed. */
  failures: string[];
}

/** Judges a drill from what the fleet did and what the service logged (pure). */
export function judgeDrill(
  plan: DrillPlan,
  fleet: AgentReport[],
  lines: Line[],
  limits: DrillLimits,
): DrillVerdict {
  const dead = new Set(fleet.filter((a) => a.diedAt !== null).map((a) => a.agentId));
  const expiries = lines.filter((line) => line.message === 'agent expired');
  const expiredIds = new Set(expiries.map((line) => String(line.agentId)));
  const deferrals = lines.filter((line) => line.message === 'expiry deferred: pipeline degraded');
  const lateness = expiries.map(
    (line) => Date.parse(String(line.detectedAt)) - Date.parse(String(line.expiredAt)),
  );
  const worst = lateness.length === 0 ? null : Math.max(...lateness);
  const figures: DrillFigures = {
    agents: fleet.length,
    died: dead.size,
    expired: expiries.length,
    falseExpiries: [...expiredIds].filter((id) => !dead.has(id)).sort(),
    missedExpiries: [...dead].filter((id) => !expiredIds.has(id)).sort(),
    deferrals: deferrals.length,
    deferredAgents: new Set(deferrals.map((line) => String(line.agentId))).size,
    worstLatenessSeconds: worst === null ? null : worst / 1000,
    markedSuspected: expiries.filter((line) => line.suspectedPipelineOutage === true).length,
    markedMass: expiries.filter((line) => line.massExpiry === true).length,
    summaries: lines
      .filter((line) => line.message === 'mass expiry: agents expired together')
      .map((line) => ({ minuteStart: String(line.minuteStart), expired: Number(line.expired) })),
    deadLettered: lines.filter((line) => line.message === 'expiry delivery failed; dead-lettered').length,
  };

  const failures: string[] = [];
  const fail = (condition: boolean, why: string) => {
    if (condition) failures.push(why);
  };
  fail(
    figures.falseExpiries.length > 0,
    `${figures.falseExpiries.length} agents expired that kept reporting`,
  );
  fail(
    figures.missedExpiries.length > 0,
    `${figures.missedExpiries.length} agents stopped and were never expired`,
  );
  fail(expiries.length > expiredIds.size, `${expiries.length - expiredIds.size} expiries reported twice`);
  if (plan.expect === 'on-time') {
    const onTime = limits.graceMs + limits.onTimeSlackMs;
    fail(
      worst !== null && worst > onTime,
      `an expiry came ${worst} ms after its deadline (on time: ${onTime} ms)`,
    );
    fail(
      figures.deferrals > 0,
      `${figures.deferrals} expiries deferred: the guard hid a real partial outage`,
    );
    fail(
      figures.markedMass < expiries.length,
      `${expiries.length - figures.markedMass} expiries not marked massExpiry`,
    );
  } else {
    fail(
      worst !== null && worst > limits.maxDeferMs,
      `an expiry came ${worst} ms after its deadline, past the bound (${limits.maxDeferMs} ms)`,
    );
  }
  if (plan.expect === 'bounded') {
    fail(
      figures.markedSuspected < expiries.length,
      `${expiries.length - figures.markedSuspected} expiries not marked suspectedPipelineOutage`,
    );
    const summarized = figures.summaries.reduce((sum, s) => sum + s.expired, 0);
    fail(
      summarized !== figures.markedMass,
      `the minute summaries say ${summarized}, ${figures.markedMass} were marked`,
    );
    fail(
      figures.markedMass < expiries.length,
      `${expiries.length - figures.markedMass} expiries not marked massExpiry`,
    );
  }
  return { figures, failures };
}
