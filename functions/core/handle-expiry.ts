import type { AgentRecord, DetectedBy } from './agent.js';
import { type ExpiryDecision, decideExpiry } from './decide-expiry.js';
import { type PulseAssessment, assessPulse } from './expiry-guard.js';
import { toIso } from './time.js';
import { deliverEvents } from './deliver-events.js';
import type { Budget, CoreDeps, ExpiryGuardDeps } from './ports.js';
import { type Step, done, writeAgent } from './write-protocol.js';
import { callOptions } from './budget.js';
import { type MaintenanceWindow, effectiveEnd } from './maintenance.js';
import { expiresAt } from './timing.js';

export type ExpiryResult =
  | { kind: 'ignored'; reason: 'unknown-agent' | 'not-alive' }
  /** armedFor null: the re-arm failed and the record says so; the reconciler arms one. */
  | { kind: 'rearmed'; armedFor: number | null }
  /** Due, but the service seemed deaf: looked at again at armedFor (or by the reconciler). */
  | { kind: 'deferred'; armedFor: number | null }
  /** Due, but covered by a maintenance window: looked at again after its end plus the TTL. */
  | { kind: 'held'; armedFor: number | null }
  | { kind: 'expired'; record: AgentRecord };

export interface ExpiryOutcome {
  result: ExpiryResult;
  /** On-call lines this invocation wrote: its own expiry, or one an earlier attempt committed. */
  reported: number;
}

/**
 * Expiry use case, for a firing of the agent's schedule or the reconciler: read -> decide ->
 * (re-arm | expire) through the write protocol. A heartbeat that lands between our read and write
 * makes the write conflict; we re-read and decide again, so a racing heartbeat never turns into a
 * false expiry (I2). A re-arm that fails commits "no schedule known" instead of failing (I6).
 *
 * Then the invocation delivers the events it committed (I9): its expiry line, written once the
 * expiry is stored. Lambda retries a failed invocation with the same request id, so a retry whose
 * first attempt committed the expiry and then died finds the event under its own id and delivers
 * it; another delivery of the same firing has another id, finds the agent expired and writes
 * nothing (I5).
 *
 * With the expiry guard (deps.guard), a due agent whose silence the service itself barely heard
 * (core/expiry-guard.ts) is deferred instead: re-armed, one WARN line, at most until its deadline
 * plus the bound, after which it is expired marked suspectedPipelineOutage. A heartbeat meanwhile
 * moves its deadline: it never went down, and nothing is logged for it.
 *
 * With maintenance windows (deps.maintenance), a due agent covered by an active window is held
 * instead: its deadline moves to the window's end plus its TTL, one INFO line. The windows are
 * read only for a due or held agent, after its record.
 */
export async function handleExpiry(
  deps: CoreDeps,
  agentId: string,
  invocationId: string,
  budget: Budget,
  detectedBy: DetectedBy = 'schedule',
): Promise<ExpiryOutcome> {
  const pulse = deps.guard === undefined ? undefined : await readPulse(deps, deps.guard, budget);
  let seen: AgentRecord | undefined;
  let deferral: Extract<ExpiryDecision, { kind: 'defer' }> | undefined;
  let hold: Extract<ExpiryDecision, { kind: 'hold' }> | undefined;
  // The maintenance windows, read only when the record shows they matter (the agent is due, or
  // held by one), and read after the record: a window created before this decision counts.
  let windows: readonly MaintenanceWindow[] | undefined;
  const attempt = () =>
    writeAgent<ExpiryResult | 'need-windows'>(deps, agentId, budget, (current, { now }) => {
      seen = current;
      deferral = undefined;
      hold = undefined;
      if (current === undefined) return done({ kind: 'ignored', reason: 'unknown-agent' });
      if (deps.maintenance !== undefined && windows === undefined && windowsMatter(current, now, deps)) {
        return done('need-windows');
      }
      const guard =
        deps.guard === undefined || pulse === undefined
          ? undefined
          : { assessment: pulse(current, now), settings: deps.guard.settings };
      const decision = decideExpiry(current, now, invocationId, detectedBy, deps.timing, guard, windows);
      return stepFor(decision, invocationId, (chosen) => {
        if (chosen.kind === 'defer') deferral = chosen;
        if (chosen.kind === 'hold') hold = chosen;
      });
    });
  let result = await attempt();
  if (result === 'need-windows' && deps.maintenance !== undefined) {
    // Unreadable windows fail the invocation (retried, then the reconciler): an agent that may be
    // covered is not expired on a guess.
    windows = (await deps.maintenance.readWindows(callOptions(budget, 'store'))).windows;
    result = await attempt();
  }
  if (result === 'need-windows') throw new Error(`expiry of ${agentId} asked for the windows twice: a bug`);

  if (hold !== undefined && result.kind === 'held') logHold(deps, hold, result.armedFor);
  if (result.kind === 'deferred' && deferral !== undefined && seen !== undefined) {
    logDeferral(deps, seen, deferral, result.armedFor);
  }
  const record = result.kind === 'expired' ? result.record : seen;
  const reported =
    record === undefined
      ? 0
      : await deliverEvents(deps, record, (event) => event.by === invocationId, budget);
  if (result.kind === 'expired' && deps.guard !== undefined && isMassExpiry(result.record, invocationId)) {
    await deps.guard.tally.counted(budget);
    await deps.guard.tally.summarize(budget);
  }
  return { result, reported };
}

/** The write for a decision; `chose` learns the decision that is being written. */
function stepFor(
  decision: ExpiryDecision,
  invocationId: string,
  chose: (decision: ExpiryDecision) => void,
): Step<ExpiryResult> {
  chose(decision);
  switch (decision.kind) {
    case 'ignore':
      return done({ kind: 'ignored', reason: decision.reason });
    case 'defer':
      return {
        kind: 'write',
        next: decision.next,
        arm: decision.fireAt,
        armLimit: decision.limit,
        result: (committed) => ({ kind: 'deferred', armedFor: committed.armedFor }),
      };
    case 'hold':
      return {
        kind: 'write',
        next: decision.next,
        arm: decision.fireAt,
        result: (committed) => ({ kind: 'held', armedFor: committed.armedFor }),
      };
    case 'rearm':
      return {
        kind: 'write',
        next: decision.next,
        arm: decision.fireAt,
        result: (committed) => ({ kind: 'rearmed', armedFor: committed.armedFor }),
      };
    case 'expire':
      return {
        kind: 'write',
        next: decision.next,
        // Found after an error, even once a heartbeat has recovered the agent since: its expired
        // transition, for this deadline, carries this invocation's id, so the expiry is ours and
        // must be reported.
        isOurs: (found) =>
          found.transitions.some(
            (t) => t.state === 'expired' && t.by === invocationId && t.at === decision.next.expiredAt,
          ),
        result: (committed) => ({ kind: 'expired', record: committed }),
      };
  }
}

/** Whether the decision needs the maintenance windows: the agent is due, or a window holds it. */
function windowsMatter(record: AgentRecord, now: number, deps: CoreDeps): boolean {
  return (
    record.state === 'alive' && (record.maintenance !== undefined || now >= expiresAt(record, deps.timing))
  );
}

function logHold(
  deps: CoreDeps,
  hold: Extract<ExpiryDecision, { kind: 'hold' }>,
  armedFor: number | null,
): void {
  deps.metrics.count('MaintenanceHolds');
  deps.log.info(HELD_MESSAGE, {
    agentId: hold.next.agentId,
    windowId: hold.window.id,
    reason: hold.window.reason,
    windowEnd: toIso(effectiveEnd(hold.window)),
    lastSeen: toIso(hold.next.lastSeen),
    // It expires then if it has not reported by that time (the window's end plus its TTL).
    deadline: toIso(hold.next.deadline),
    recheckAt: armedFor === null ? null : toIso(armedFor),
  });
}

export const HELD_MESSAGE = 'expiry held: maintenance window';

/** Whether the expiry this invocation committed is marked part of a mass expiry. */
function isMassExpiry(record: AgentRecord, invocationId: string): boolean {
  return record.outbox.some(
    (event) =>
      event.type === 'agent.expired' && event.by === invocationId && event.report.massExpiry === true,
  );
}

/**
 * The pulse this invocation judges by, read once (and shared with the instance's other
 * decisions for a bucket). A pulse that cannot be read cannot clear the service: the expiry is
 * deferred, as for a deaf one, and the bound still reports it.
 */
async function readPulse(
  deps: CoreDeps,
  guard: ExpiryGuardDeps,
  budget: Budget,
): Promise<(current: AgentRecord, now: number) => PulseAssessment> {
  try {
    const counts = await guard.reader.counts(budget);
    return (current, now) => assessPulse(counts, current, now, guard.settings);
  } catch (error) {
    deps.metrics.count('PulseReadFailures');
    deps.log.warn('pulse unreadable; due expiries are deferred until it reads again or the bound', { error });
    return () => ({
      degraded: true,
      heardPerBucket: 0,
      baselinePerBucket: null,
      windowBuckets: 0,
      massSilence: false,
      unreadable: true,
    });
  }
}

function logDeferral(
  deps: CoreDeps,
  record: AgentRecord,
  deferral: Extract<ExpiryDecision, { kind: 'defer' }>,
  armedFor: number | null,
): void {
  deps.metrics.count('ExpiriesDeferred');
  deps.log.warn(DEFERRED_MESSAGE, {
    agentId: record.agentId,
    lastSeen: toIso(record.lastSeen),
    deadline: toIso(record.deadline),
    // When it is looked at again (null: the re-arm failed; the reconciler looks), and the latest
    // it can be expired, marked suspectedPipelineOutage, if the service still hears too little.
    recheckAt: armedFor === null ? null : toIso(armedFor),
    expiresAtLatest: toIso(deferral.limit),
    ...deferral.assessment,
  });
}

export const DEFERRED_MESSAGE = 'expiry deferred: pipeline degraded';
