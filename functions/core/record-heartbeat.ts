import { isDeepStrictEqual } from 'node:util';
import type { AgentRecord, StoredAgent } from './agent.js';
import type { Clock } from './clock.js';
import { type HeartbeatOutcome, decideHeartbeat } from './decide-heartbeat.js';
import { BackendUnavailableError, VersionConflictError } from './errors.js';
import type { Heartbeat } from './heartbeat.js';
import type { AgentStore, ExpiryScheduler } from './ports.js';
import { scheduleNameFor } from './schedule-name.js';
import { toIso } from './time.js';

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
 * The schedule is written before the record. If the schedule write fails nothing has been
 * written, so the record never names a schedule the scheduler lacks (I6). If the record write
 * then fails for any reason but a lost race, settleFailedWrite looks at what was stored before
 * deciding what the schedule must be. A lost race re-reads and decides again; if we had already written a
 * schedule, the retry writes it again, since another writer may have overwritten it meanwhile.
 * The invariant this keeps: every request that writes the schedule ends with a successful
 * conditional write of the record (or gives up with an error). So the last schedule write for an
 * agent is by the writer whose record was committed last, and the scheduler holds the time the
 * record names.
 */
export async function recordHeartbeat(deps: CoreDeps, heartbeat: Heartbeat): Promise<HeartbeatResult> {
  const name = scheduleNameFor(heartbeat.agentId);
  let wroteSchedule = false;
  let lastWritten: number | undefined;
  let scheduleWrites = 0;

  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const stored = await deps.store.get(heartbeat.agentId);
    const current = stored?.record;
    // Read the clock per attempt: if an expiry won the race, this heartbeat really came after it.
    const known = wroteSchedule ? null : (current?.armedFor ?? null);
    const decision = decideHeartbeat(current, heartbeat, deps.clock.now(), known);

    if (decision.arm !== null) {
      await deps.scheduler.upsert({
        name,
        fireAt: decision.arm,
        payload: { agentId: heartbeat.agentId, armedFor: toIso(decision.arm) },
      });
      wroteSchedule = true;
      lastWritten = decision.arm;
      scheduleWrites++;
    }
    if (!decision.write) {
      const result = { outcome: decision.outcome, record: decision.next, previous: current, scheduleWrites };
      if (!wroteSchedule || stored === undefined) return result;
      // We wrote the schedule in this request, so we must also be the last to commit: rewrite the
      // unchanged record conditionally. If another writer committed meanwhile this conflicts and we
      // decide again; if it succeeds, any later writer's own conditional write fails and it re-arms.
      try {
        await deps.store.replace(stored.record, stored.version);
        return result;
      } catch (error) {
        if (error instanceof VersionConflictError) continue;
        throw error;
      }
    }

    let saved: StoredAgent;
    try {
      saved = await save(deps, stored, decision.next);
    } catch (error) {
      if (error instanceof VersionConflictError) continue;
      saved = await settleFailedWrite(deps, name, decision.next, lastWritten, error);
    }
    return { outcome: decision.outcome, record: saved.record, previous: current, scheduleWrites };
  }
  throw new BackendUnavailableError(
    'store',
    `agent ${heartbeat.agentId} is being updated concurrently; retry`,
  );
}

function save(deps: CoreDeps, stored: StoredAgent | undefined, next: AgentRecord): Promise<StoredAgent> {
  return stored === undefined ? deps.store.create(next) : deps.store.replace(next, stored.version);
}

/**
 * A record write failed with something other than a lost race. It may have been applied all the
 * same (a timeout after the server committed), so look before touching the scheduler:
 * - the record holds exactly what we wrote: it was applied, and the heartbeat succeeded;
 * - otherwise, if the record is alive and names an earlier fire time than the one we wrote, put
 *   that one back, so the schedule never fires after the record's deadline (earlier is safe: an
 *   early firing re-arms);
 * - never delete: a firing for an agent that is missing or not alive is ignored, while a delete
 *   could remove the schedule of a record whose write lands after all, and that agent would
 *   never expire.
 * If the store cannot be read either, the schedule stays as written and the error stands.
 */
async function settleFailedWrite(
  deps: CoreDeps,
  name: string,
  intended: AgentRecord,
  written: number | undefined,
  storeError: unknown,
): Promise<StoredAgent> {
  let now: StoredAgent | undefined;
  try {
    now = await deps.store.get(intended.agentId);
  } catch {
    throw storeError;
  }
  if (now !== undefined && isDeepStrictEqual(now.record, intended)) return now;
  const named = now?.record.state === 'alive' ? now.record.armedFor : null;
  if (written !== undefined && named !== null && named < written) {
    try {
      await deps.scheduler.upsert({
        name,
        fireAt: named,
        payload: { agentId: intended.agentId, armedFor: toIso(named) },
      });
    } catch (restoreError) {
      throw new BackendUnavailableError(
        'store',
        'the store write failed and the previous schedule could not be restored',
        1,
        {
          cause: new AggregateError([storeError, restoreError]),
        },
      );
    }
  }
  throw storeError;
}
