import { isDeepStrictEqual } from 'node:util';
import type { AgentRecord } from './agent.js';
import { armSchedule, recoverUnknownSchedule } from './arm-schedule.js';
import { decideExpiry } from './decide-expiry.js';
import { BackendUnavailableError, VersionConflictError } from './errors.js';
import type { CoreDeps } from './record-heartbeat.js';
import { MAX_ATTEMPTS } from './record-heartbeat.js';

export type ExpiryResult =
  | { kind: 'ignored'; reason: 'unknown-agent' | 'not-alive' }
  | { kind: 'rearmed'; fireAt: number }
  | { kind: 'expired'; record: AgentRecord; expiredAt: number; detectedAt: number };

/**
 * Expiry use case, run when an agent's schedule fires: read -> decide -> (re-arm | expire) with a
 * conditional write. A heartbeat that lands between our read and write makes the write conflict;
 * we re-read and decide again, so a racing heartbeat never turns into a false expiry (I2). A
 * re-arm follows the same rule as ingest: it ends with its record write committed, or with
 * recoverUnknownSchedule before the error is thrown (and the invocation is retried).
 */
export async function handleExpiry(
  deps: CoreDeps,
  agentId: string,
  invocationId: string,
): Promise<ExpiryResult> {
  const state = { mayHaveWrittenSchedule: false };
  try {
    return await attempts(deps, agentId, invocationId, state);
  } catch (error) {
    if (state.mayHaveWrittenSchedule) await recoverUnknownSchedule(deps, agentId);
    throw error;
  }
}

async function attempts(
  deps: CoreDeps,
  agentId: string,
  invocationId: string,
  state: { mayHaveWrittenSchedule: boolean },
): Promise<ExpiryResult> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const stored = await deps.store.get(agentId);
    if (stored === undefined) return { kind: 'ignored', reason: 'unknown-agent' };
    const decision = decideExpiry(stored.record, deps.clock.now(), invocationId);

    try {
      if (decision.kind === 'ignore') {
        // Having re-armed in an earlier attempt, we must be the last to commit (as in ingest), so
        // a heartbeat that armed meanwhile conflicts and arms again after our schedule write.
        if (state.mayHaveWrittenSchedule) await deps.store.replace(stored.record, stored.version);
        return { kind: 'ignored', reason: decision.reason };
      }
      if (decision.kind === 'rearm') {
        // Schedule before record, as in ingest: the record never names a schedule that was not written.
        state.mayHaveWrittenSchedule = true;
        await armSchedule(deps, agentId, decision.fireAt);
        await writeOrFindApplied(deps, decision.next, stored.version, (record) =>
          isDeepStrictEqual(record, decision.next),
        );
        return { kind: 'rearmed', fireAt: decision.fireAt };
      }
      // If the expire write was applied although we heard an error (a timeout, or an SDK retry of
      // a write that had committed, which then fails its own condition), its transition carries
      // this invocation's id, even if a heartbeat has recovered the agent since: the expiry is
      // ours, and its one log line must be written.
      const record = await writeOrFindApplied(deps, decision.next, stored.version, (found) =>
        found.transitions.some((t) => t.state === 'expired' && t.by === invocationId),
      );
      return { kind: 'expired', record, expiredAt: decision.expiredAt, detectedAt: decision.detectedAt };
    } catch (error) {
      if (error instanceof VersionConflictError) continue;
      throw error;
    }
  }
  throw new BackendUnavailableError('store', `agent ${agentId} is being updated concurrently; retry`);
}

/**
 * A conditional write; on any error, a read tells whether it was applied all the same: the
 * version moved on and the record is ours. The version check matters: a re-arm to the time the
 * record already names would otherwise read back as "applied" when it never was.
 */
async function writeOrFindApplied(
  deps: CoreDeps,
  next: AgentRecord,
  version: string,
  isOurs: (found: AgentRecord) => boolean,
): Promise<AgentRecord> {
  try {
    return (await deps.store.replace(next, version)).record;
  } catch (error) {
    const found = await deps.store.get(next.agentId).catch(() => undefined);
    if (found !== undefined && found.version !== version && isOurs(found.record)) return found.record;
    throw error;
  }
}
