import type { AgentRecord } from './agent.js';
import { decideExpiry } from './decide-expiry.js';
import { BackendUnavailableError, VersionConflictError } from './errors.js';
import type { CoreDeps } from './record-heartbeat.js';
import { MAX_ATTEMPTS } from './record-heartbeat.js';
import { scheduleNameFor } from './schedule-name.js';
import { toIso } from './time.js';

export type ExpiryResult =
  | { kind: 'ignored'; reason: 'unknown-agent' | 'not-alive' }
  | { kind: 'rearmed'; fireAt: number }
  | { kind: 'expired'; record: AgentRecord; expiredAt: number; detectedAt: number };

/**
 * Expiry use case, run when an agent's schedule fires: read -> decide -> (re-arm | expire) with a
 * conditional write. A heartbeat that lands between our read and write makes the write conflict;
 * we re-read and decide again, so a racing heartbeat never turns into a false expiry (I2).
 */
export async function handleExpiry(
  deps: CoreDeps,
  agentId: string,
  invocationId: string,
): Promise<ExpiryResult> {
  let wroteSchedule = false;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const stored = await deps.store.get(agentId);
    if (stored === undefined) return { kind: 'ignored', reason: 'unknown-agent' };
    const decision = decideExpiry(stored.record, deps.clock.now(), invocationId);

    try {
      if (decision.kind === 'ignore') {
        // Having re-armed in an earlier attempt, we must be the last to commit (as in ingest), so
        // a heartbeat that armed meanwhile conflicts and arms again after our schedule write.
        if (wroteSchedule) await deps.store.replace(stored.record, stored.version);
        return { kind: 'ignored', reason: decision.reason };
      }
      if (decision.kind === 'rearm') {
        // Schedule before record, as in ingest: the record never names a schedule that was not written.
        await deps.scheduler.upsert({
          name: scheduleNameFor(agentId),
          fireAt: decision.fireAt,
          payload: { agentId, armedFor: toIso(decision.fireAt) },
        });
        wroteSchedule = true;
        await deps.store.replace(decision.next, stored.version);
        return { kind: 'rearmed', fireAt: decision.fireAt };
      }
      const expired = {
        kind: 'expired',
        expiredAt: decision.expiredAt,
        detectedAt: decision.detectedAt,
      } as const;
      try {
        return { ...expired, record: (await deps.store.replace(decision.next, stored.version)).record };
      } catch (error) {
        // The write may have been applied although we heard an error (a timeout, or an SDK retry
        // of a write that had committed, which then fails its own condition). If the record was
        // expired by this invocation, the expiry is ours: report it, so its one log line is written.
        const after = await deps.store.get(agentId).catch(() => undefined);
        if (after?.record.state === 'expired' && after.record.expiredBy === invocationId) {
          return { ...expired, record: after.record };
        }
        throw error;
      }
    } catch (error) {
      if (error instanceof VersionConflictError) continue;
      throw error;
    }
  }
  throw new BackendUnavailableError('store', `agent ${agentId} is being updated concurrently; retry`);
}
