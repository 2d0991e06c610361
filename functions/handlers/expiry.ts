import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { handleExpiry } from '../core/handle-expiry.js';
import type { CoreDeps } from '../core/record-heartbeat.js';
import { toIso } from '../core/time.js';
import type { Log } from './log.js';
import type { Metrics } from './metrics.js';

export interface ExpiryDeps {
  core: CoreDeps;
  log: Log;
  metrics: Metrics;
}

const payloadSchema = z.object({ agentId: z.string().min(1), armedFor: z.iso.datetime() });

/**
 * Invoked by the agent's schedule with `{agentId, armedFor}`. Writes exactly one WARN line per
 * expiry for on-call; a duplicate delivery finds the agent already expired and logs nothing (I5).
 * Backend errors are thrown: Scheduler invokes this function asynchronously, so Lambda retries
 * it and then sends the event to the dead-letter queue, where an alarm waits.
 */
export function makeExpiryHandler(deps: ExpiryDeps) {
  return async (event: unknown, context?: { awsRequestId?: string }): Promise<void> => {
    const payload = payloadSchema.safeParse(event);
    if (!payload.success) {
      // Retrying a malformed event cannot help; say so loudly and drop it.
      deps.log.error('malformed expiry event', { event, problems: payload.error.issues });
      return;
    }
    deps.metrics.count('ExpiryInvocations');
    // Each delivery needs its own id, even a duplicate of the same firing: it is how an invocation
    // recognises its own expiry write.
    const invocationId = context?.awsRequestId ?? randomUUID();
    const result = await handleExpiry(deps.core, payload.data.agentId, invocationId);
    if (result.kind === 'rearmed') deps.metrics.count('ScheduleWrites');
    if (result.kind !== 'expired') return;

    deps.metrics.count('AgentsExpired');

    const { record, expiredAt, detectedAt } = result;
    deps.log.warn('agent expired', {
      agentId: record.agentId,
      lastSeen: toIso(record.lastSeen),
      ttlSeconds: record.ttlSeconds,
      expiredAt: toIso(expiredAt),
      detectedAt: toIso(detectedAt),
      lateBySeconds: Math.max(0, (detectedAt - expiredAt) / 1000),
      // Logs drop null fields; keep the key so a query for it always finds one.
      bootId: record.bootId ?? 'none',
      failingChecks: record.checks.filter((check) => check.status !== 'pass'),
      labels: record.labels,
      armedFor: payload.data.armedFor,
      expiredBy: invocationId,
    });
  };
}
