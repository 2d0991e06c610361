import type { AgentRecord } from './agent.js';
import { type HeartbeatOutcome, decideHeartbeat } from './decide-heartbeat.js';
import type { Heartbeat } from './heartbeat.js';
import type { Budget, CoreDeps } from './ports.js';
import { done, writeAgent } from './write-protocol.js';

export interface HeartbeatResult {
  outcome: HeartbeatOutcome;
  record: AgentRecord;
  /** Previous state, so the caller can log a recovery with what it recovered from. */
  previous: AgentRecord | undefined;
}

/**
 * Ingest use case: the write protocol with the heartbeat decision. It fails only when the record
 * cannot be written (I6): a scheduler that is down or slow costs the agent nothing but, at worst,
 * a record that says "no schedule known" until the next heartbeat, firing or reconciler run.
 */
export function recordHeartbeat(
  deps: CoreDeps,
  heartbeat: Heartbeat,
  budget: Budget,
): Promise<HeartbeatResult> {
  return writeAgent(deps, heartbeat.agentId, budget, (current, { now, scheduleKnown }) => {
    const decision = decideHeartbeat(
      current,
      heartbeat,
      now,
      scheduleKnown ? (current?.armedFor ?? null) : null,
      deps.timing,
    );
    const result = (record: AgentRecord): HeartbeatResult => ({
      outcome: decision.outcome,
      record,
      previous: current,
    });
    if (!decision.write) return done(result(decision.next));
    return {
      kind: 'write',
      next: decision.next,
      ...(decision.arm === null ? {} : { arm: decision.arm }),
      result,
    };
  });
}
