import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { isValidAgentId } from '../core/heartbeat.js';
import type { AgentStore } from '../core/ports.js';
import { readAgent } from '../core/read-agent.js';
import { toAgentView } from '../http/agent-view.js';
import { errorToResponse } from '../http/errors-to-response.js';
import { type HttpResult, json, notFound } from '../http/problem.js';
import { requireMethod } from '../http/request.js';
import type { Log } from './log.js';

export interface ReadDeps {
  store: AgentStore;
  authenticate: (event: APIGatewayProxyEventV2) => void;
  log: Log;
}

/**
 * GET /v1/agents/{agentId}. Also serves the API's `$default` route, so an unknown path gets a
 * problem+json 404 like every other error instead of API Gateway's bare one.
 */
export function makeReadHandler(deps: ReadDeps) {
  return async (event: APIGatewayProxyEventV2): Promise<HttpResult> => {
    try {
      const agentId = event.pathParameters?.agentId;
      if (event.routeKey === '$default' || agentId === undefined) {
        throw notFound(
          `no route for ${event.requestContext?.http?.method ?? ''} ${event.rawPath ?? ''}`.trim(),
        );
      }
      requireMethod(event, 'GET');
      deps.authenticate(event);
      if (!isValidAgentId(agentId))
        throw notFound('no agent has that id (agent ids never contain those characters)');

      const record = await readAgent(deps, agentId);
      if (record === undefined) throw notFound(`no agent '${agentId}' has reported`);
      return json(200, toAgentView(record));
    } catch (error) {
      return errorToResponse(error, deps.log, event.requestContext?.requestId);
    }
  };
}
