import { type AgentRecord, type Transition, MAX_TRANSITIONS, deadlineOf } from './agent.js';
import type { Heartbeat } from './heartbeat.js';
import { type ExpiryTiming, expiresAt } from './timing.js';

export type HeartbeatOutcome = 'registered' | 'refreshed' | 'recovered' | 'stale';

export interface HeartbeatDecision {
  outcome: HeartbeatOutcome;
  /** The record as it should be stored (the current one, unchanged, for a stale report). */
  next: AgentRecord;
  /** False when the report changes nothing (a duplicate or reordered heartbeat). */
  write: boolean;
  /**
   * Fire time to write to the scheduler first, or null when the armed schedule is still good.
   * `next.armedFor` assumes that write succeeds; the write protocol corrects it when it does not.
   */
  arm: number | null;
}

/**
 * Decides what one heartbeat does to an agent (pure).
 *
 * `scheduled` is the fire time the scheduler is known to hold: the record's `armedFor`, or null
 * when there is none or it is unknown. After this request wrote a schedule and then lost a race,
 * another writer may have written after us, so the caller passes null and the schedule is
 * written again: the last writer to the scheduler is then also the last to commit.
 */
export function decideHeartbeat(
  current: AgentRecord | undefined,
  heartbeat: Heartbeat,
  now: number,
  scheduled: number | null,
  timing: ExpiryTiming,
): HeartbeatDecision {
  if (current !== undefined && isStale(current, heartbeat)) {
    // Nothing to record, but if this request moved the schedule before learning that (or the
    // record knows none), put back the one the record names (or arm one), and commit the
    // unchanged record so that we are the last to have written both (a writer that armed
    // meanwhile then conflicts and arms again).
    const mustRestore = current.state === 'alive' && (scheduled === null || scheduled !== current.armedFor);
    const latest = expiresAt(current, timing);
    return {
      outcome: 'stale',
      next: current,
      write: mustRestore,
      arm: mustRestore ? Math.min(current.armedFor ?? latest, latest) : null,
    };
  }

  // Server receive time, never moved backwards by a slow request racing a fast one (I4).
  const lastSeen = Math.max(current?.lastSeen ?? 0, now);
  // An announced downtime moves this deadline later, once: the next heartbeat sets it back.
  const deadline =
    deadlineOf({ lastSeen, ttlSeconds: heartbeat.ttlSeconds }) + (heartbeat.maintenanceSeconds ?? 0) * 1000;
  const fireAt = expiresAt({ deadline }, timing);
  const arm = scheduleStillGood(scheduled, fireAt, heartbeat) ? null : fireAt;
  const becameAlive = current === undefined || current.state !== 'alive';

  return {
    // A deregistered agent that reports is registered again: it never went down.
    outcome:
      current === undefined || current.state === 'deregistered'
        ? 'registered'
        : current.state === 'alive'
          ? 'refreshed'
          : 'recovered',
    write: true,
    arm,
    next: {
      schemaVersion: 2,
      agentId: heartbeat.agentId,
      state: 'alive',
      bootId: heartbeat.bootId,
      seq: heartbeat.seq,
      lastSeen,
      ttlSeconds: heartbeat.ttlSeconds,
      intervalSeconds: heartbeat.intervalSeconds,
      deadline,
      armedFor: arm ?? scheduled,
      expiredAt: null,
      detectedAt: null,
      expiredBy: null,
      checks: heartbeat.checks,
      labels: heartbeat.labels,
      transitions: becameAlive
        ? appendTransition(current?.transitions ?? [], { state: 'alive', at: lastSeen })
        : (current?.transitions ?? []),
      // Undelivered events stay until whoever committed them (or the reconciler) delivers them.
      outbox: current?.outbox ?? [],
    },
  };
}

/**
 * Coalesced arming (DESIGN.md §4): a schedule armed for A still serves fire time D (the deadline
 * plus the grace) when D - slack <= A <= D. It never fires late, and if it fires early the expiry
 * handler re-arms.
 * slack = ttl - 1.5 * interval keeps A at least 1.5 intervals after this heartbeat: a healthy
 * agent's next heartbeat, even half an interval late, moves the schedule before it fires (zero
 * expiry invocations), while at 30 s / 90 s only every second heartbeat writes the schedule.
 */
function scheduleStillGood(scheduled: number | null, fireAt: number, heartbeat: Heartbeat): boolean {
  if (scheduled === null) return false;
  const slackMs = Math.max(0, heartbeat.ttlSeconds - 1.5 * heartbeat.intervalSeconds) * 1000;
  return scheduled <= fireAt && scheduled >= fireAt - slackMs;
}

/**
 * A report from the same boot with a sequence number we have already seen is a retry or arrived
 * late. Without a bootId a restart (seq back to 0) cannot be told from a reordered report, so
 * sequence numbers are compared only within a known boot: an agent that sends seq but no bootId
 * is never ignored, rather than ignored after every restart until it counts past its old seq.
 */
function isStale(current: AgentRecord, heartbeat: Heartbeat): boolean {
  return (
    heartbeat.bootId !== null &&
    heartbeat.bootId === current.bootId &&
    heartbeat.seq !== null &&
    current.seq !== null &&
    heartbeat.seq <= current.seq
  );
}

export function appendTransition(transitions: readonly Transition[], transition: Transition): Transition[] {
  return [...transitions, transition].slice(-MAX_TRANSITIONS);
}
