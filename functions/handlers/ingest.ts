import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { type HeartbeatPolicy, parseHeartbeat } from '../core/heartbeat.js';
import { LIMITS } from '../core/limits.js';
import { budgetFor, shorter } from '../core/budget.js';
import type { CoreDeps } from '../core/ports.js';
import type { PulseRecorder } from '../core/pulse.js';
import { recordHeartbeat } from '../core/record-heartbeat.js';
import { toIso } from '../core/time.js';
import type { Authenticate } from '../http/auth.js';
import { errorToResponse } from '../http/errors-to-response.js';
import { type HttpResult, badRequest, json } from '../http/problem.js';
import { readJsonBody, requireMethod } from '../http/request.js';
import type { HeartbeatResponse } from '../http/schemas.js';
import { type InvocationContext, invocationBudget } from './budget.js';

export interface IngestDeps {
  core: CoreDeps;
  policy: HeartbeatPolicy;
  authenticate: Authenticate;
  /** Counts the accepted heartbeats into the fleet pulse (core/pulse.ts); one per process. */
  pulse?: PulseRecorder;
}

/**
 * Time kept back from the invocation's budget to answer: when the backends have used the rest,
 * the agent still gets a 503 problem+json with Retry-After from us, never API Gateway's bare 500
 * after a Lambda timeout. Without a Lambda context (the local runner) a request gets 10 s.
 */
export const INGEST_LIMITS = { fallbackMs: 10_000, marginMs: 750 };

/** POST /v1/heartbeats: parse, validate, record, answer. */
export function makeIngestHandler(deps: IngestDeps) {
  const { log, metrics, clock } = deps.core;
  return async (event: APIGatewayProxyEventV2, context?: InvocationContext): Promise<HttpResult> => {
    try {
      // The invocation's budget, and no more than the commit window from receipt (core/timing.ts):
      // a heartbeat that cannot be recorded within it is answered 503, never recorded late.
      const receivedAt = clock.now();
      const budget = shorter(
        invocationBudget(clock, context, INGEST_LIMITS),
        budgetFor(clock, deps.core.timing.commitWindowMs),
      );
      requireMethod(event, 'POST');
      // Per-agent tokens are checked against the agent the body reports for (read at most once).
      let received: { value: unknown } | undefined;
      const readBody = () => (received ??= { value: readJsonBody(event, LIMITS.bodyBytes) }).value;
      await deps.authenticate(event, () => claimedAgentId(readBody));
      const parsed = parseHeartbeat(readBody(), deps.policy);
      if (!parsed.ok) throw badRequest('the heartbeat has invalid fields', parsed.problems);

      // Names the events this heartbeat commits (registered, recovered, a check's change).
      const requestId = context?.awsRequestId ?? event.requestContext?.requestId ?? randomUUID();
      const { outcome, record } = await recordHeartbeat(deps.core, parsed.heartbeat, budget, requestId);
      metrics.count('Heartbeats');
      await deps.pulse?.accepted(receivedAt, budget);
      if (parsed.heartbeat.maintenanceSeconds !== undefined && outcome !== 'stale') {
        log.info('agent announced maintenance', {
          agentId: record.agentId,
          maintenanceSeconds: parsed.heartbeat.maintenanceSeconds,
          lastSeen: toIso(record.lastSeen),
          deadline: toIso(record.deadline),
        });
      }
      const body: HeartbeatResponse = {
        agentId: record.agentId,
        state: record.state,
        lastSeen: toIso(record.lastSeen),
        deadline: toIso(record.deadline),
        nextHeartbeatSeconds: record.intervalSeconds,
      };
      return json(200, body);
    } catch (error) {
      return errorToResponse(error, log, event.requestContext?.requestId);
    }
  };
}

/** The agentId a body names, or undefined when it names none (or cannot be read: then a 401). */
function claimedAgentId(readBody: () => unknown): string | undefined {
  try {
    const body = readBody();
    const agentId =
      typeof body === 'object' && body !== null ? (body as { agentId?: unknown }).agentId : undefined;
    return typeof agentId === 'string' ? agentId : undefined;
  } catch {
    return undefined;
  }
}
