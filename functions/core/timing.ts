import type { AgentRecord } from './agent.js';

/**
 * Why an agent is declared expired a little after its deadline rather than at it (DESIGN.md I2).
 * A heartbeat is decided, then (when it must move the schedule) waits on the scheduler, then
 * writes its record: while it waits, the agent's firing may read the old record. If the firing
 * could expire the agent at its deadline, a heartbeat received just before the deadline could
 * lose to it, and on-call would be told of an agent that reported in time. So:
 * - every heartbeat commits within `commitWindowMs` of its receipt, or is answered 503 and not
 *   recorded (the agent retries): its whole budget is that window;
 * - an agent is declared expired only `graceMs` after its deadline, and `graceMs` exceeds the
 *   window. An expiry that commits must then have read the record after any heartbeat received
 *   before the deadline had committed (or its conditional write fails), so only a heartbeat
 *   received after the deadline can come too late, and that expiry is real.
 * Schedules fire at `deadline + graceMs`, so the grace costs no extra invocation; `expiredAt`
 * stays the deadline that passed.
 */
export interface ExpiryTiming {
  /** A heartbeat commits within this long of its receipt, or fails. */
  commitWindowMs: number;
  /** An agent expires this long after its deadline; more than the commit window. */
  graceMs: number;
}

/** Deployed: the scheduler's own precision is 60 s, so 6 s more is invisible to on-call. */
export const AWS_TIMING: ExpiryTiming = { commitWindowMs: 5_000, graceMs: 6_000 };
/** The local runner's store is in-process: a few seconds is ample even on a loaded machine. */
export const LOCAL_TIMING: ExpiryTiming = { commitWindowMs: 3_000, graceMs: 4_000 };

/** When the agent may be declared expired, and when its schedule should fire. */
export function expiresAt(record: Pick<AgentRecord, 'deadline'>, timing: ExpiryTiming): number {
  return record.deadline + timing.graceMs;
}

/** Refuses timing that would let a heartbeat received in time lose to an expiry. */
export function assertTiming(timing: ExpiryTiming): void {
  if (!(timing.commitWindowMs > 0 && timing.graceMs > timing.commitWindowMs)) {
    throw new RangeError(
      `expiry timing needs 0 < commitWindowMs (${timing.commitWindowMs}) < graceMs (${timing.graceMs})`,
    );
  }
}
