import { randomUUID } from 'node:crypto';
import * as z from 'zod/mini';
import { handleExpiry } from '../core/handle-expiry.js';
import type { CoreDeps } from '../core/ports.js';
import { toFieldProblems } from '../core/validation.js';
import { type InvocationContext, invocationBudget } from './budget.js';

/** Without a Lambda context (the local runner) an expiry gets 10 s; in Lambda, its remaining time less 1 s. */
export const EXPIRY_LIMITS = { fallbackMs: 10_000, marginMs: 1_000 };

// Only agentId is needed: the handler decides from the record. armedFor, when present, says which
// schedule fired. Unknown fields are ignored, so older and newer schedules both work.
const payloadSchema = z.object({
  agentId: z.string().check(z.minLength(1)),
  armedFor: z.optional(z.string()),
});

/** An event no schedule of this service sends: thrown, so Lambda retries and then dead-letters it. */
export class MalformedExpiryEventError extends Error {
  override readonly name = 'MalformedExpiryEventError';
}

/**
 * Invoked by the agent's schedule with `{agentId, armedFor}`. The expiry writes exactly one WARN
 * line for on-call; a duplicate delivery finds the agent already expired and logs nothing (I5).
 * Errors are thrown: Scheduler invokes this function asynchronously, so Lambda retries it (with
 * the same request id, which is how a retry recognises its first attempt's expiry) and then sends
 * the event to the dead-letter queue, where an alarm waits.
 */
export function makeExpiryHandler(deps: { core: CoreDeps }) {
  const { log, metrics, clock } = deps.core;
  return async (event: unknown, context?: InvocationContext): Promise<void> => {
    const payload = payloadSchema.safeParse(event);
    if (!payload.success) {
      log.error('malformed expiry event', { event, problems: toFieldProblems(payload.error.issues) });
      throw new MalformedExpiryEventError('the expiry event has no agentId; see the log for the event');
    }
    metrics.count('ExpiryInvocations');
    const budget = invocationBudget(clock, context, EXPIRY_LIMITS);
    // Without a Lambda context each call is its own invocation (the local scheduler passes the
    // id of the delivery it retries, as Lambda does).
    const invocationId = context?.awsRequestId ?? randomUUID();
    await handleExpiry(deps.core, payload.data.agentId, invocationId, budget);
  };
}
