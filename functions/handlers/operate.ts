import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { deregisterAgent } from '../core/deregister.js';
import { isValidAgentId } from '../core/heartbeat.js';
import type { CoreDeps } from '../core/ports.js';
import { toAgentView } from '../http/agent-view.js';
import type { Authenticate } from '../http/auth.js';
import { errorToResponse } from '../http/errors-to-response.js';
import { type HttpResult, json, notFound } from '../http/problem.js';
import { requireMethod } from '../http/request.js';
import { type InvocationContext, invocationBudget } from './budget.js';

export interface OperateDeps {
  core: CoreDeps;
  /** An operator's credential: IAM in AWS, OPERATOR_TOKEN locally; never an agent's token. */
  authenticate: Authenticate;
}

/** As for ingest: whatever the backends do, the operator gets an answer of ours in time. */
export const OPERATE_LIMITS = { fallbackMs: 10_000, marginMs: 750 };

/**
 * The operator's routes: DELETE /v1/agents/{agentId} deregisters an agent (200 with its record,
 * again 200 when it already was: idempotent; 404 when no agent has that id).
 */
export function makeOperateHandler(deps: OperateDeps) {
  return async (event: APIGatewayProxyEventV2, context?: InvocationContext): Promise<HttpResult> => {
    try {
      const budget = invocationBudget(deps.core.clock, context, OPERATE_LIMITS);
      const agentId = event.pathParameters?.agentId;
      if (event.routeKey !== 'DELETE /v1/agents/{agentId}' || agentId === undefined) {
        throw notFound(
          `no route for ${event.requestContext?.http?.method ?? ''} ${event.rawPath ?? ''}`.trim(),
        );
      }
      requireMethod(event, 'DELETE', 'GET, DELETE');
      await deps.authenticate(event);
      if (!isValidAgentId(agentId))
        throw notFound('no agent has that id (agent ids never contain those characters)');
      // Names the deregistration in the record's transitions and the log line.
      const requestId = context?.awsRequestId ?? event.requestContext?.requestId ?? 'unknown';
      const result = await deregisterAgent(deps.core, agentId, requestId, budget);
      if (result.kind === 'unknown') throw notFound(`no agent '${agentId}' has reported`);
      return json(200, toAgentView(result.record));
    } catch (error) {
      return errorToResponse(error, deps.core.log, event.requestContext?.requestId);
    }
  };
}
