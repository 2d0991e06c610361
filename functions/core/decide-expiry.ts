import type { AgentRecord } from './agent.js';
import { appendTransition } from './decide-heartbeat.js';

export type ExpiryDecision =
  | { kind: 'ignore'; reason: 'not-alive' }
  /** Fired before the deadline (coalesced arming, or an old firing): arm for the real deadline. */
  | { kind: 'rearm'; fireAt: number; next: AgentRecord }
  | { kind: 'expire'; next: AgentRecord; expiredAt: number; detectedAt: number };

/**
 * Decides what one expiry invocation does (pure). The firing's own armedFor is deliberately not
 * trusted to mean "superseded": under concurrent writers the scheduler may hold an earlier time
 * than the record names, and ignoring an early firing could leave an alive agent with no
 * schedule at all. Re-arming is an idempotent upsert of the one name, so it is always safe.
 */
export function decideExpiry(current: AgentRecord, now: number, invocationId: string): ExpiryDecision {
  // Already expired (a duplicate delivery, I5) or deregistered: nothing to do, nothing to log.
  if (current.state !== 'alive') return { kind: 'ignore', reason: 'not-alive' };

  if (now < current.deadline) {
    const fireAt = current.deadline;
    // Written even when armedFor is unchanged: the conditional write is what tells us whether a
    // heartbeat committed (with a newer schedule) while we re-armed from an older read.
    return { kind: 'rearm', fireAt, next: { ...current, armedFor: fireAt } };
  }

  return {
    kind: 'expire',
    expiredAt: current.deadline,
    detectedAt: now,
    next: {
      ...current,
      state: 'expired',
      // The deadline that passed, not when it was noticed: on-call needs when the agent went silent.
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
    },
  };
}
