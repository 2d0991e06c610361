import type { AgentRecord, CheckResult, DetectedBy, ExpiryReport } from './agent.js';
import { appendTransition } from './decide-heartbeat.js';
import { appendEvents } from './events.js';
import type { PulseAssessment } from './expiry-guard.js';
import { type MaintenanceWindow, effectiveEnd, maintenanceDeadline } from './maintenance.js';
import type { GuardSettings } from './ports.js';
import { type ExpiryTiming, expiresAt } from './timing.js';

export type ExpiryDecision =
  | { kind: 'ignore'; reason: 'not-alive' }
  /** Fired before the expiry time (coalesced arming, or an old firing): arm for the real one. */
  | { kind: 'rearm'; fireAt: number; next: AgentRecord }
  /**
   * Due, but the service itself seems to have gone deaf during the agent's silence: look again at
   * `fireAt`, never later than `limit` (the deadline plus the longest deferral).
   */
  | { kind: 'defer'; fireAt: number; limit: number; next: AgentRecord; assessment: PulseAssessment }
  /**
   * Due, but covered by an active maintenance window: the deadline moves to the window's end plus
   * the TTL (never the instant it ends), and the schedule with it.
   */
  | { kind: 'hold'; fireAt: number; window: MaintenanceWindow; next: AgentRecord }
  | { kind: 'expire'; next: AgentRecord; report: ExpiryReport };

/** What the expiry guard (core/expiry-guard.ts) found, for a decision that has it. */
export interface GuardInput {
  assessment: PulseAssessment;
  settings: Pick<GuardSettings, 'maxDeferMs' | 'recheckMs'>;
}

/** How long before the deferral's bound its last look comes (see decideExpiry). */
export const FINAL_LEAD_MS = 10_000;

/** Enough of a check's output to tell what failed; the record keeps the whole of it. */
export const REPORT_OUTPUT_CHARS = 256;

/**
 * Decides what one expiry invocation (a firing, or the reconciler) does (pure). A firing's own
 * armedFor is deliberately not trusted to mean "superseded": under concurrent writers the
 * scheduler may hold an earlier time than the record names, and ignoring an early firing could
 * leave an alive agent with no schedule at all. Re-arming is an idempotent upsert of the one
 * name, so it is always safe.
 */
export function decideExpiry(
  stored: AgentRecord,
  now: number,
  invocationId: string,
  detectedBy: DetectedBy,
  timing: ExpiryTiming,
  guard?: GuardInput,
  windows?: readonly MaintenanceWindow[],
): ExpiryDecision {
  // Already expired (a duplicate delivery, I5) or deregistered: nothing to do, nothing to log.
  if (stored.state !== 'alive') return { kind: 'ignore', reason: 'not-alive' };
  let current = windows === undefined ? stored : heldUntilActualEnd(stored, windows);

  // Not before the grace after the deadline: a heartbeat received in time may still be on its
  // way to the store (core/timing.ts).
  const fireAt = expiresAt(current, timing);
  if (now < fireAt) {
    // Written even when armedFor is unchanged: the conditional write is what tells us whether a
    // heartbeat committed (with a newer schedule) while we re-armed from an older read.
    return { kind: 'rearm', fireAt, next: { ...current, armedFor: fireAt } };
  }

  // Covered by a maintenance window since it fell due: not expired while the window lasts, nor at
  // the instant it ends; the agent gets its TTL after the end to report again (maintenance.ts).
  const maintained = windows === undefined ? undefined : maintenanceDeadline(windows, current, now);
  if (maintained !== undefined) {
    const until = effectiveEnd(maintained.window);
    const held: AgentRecord = {
      ...current,
      deadline: maintained.deadline,
      maintenance: { windowId: maintained.window.id, until },
    };
    const holdAt = expiresAt(held, timing);
    if (now < holdAt) {
      return { kind: 'hold', fireAt: holdAt, window: maintained.window, next: { ...held, armedFor: holdAt } };
    }
    // Its window and its TTL after it are over too (a late firing): it expires at that deadline.
    current = held;
  }

  // Deaf, not silent: defer, at most until the deadline plus the bound. Past the bound the
  // expiry is reported anyway, marked, so a real mass failure still reaches on-call.
  let suspectedPipelineOutage = false;
  if (guard?.assessment.degraded === true) {
    const limit = current.deadline + guard.settings.maxDeferMs;
    // The last look comes a little before the bound, so a scheduler that fires a few seconds
    // late (EventBridge: whole seconds, nothing sooner than 5 s out) still lands within it.
    const lastLook = limit - Math.min(guard.settings.recheckMs, FINAL_LEAD_MS);
    if (now < lastLook) {
      const deferTo = Math.min(now + guard.settings.recheckMs, lastLook);
      return {
        kind: 'defer',
        fireAt: deferTo,
        limit,
        next: { ...current, armedFor: deferTo },
        assessment: guard.assessment,
      };
    }
    suspectedPipelineOutage = true;
  }

  const report: ExpiryReport = {
    agentId: current.agentId,
    lastSeen: current.lastSeen,
    ttlSeconds: current.ttlSeconds,
    // The deadline that passed, not when it was noticed: on-call needs when the agent went silent.
    expiredAt: current.deadline,
    detectedAt: now,
    detectedBy,
    bootId: current.bootId,
    failingChecks: current.checks.filter((check) => check.status !== 'pass').map(shortened),
    labels: current.labels,
    ...(suspectedPipelineOutage ? { suspectedPipelineOutage: true as const } : {}),
    ...(guard?.assessment.massSilence === true ? { massExpiry: true as const } : {}),
  };
  return {
    kind: 'expire',
    report,
    next: {
      ...withoutHold(current),
      state: 'expired',
      expiredAt: current.deadline,
      detectedAt: now,
      expiredBy: invocationId,
      // The schedule that fired deletes itself (ActionAfterCompletion DELETE). If a later one is
      // still pending it fires once more and is ignored; deleting it here could race a recovering
      // heartbeat's fresh schedule, which is worse than one wasted invocation.
      armedFor: null,
      transitions: appendTransition(current.transitions, {
        state: 'expired',
        at: current.deadline,
        by: invocationId,
      }),
      // Committed with the expiry, delivered after it (I9): see deliverOwnEvents.
      outbox: appendEvents(current.outbox, [{ type: 'agent.expired', by: invocationId, at: now, report }]),
    },
  };
}

/**
 * A record held by a window that has since ended early: its deadline moves back to the actual end
 * plus its TTL (the hold moved it to the planned end plus the TTL). A window no longer stored
 * (pruned long after its end) leaves the hold as it is.
 */
function heldUntilActualEnd(record: AgentRecord, windows: readonly MaintenanceWindow[]): AgentRecord {
  const hold = record.maintenance;
  const window = hold === undefined ? undefined : windows.find((w) => w.id === hold.windowId);
  if (hold === undefined || window === undefined || effectiveEnd(window) >= hold.until) return record;
  const until = effectiveEnd(window);
  return {
    ...record,
    deadline: Math.min(record.deadline, until + record.ttlSeconds * 1000),
    maintenance: { windowId: hold.windowId, until },
  };
}

function withoutHold(record: AgentRecord): AgentRecord {
  const { maintenance: _hold, ...rest } = record;
  return rest;
}

function shortened(check: CheckResult): CheckResult {
  return check.output === undefined || check.output.length <= REPORT_OUTPUT_CHARS
    ? check
    : { ...check, output: `${check.output.slice(0, REPORT_OUTPUT_CHARS)}…` };
}
