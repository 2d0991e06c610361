import type { AgentRecord, DetectedBy } from './agent.js';
import { decideExpiry } from './decide-expiry.js';
import { deliverEvents } from './deliver-events.js';
import type { Budget, CoreDeps } from './ports.js';
import { done, writeAgent } from './write-protocol.js';

export type ExpiryResult =
  | { kind: 'ignored'; reason: 'unknown-agent' | 'not-alive' }
  /** armedFor null: the re-arm failed and the record says so; the reconciler arms one. */
  | { kind: 'rearmed'; armedFor: number | null }
  | { kind: 'expired'; record: AgentRecord };

export interface ExpiryOutcome {
  result: ExpiryResult;
  /** On-call lines this invocation wrote: its own expiry, or one an earlier attempt committed. */
  reported: number;
}

/**
 * Expiry use case, for a firing of the agent's schedule or the reconciler: read -> decide ->
 * (re-arm | expire) through the write protocol. A heartbeat that lands between our read and write
 * makes the write conflict; we re-read and decide again, so a racing heartbeat never turns into a
 * false expiry (I2). A re-arm that fails commits "no schedule known" instead of failing (I6).
 *
 * Then the invocation delivers the events it committed (I9): its expiry line, written once the
 * expiry is stored. Lambda retries a failed invocation with the same request id, so a retry whose
 * first attempt committed the expiry and then died finds the event under its own id and delivers
 * it; another delivery of the same firing has another id, finds the agent expired and writes
 * nothing (I5).
 */
export async function handleExpiry(
  deps: CoreDeps,
  agentId: string,
  invocationId: string,
  budget: Budget,
  detectedBy: DetectedBy = 'schedule',
): Promise<ExpiryOutcome> {
  let seen: AgentRecord | undefined;
  const result = await writeAgent<ExpiryResult>(deps, agentId, budget, (current, { now }) => {
    seen = current;
    if (current === undefined) return done({ kind: 'ignored', reason: 'unknown-agent' });
    const decision = decideExpiry(current, now, invocationId, detectedBy, deps.timing);
    if (decision.kind === 'ignore') return done({ kind: 'ignored', reason: decision.reason });
    if (decision.kind === 'rearm') {
      return {
        kind: 'write',
        next: decision.next,
        arm: decision.fireAt,
        result: (committed) => ({ kind: 'rearmed', armedFor: committed.armedFor }),
      };
    }
    return {
      kind: 'write',
      next: decision.next,
      // Found after an error, even once a heartbeat has recovered the agent since: its expired
      // transition, for this deadline, carries this invocation's id, so the expiry is ours and
      // must be reported.
      isOurs: (found) =>
        found.transitions.some(
          (t) => t.state === 'expired' && t.by === invocationId && t.at === decision.next.expiredAt,
        ),
      result: (committed) => ({ kind: 'expired', record: committed }),
    };
  });

  const record = result.kind === 'expired' ? result.record : seen;
  const reported =
    record === undefined
      ? 0
      : await deliverEvents(deps, record, (event) => event.by === invocationId, budget);
  return { result, reported };
}
