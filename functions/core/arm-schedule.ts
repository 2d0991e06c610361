import type { CoreDeps } from './record-heartbeat.js';
import { VersionConflictError } from './errors.js';
import { scheduleNameFor } from './schedule-name.js';
import { toIso } from './time.js';

const FORGET_ATTEMPTS = 3;

/** Writes the agent's one schedule (an upsert of its name). */
export function armSchedule(deps: CoreDeps, agentId: string, fireAt: number): Promise<void> {
  return deps.scheduler.upsert({
    name: scheduleNameFor(agentId),
    fireAt,
    payload: { agentId, armedFor: toIso(fireAt) },
  });
}

/**
 * For a request that may have written the schedule and then failed before its record write
 * committed: the scheduler may now hold a time that no stored record names, possibly later than
 * the stored deadline (a missed expiry). Two ways out, tried in turn, both safe whatever is stored:
 * - a schedule that fires now: an early firing is always safe, since the expiry handler re-reads
 *   the record and arms exactly what it names, and it replaces whatever time may have landed;
 * - if the scheduler refuses that too, the record is told it does not know its schedule
 *   (armedFor: null), so the next heartbeat or firing arms one for certain.
 * Best effort: with both backends down there is nothing left to do here.
 */
export async function recoverUnknownSchedule(deps: CoreDeps, agentId: string): Promise<void> {
  try {
    await armSchedule(deps, agentId, deps.clock.now());
    return;
  } catch {
    // fall through to the record
  }
  for (let attempt = 0; attempt < FORGET_ATTEMPTS; attempt++) {
    try {
      const stored = await deps.store.get(agentId);
      if (stored === undefined || stored.record.state !== 'alive' || stored.record.armedFor === null) return;
      await deps.store.replace({ ...stored.record, armedFor: null }, stored.version);
      return;
    } catch (error) {
      if (!(error instanceof VersionConflictError)) return;
    }
  }
}
