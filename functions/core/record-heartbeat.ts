import { isDeepStrictEqual } from 'node:util';
import type { AgentRecord, StoredAgent } from './agent.js';
import type { Clock } from './clock.js';
import { type HeartbeatOutcome, decideHeartbeat } from './decide-heartbeat.js';
import { BackendUnavailableError, VersionConflictError } from './errors.js';
import type { Heartbeat } from './heartbeat.js';
import type { AgentStore, ExpiryScheduler } from './ports.js';
import { armSchedule, recoverUnknownSchedule } from './arm-schedule.js';

export interface CoreDeps {
  store: AgentStore;
  scheduler: ExpiryScheduler;
  clock: Clock;
}

export interface HeartbeatResult {
  outcome: HeartbeatOutcome;
  record: AgentRecord;
  /** Previous state, so the caller can log a recovery with what it recovered from. */
  previous: AgentRecord | undefined;
  scheduleWrites: number;
}

/** Re-reads after a lost race are cheap. Each round of a race lets at least one writer through, so
 * this allows about as many concurrent writers for one agent (a heartbeat, its retries, an
 * expiry) before answering 503; more than that for one agent means something is wrong. */
export const MAX_ATTEMPTS = 10;

/**
 * Ingest use case: read -> decide -> arm -> conditional write, retried on a lost race.
 *
 * The schedule is written before the record, so the record never names a schedule that was not
 * written (I6). Every request that writes the schedule then ends in one of two ways:
 * - a successful conditional write of the record (after a lost race it re-reads, decides again
 *   and writes the schedule again, since another writer may have overwritten it meanwhile). So
 *   the last schedule write for an agent is by the writer whose record was committed last, and
 *   the scheduler holds the time the record names;
 * - or an error, after recoverUnknownSchedule has made sure the schedule cannot fire later than
 *   whatever record is stored. A write that failed but did commit is found by reading it back.
 */
export async function recordHeartbeat(deps: CoreDeps, heartbeat: Heartbeat): Promise<HeartbeatResult> {
  const state = { mayHaveWrittenSchedule: false, scheduleWrites: 0 };
  try {
    return await attempts(deps, heartbeat, state);
  } catch (error) {
    if (state.mayHaveWrittenSchedule) await recoverUnknownSchedule(deps, heartbeat.agentId);
    throw error;
  }
}

async function attempts(
  deps: CoreDeps,
  heartbeat: Heartbeat,
  state: { mayHaveWrittenSchedule: boolean; scheduleWrites: number },
): Promise<HeartbeatResult> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const stored = await deps.store.get(heartbeat.agentId);
    const current = stored?.record;
    // Read the clock per attempt: if an expiry won the race, this heartbeat really came after it.
    const known = state.mayHaveWrittenSchedule ? null : (current?.armedFor ?? null);
    const decision = decideHeartbeat(current, heartbeat, deps.clock.now(), known);
    const result = (record: AgentRecord) => ({
      outcome: decision.outcome,
      record,
      previous: current,
      scheduleWrites: state.scheduleWrites,
    });

    if (decision.arm !== null) {
      state.mayHaveWrittenSchedule = true; // a failed write may still have been applied
      await armSchedule(deps, heartbeat.agentId, decision.arm);
      state.scheduleWrites++;
    }
    if (!decision.write) {
      if (!state.mayHaveWrittenSchedule || stored === undefined) return result(decision.next);
      // We wrote the schedule in this request, so we must also be the last to commit: rewrite the
      // unchanged record conditionally. If another writer committed meanwhile this conflicts and we
      // decide again; if it succeeds, any later writer's own conditional write fails and it re-arms.
      try {
        await deps.store.replace(stored.record, stored.version);
        return result(decision.next);
      } catch (error) {
        if (error instanceof VersionConflictError) continue;
        throw error;
      }
    }

    try {
      return result((await save(deps, stored, decision.next)).record);
    } catch (error) {
      // It may have been applied all the same: a timeout after the server committed, or an SDK
      // retry of a write that had committed, which then fails its own condition. Look: a newer
      // version holding exactly our record (lastSeen is this request's own time) is ours.
      const now = await deps.store.get(heartbeat.agentId).catch(() => undefined);
      if (
        now !== undefined &&
        now.version !== stored?.version &&
        isDeepStrictEqual(now.record, decision.next)
      ) {
        return result(now.record);
      }
      if (error instanceof VersionConflictError) continue;
      throw error;
    }
  }
  throw new BackendUnavailableError(
    'store',
    `agent ${heartbeat.agentId} is being updated concurrently; retry`,
  );
}

function save(deps: CoreDeps, stored: StoredAgent | undefined, next: AgentRecord): Promise<StoredAgent> {
  return stored === undefined ? deps.store.create(next) : deps.store.replace(next, stored.version);
}
