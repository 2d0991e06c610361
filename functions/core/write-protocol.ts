import { isDeepStrictEqual } from 'node:util';
import type { AgentRecord, StoredAgent } from './agent.js';
import { callOptions } from './budget.js';
import { BackendUnavailableError, VersionConflictError } from './errors.js';
import type { Budget, CoreDeps } from './ports.js';
import { scheduleNameFor } from './schedule-name.js';
import { toIso } from './time.js';
import { expiresAt } from './timing.js';

/** What one decision asks of the protocol. */
export type Step<R> =
  | { kind: 'done'; result: R }
  | {
      kind: 'write';
      /** The record to store. When `arm` is set, its armedFor is replaced by the arm's outcome. */
      next: AgentRecord;
      /** Write the agent's schedule for this time first (best effort: see writeAgent). */
      arm?: number;
      /**
       * The latest the schedule may fire: the record's expiry time unless a deferral (the expiry
       * guard) names a later one, bounded by its own limit.
       */
      armLimit?: number;
      /**
       * Delete the agent's schedule first (a deregistration): nothing is to fire for the record
       * written. Best effort: a schedule left behind fires and is ignored, the agent not alive.
       * Deleting before the conditional write keeps a heartbeat that races it correct: one that
       * commits first makes our write conflict (we decide and delete again); one that commits
       * after us re-registers the agent and writes its own schedule.
       */
      disarm?: boolean;
      /** Whether a record read back after an ambiguous failure is this write (default: equal). */
      isOurs?: (found: AgentRecord) => boolean;
      result: (committed: AgentRecord) => R;
    };

export interface DecideContext {
  /** The clock, read after the record: a heartbeat that lost to an expiry really came after it. */
  now: number;
  /**
   * False once this invocation has written (or tried to write) the schedule: another writer may
   * have written it after us, so a decision must not keep "the armed schedule" without arming.
   */
  scheduleKnown: boolean;
}

export type Decide<R> = (current: AgentRecord | undefined, context: DecideContext) => Step<R>;

export const done = <R>(result: R): Step<R> => ({ kind: 'done', result });

/**
 * Conflicting writers for one agent: each round of a race lets at least one through, so this
 * allows about as many concurrent writers (a heartbeat, its retries, a firing, the reconciler)
 * before answering 503; more than that for one agent means something is wrong.
 */
export const MAX_ATTEMPTS = 10;

/**
 * A schedule write may use at most this share of what is left, and this long at most, so the
 * record write after it always has time: the schedule is a hint, the record is the truth.
 */
const ARM_SHARE = 0.4;
const ARM_CAP_MS = 3_000;

/**
 * The one write protocol (DESIGN.md §4), used by ingest, expiry, reporting and the reconciler:
 * read -> decide (pure) -> optional arm -> conditional write -> on an error, read back and
 * recognise one's own write -> on a conflict, decide again; every step within `budget`.
 *
 * Why the schedule is written before the record, and why a failed schedule write never fails the
 * request (I6): the record must never vouch for a schedule that does not exist or fires after the
 * agent's expiry time (its deadline plus the grace, core/timing.ts). Writing the schedule first
 * means a committed armedFor names a schedule that was written. When the write fails (or its
 * outcome is unknown: a timeout after the scheduler applied it), the record keeps the schedule it
 * had if that one has not fired yet and fires no later than the new expiry time. Whatever the
 * scheduler now holds, that one or ours (also no later), it fires in time, early at worst, and an
 * early firing re-arms. Otherwise the record says armedFor: null, "no schedule known", which the
 * next heartbeat, firing or reconciler run repairs. Either way the record is written: only a
 * store that cannot take it fails the request.
 *
 * After a lost race, an invocation that wrote the schedule decides with scheduleKnown = false,
 * so it writes the schedule again for its final decision: another writer may have written after
 * it, and the last writer to commit must also be the last to have written the schedule.
 *
 * If the record write then fails for good, the scheduler may hold our time, later than what the
 * stored record vouches for; undoSchedule replaces it with one that fires now (always safe).
 * Every step asks `budget` first; a heartbeat's budget is also its commit window (core/timing.ts).
 */
export async function writeAgent<R>(
  deps: CoreDeps,
  agentId: string,
  budget: Budget,
  decide: Decide<R>,
): Promise<R> {
  const request = { scheduleWritten: false };
  try {
    return await attempts(deps, agentId, budget, decide, request);
  } catch (error) {
    if (request.scheduleWritten) await undoSchedule(deps, agentId, budget);
    throw error;
  }
}

async function attempts<R>(
  deps: CoreDeps,
  agentId: string,
  budget: Budget,
  decide: Decide<R>,
  request: { scheduleWritten: boolean },
): Promise<R> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const stored = await deps.store.get(agentId, callOptions(budget, 'store'));
    const now = deps.clock.now();
    const step = decide(stored?.record, { now, scheduleKnown: !request.scheduleWritten });
    if (step.kind === 'done') return step.result;

    let next = step.next;
    if (step.disarm === true) {
      // If our write then fails for good, undoSchedule puts back one that fires now: safe.
      request.scheduleWritten = true;
      await tryDisarm(deps, agentId, budget);
    }
    if (step.arm !== undefined) {
      const latest = step.armLimit ?? expiresAt(next, deps.timing);
      if (step.arm > latest) {
        throw new Error(`decision for ${agentId} arms after its own expiry time: a bug in the decision`);
      }
      const kept = request.scheduleWritten ? null : keptSchedule(stored?.record, latest, now);
      request.scheduleWritten = true;
      const armed = await tryArm(deps, agentId, step.arm, budget);
      next = { ...next, armedFor: armed ? step.arm : kept };
    }

    const isOurs = step.isOurs ?? ((found: AgentRecord) => isDeepStrictEqual(found, next));
    try {
      return step.result((await save(deps, stored, next, budget)).record);
    } catch (error) {
      // It may have been applied all the same: a timeout after the store committed, or an SDK
      // retry of a write that had committed, which then fails its own condition. It is ours if
      // the version moved on and the record is what we wrote (isOurs); the version check keeps a
      // write of an unchanged record from reading back as applied when it never was.
      const found = await readBack(deps, agentId, budget);
      if (found !== undefined && found.version !== stored?.version && isOurs(found.record)) {
        return step.result(found.record);
      }
      if (error instanceof VersionConflictError) continue;
      throw error;
    }
  }
  throw new BackendUnavailableError('store', `agent ${agentId} is being updated concurrently; retry`);
}

/**
 * The schedule the stored record vouches for, if it still serves the new record whatever our
 * failed write did: it has not fired yet and fires no later than the new expiry time `latest`
 * (our write, had it landed, would fire at or before that too). Null otherwise: "none known".
 */
function keptSchedule(stored: AgentRecord | undefined, latest: number, now: number): number | null {
  const armed = stored?.state === 'alive' ? stored.armedFor : null;
  return armed !== null && armed > now && armed <= latest ? armed : null;
}

/** Writes the agent's one schedule (an upsert of its name); false if that failed or may have. */
async function tryArm(deps: CoreDeps, agentId: string, fireAt: number, budget: Budget): Promise<boolean> {
  try {
    const options = callOptions(budget, 'scheduler', Math.min(ARM_CAP_MS, budget.remainingMs() * ARM_SHARE));
    await deps.scheduler.upsert(
      { name: scheduleNameFor(agentId), fireAt, payload: { agentId, armedFor: toIso(fireAt) } },
      options,
    );
    deps.metrics.count('ScheduleWrites');
    return true;
  } catch (error) {
    deps.metrics.count('ScheduleWriteFailures');
    // An outage (throttling past the retries, 5xx, a stalled socket) is expected now and then and
    // costs at most a late expiry; anything else (access denied, a missing group) is a
    // misconfiguration, and an error line makes it visible while heartbeats still get recorded.
    const level = error instanceof BackendUnavailableError ? 'warn' : 'error';
    deps.log[level]('schedule write failed; the record keeps only a schedule it can vouch for', {
      agentId,
      fireAt: toIso(fireAt),
      error,
    });
    return false;
  }
}

/** Deletes the agent's one schedule; a failure is logged, never thrown (see Step.disarm). */
async function tryDisarm(deps: CoreDeps, agentId: string, budget: Budget): Promise<void> {
  try {
    const options = callOptions(budget, 'scheduler', Math.min(ARM_CAP_MS, budget.remainingMs() * ARM_SHARE));
    await deps.scheduler.delete(scheduleNameFor(agentId), options);
  } catch (error) {
    deps.log.warn('schedule delete failed; it fires once and is ignored', { agentId, error });
  }
}

function save(deps: CoreDeps, stored: StoredAgent | undefined, next: AgentRecord, budget: Budget) {
  const options = callOptions(budget, 'store');
  return stored === undefined
    ? deps.store.create(next, options)
    : deps.store.replace(next, stored.version, options);
}

function readBack(deps: CoreDeps, agentId: string, budget: Budget): Promise<StoredAgent | undefined> {
  try {
    return deps.store.get(agentId, callOptions(budget, 'store')).catch(() => undefined);
  } catch {
    return Promise.resolve(undefined); // no time left to look
  }
}

/**
 * Best effort, for a request that wrote the schedule and then failed: a schedule that fires now
 * replaces whatever time may have landed (an early firing is always safe: the expiry handler
 * re-reads the record and arms what it names). If even that fails, the reconciler finds the agent
 * once its deadline has passed.
 */
async function undoSchedule(deps: CoreDeps, agentId: string, budget: Budget): Promise<void> {
  try {
    const fireAt = deps.clock.now();
    await deps.scheduler.upsert(
      { name: scheduleNameFor(agentId), fireAt, payload: { agentId, armedFor: toIso(fireAt) } },
      callOptions(budget, 'scheduler'),
    );
  } catch {
    // nothing more to do within this request
  }
}
