import { randomUUID } from 'node:crypto';
import type { AgentRecord, OutboxEvent } from './agent.js';
import { REPORT_OUTPUT_CHARS } from './decide-expiry.js';
import { type HeartbeatOutcome, decideHeartbeat } from './decide-heartbeat.js';
import { deliverEvents } from './deliver-events.js';
import { appendEvents } from './events.js';
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
 * Ingest use case: the write protocol with the heartbeat decision, then the delivery of the
 * events it committed (registered, recovered, a check changing status). It fails only when the
 * record cannot be written (I6): a scheduler that is down or slow costs the agent nothing but, at
 * worst, a record that says "no schedule known" until the next heartbeat, firing or reconciler
 * run; an event bus that is down costs nothing but a later publication (core/deliver-events.ts).
 * `invocationId` names the events (a Lambda or API request id).
 */
export async function recordHeartbeat(
  deps: CoreDeps,
  heartbeat: Heartbeat,
  budget: Budget,
  invocationId: string = randomUUID(),
): Promise<HeartbeatResult> {
  const result = await writeAgent(deps, heartbeat.agentId, budget, (current, { now, scheduleKnown }) => {
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
    const events = heartbeatEvents(current, decision.next, decision.outcome, invocationId);
    return {
      kind: 'write',
      next:
        events.length === 0
          ? decision.next
          : { ...decision.next, outbox: appendEvents(decision.next.outbox, events) },
      ...(decision.arm === null ? {} : { arm: decision.arm }),
      result,
    };
  });
  await deliverEvents(deps, result.record, (event) => event.by === invocationId, budget);
  return result;
}

/**
 * The transitions one accepted heartbeat makes (pure): the agent registered (first seen, or seen
 * again after a deregistration) or recovered (after an expiry), and each named check whose status
 * differs from the one the previous heartbeat reported. A check seen for the first time, or no
 * longer reported, is no change of status.
 */
export function heartbeatEvents(
  current: AgentRecord | undefined,
  next: AgentRecord,
  outcome: HeartbeatOutcome,
  by: string,
): OutboxEvent[] {
  const at = next.lastSeen;
  const snapshot = { deadline: next.deadline, bootId: next.bootId, labels: next.labels };
  const events: OutboxEvent[] = [];
  if (outcome === 'registered') {
    events.push({
      type: 'agent.registered',
      by,
      at,
      reregistered: current !== undefined,
      ttlSeconds: next.ttlSeconds,
      ...snapshot,
    });
  }
  if (outcome === 'recovered') {
    events.push({ type: 'agent.recovered', by, at, expiredAt: current?.expiredAt ?? null, ...snapshot });
  }
  if (current !== undefined && (outcome === 'refreshed' || outcome === 'recovered')) {
    const before = new Map(current.checks.map((check) => [check.name, check.status]));
    for (const check of next.checks) {
      const from = before.get(check.name);
      if (from === undefined || from === check.status) continue;
      events.push({
        type: 'check.changed',
        by,
        at,
        check: check.name,
        from,
        to: check.status,
        ...(check.output === undefined ? {} : { output: check.output.slice(0, REPORT_OUTPUT_CHARS) }),
      });
    }
  }
  return events;
}
