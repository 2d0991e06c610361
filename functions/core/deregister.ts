import type { AgentRecord } from './agent.js';
import { appendTransition } from './decide-heartbeat.js';
import type { Budget, CoreDeps } from './ports.js';
import { deliverEvents } from './deliver-events.js';
import { LINES, appendEvents } from './events.js';
import { done, writeAgent } from './write-protocol.js';

export type DeregisterResult =
  | { kind: 'unknown' }
  /** `already`: it was deregistered before this request, which changed nothing (idempotent). */
  | { kind: 'deregistered'; record: AgentRecord; already: boolean };

/**
 * Deregisters an agent (a decommissioned server): state `deregistered`, its schedule deleted, so
 * it never expires; a later heartbeat registers it again. Through the write protocol, so it is
 * safe beside heartbeats and firings: the schedule is deleted before the conditional write
 * (Step.disarm), and a firing that still comes finds the agent not alive and does nothing. Its
 * INFO line and event are committed with it and delivered after (core/deliver-events.ts).
 */
export async function deregisterAgent(
  deps: CoreDeps,
  agentId: string,
  invocationId: string,
  budget: Budget,
): Promise<DeregisterResult> {
  const result = await writeAgent<DeregisterResult>(deps, agentId, budget, (current, { now }) => {
    if (current === undefined) return done({ kind: 'unknown' });
    if (current.state === 'deregistered')
      return done({ kind: 'deregistered', record: current, already: true });
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
        outbox: appendEvents(current.outbox, [
          { type: 'agent.deregistered', by: invocationId, at: now, previousState: current.state },
        ]),
      },
      result: (committed) => ({ kind: 'deregistered', record: committed, already: false }),
    };
  });
  // Its line and event, once committed; a retry of this request finds them under its own id.
  if (result.kind === 'deregistered') {
    await deliverEvents(deps, result.record, (event) => event.by === invocationId, budget);
  }
  return result;
}

export const DEREGISTERED_MESSAGE = LINES['Agent Deregistered'].message;
