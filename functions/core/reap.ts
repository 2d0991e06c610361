import * as z from 'zod/mini';
import type { AgentRecord, AgentState } from './agent.js';
import { callOptions } from './budget.js';
import { announce } from './deliver-events.js';
import { InvalidCursorError, VersionConflictError } from './errors.js';
import { LINES, eventIdOf } from './events.js';
import type { AgentDeleter, Budget, CheckpointStore, CoreDeps, PublishedEvent } from './ports.js';
import { toIso } from './time.js';

export const REAPER_CHECKPOINT = 'reaper';
export const REAPED_MESSAGE = LINES['Agent Reaped'].message;

/** The states whose records are reaped once old enough; never `alive`. */
const REAPED_STATES = ['expired', 'deregistered'] as const satisfies readonly AgentState[];

export interface ReapOptions {
  /** Records expired or deregistered longer than this are deleted. */
  reapAfterMs: number;
  invocationId: string;
  budget: Budget;
  /** Listing pages per run, over both states: a long backlog is worked off over runs. */
  pages?: number;
  pageSize?: number;
}

export interface ReapReport {
  listed: number;
  reaped: number;
  errors: number;
}

export type ReapDeps = Pick<CoreDeps, 'store' | 'clock' | 'log' | 'metrics' | 'events'> & {
  checkpoints: CheckpointStore;
  deleter: AgentDeleter;
};

const positionSchema = z.object({ state: z.enum(REAPED_STATES), cursor: z.nullable(z.string()) });
type Position = z.infer<typeof positionSchema>;
const START: Position = { state: 'expired', cursor: null };

/**
 * Deletes agents expired or deregistered longer than `reapAfterMs` (issue 10), a few listing
 * pages per reconciler run, resuming where the last run stopped. Never an alive agent: each
 * candidate is read again and deleted only if that read still shows it old and not alive, with
 * a conditional delete on that read's version, so a heartbeat in between (which registers or
 * recovers it, and changes the version) cancels the reap. A record with undelivered events is
 * kept until they are delivered. One INFO line and one event per reaped agent.
 */
export async function reap(deps: ReapDeps, options: ReapOptions): Promise<ReapReport> {
  const report: ReapReport = { listed: 0, reaped: 0, errors: 0 };
  const { budget } = options;
  let position = parsePosition(
    await deps.checkpoints.loadCheckpoint(REAPER_CHECKPOINT, callOptions(budget, 'store')),
  );
  try {
    for (let page = 0; page < (options.pages ?? 5) && budget.remainingMs() > 0; page++) {
      let listed;
      try {
        listed = await deps.store.listByState(
          position.state,
          { limit: options.pageSize ?? 100, cursor: position.cursor },
          callOptions(budget, 'store'),
        );
      } catch (error) {
        // A saved position this store cannot read (another version's) starts that state again.
        if (!(error instanceof InvalidCursorError) || position.cursor === null) throw error;
        position = { ...position, cursor: null };
        continue;
      }
      report.listed += listed.items.length;
      for (const record of listed.items) {
        if (budget.remainingMs() <= 0) break;
        if (isDue(record, deps.clock.now(), options.reapAfterMs))
          await reapOne(deps, record, options, report);
      }
      position = listed.cursor !== null ? { ...position, cursor: listed.cursor } : nextState(position);
    }
  } finally {
    await deps.checkpoints
      .saveCheckpoint(REAPER_CHECKPOINT, JSON.stringify(position), callOptions(budget, 'store'))
      .catch((error: unknown) => deps.log.warn('could not save the reaper position', { error }));
  }
  return report;
}

async function reapOne(deps: ReapDeps, listed: AgentRecord, options: ReapOptions, report: ReapReport) {
  try {
    const fresh = await deps.store.get(listed.agentId, callOptions(options.budget, 'store'));
    if (fresh === undefined || !isDue(fresh.record, deps.clock.now(), options.reapAfterMs)) return;
    await deps.deleter.deleteAgent(listed.agentId, fresh.version, callOptions(options.budget, 'store'));
    report.reaped++;
    // No record keeps this event: published once here, with the SDK's retries (at most once if
    // this process dies now; a failure is counted and alarmed like every other).
    const record = fresh.record;
    const at = deps.clock.now();
    await announce(deps, [reapedEvent(record, at, options.invocationId)], options.budget, {
      agentId: record.agentId,
    });
  } catch (error) {
    if (error instanceof VersionConflictError) return; // it reported meanwhile: not ours to delete
    report.errors++;
    deps.log.warn('could not reap an agent; a later pass tries again', { agentId: listed.agentId, error });
  }
}

/** Expired or deregistered longer than the age, with nothing left to deliver. */
function isDue(record: AgentRecord, now: number, reapAfterMs: number): boolean {
  return (
    (record.state === 'expired' || record.state === 'deregistered') &&
    record.outbox.length === 0 &&
    since(record) <= now - reapAfterMs
  );
}

function reapedEvent(record: AgentRecord, at: number, by: string): PublishedEvent {
  const eventId = eventIdOf(record.agentId, 'agent.reaped', by);
  return {
    id: eventId,
    detailType: 'Agent Reaped',
    time: at,
    detail: {
      eventId,
      agentId: record.agentId,
      labels: record.labels,
      at: toIso(at),
      state: record.state === 'deregistered' ? 'deregistered' : 'expired',
      since: toIso(since(record)),
      lastSeen: toIso(record.lastSeen),
      reapedBy: by,
    },
  };
}

/** When the record entered its state: its last transition to it (the expiry's: the deadline). */
function since(record: AgentRecord): number {
  const entered = record.transitions.findLast((t) => t.state === record.state);
  return entered?.at ?? record.expiredAt ?? record.lastSeen;
}

function nextState(position: Position): Position {
  const index = REAPED_STATES.indexOf(position.state);
  return { state: REAPED_STATES[(index + 1) % REAPED_STATES.length] ?? 'expired', cursor: null };
}

/** A position this version cannot read starts the pass again. */
function parsePosition(saved: string | null): Position {
  if (saved === null) return START;
  try {
    return positionSchema.parse(JSON.parse(saved));
  } catch {
    return START;
  }
}
