import type { AgentRecord } from './agent.js';
import { appendTransition } from './decide-heartbeat.js';
import type { Budget, CoreDeps } from './ports.js';
import { toIso } from './time.js';
import { done, writeAgent } from './write-protocol.js';

export type DeregisterResult =
  | { kind: 'unknown' }
  /** `already`: it was deregistered before this request, which changed nothing (idempotent). */
  | { kind: 'deregistered'; record: AgentRecord; already: boolean };

/**
 * Deregisters an agent (a decommissioned server): state `deregistered`, its schedule deleted, so
 * it never expires; a later heartbeat registers it again. Through the write protocol, so it is
 * safe beside heartbeats and firings: the schedule is deleted before the conditional write
 * (Step.disarm), and a firing that still comes finds the agent not alive and does nothing.
 */
export async function deregisterAgent(
  deps: CoreDeps,
  agentId: string,
  invocationId: string,
  budget: Budget,
): Promise<DeregisterResult> {
  let previous: AgentRecord['state'] | undefined;
  const result = await writeAgent<DeregisterResult>(deps, agentId, budget, (current, { now }) => {
    if (current === undefined) return done({ kind: 'unknown' });
    if (current.state === 'deregistered')
      return done({ kind: 'deregistered', record: current, already: true });
    previous = current.state;
    return {
      kind: 'write',
      disarm: true,
      next: {
        ...current,
        state: 'deregistered',
        armedFor: null,
        transitions: appendTransition(current.transitions, {
          state: 'deregistered',
          at: now,
          by: invocationId,
        }),
      },
      result: (committed) => ({ kind: 'deregistered', record: committed, already: false }),
    };
  });
  if (result.kind === 'deregistered' && !result.already) {
    deps.metrics.count('AgentsDeregistered');
    deps.log.info(DEREGISTERED_MESSAGE, {
      agentId,
      previousState: previous,
      lastSeen: toIso(result.record.lastSeen),
      deregisteredBy: invocationId,
    });
  }
  return result;
}

export const DEREGISTERED_MESSAGE = 'agent deregistered';
