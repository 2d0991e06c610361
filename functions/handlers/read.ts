import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { isValidAgentId } from '../core/heartbeat.js';
import { callOptions } from '../core/budget.js';
import { listAgents } from '../core/list-agents.js';
import type { AgentStore, Budget, Clock, Log, MaintenanceStore } from '../core/ports.js';
import type { MaintenanceWindow } from '../core/maintenance.js';
import { readAgent } from '../core/read-agent.js';
import { toFieldProblems } from '../core/validation.js';
import { toAgentView } from '../http/agent-view.js';
import type { Authenticate } from '../http/auth.js';
import { errorToResponse } from '../http/errors-to-response.js';
import { type HttpResult, badRequest, json, notFound } from '../http/problem.js';
import { requireMethod } from '../http/request.js';
import { type AgentPage, listQuerySchema } from '../http/schemas.js';
import { type InvocationContext, invocationBudget } from './budget.js';

export interface ReadDeps {
  store: AgentStore;
  authenticate: Authenticate;
  log: Log;
  clock: Clock;
  /** The maintenance windows, to show which covers an agent; none: no agent shows one. */
  maintenance?: MaintenanceStore;
}

/** As for ingest: whatever the store does, the reader gets an answer of ours in time. */
export const READ_LIMITS = { fallbackMs: 10_000, marginMs: 750 };

function parseListQuery(query: Record<string, string | undefined>) {
  const parsed = listQuerySchema.safeParse(query);
  if (!parsed.success) throw badRequest('invalid query parameters', toFieldProblems(parsed.error.issues));
  return { state: parsed.data.state, limit: parsed.data.limit ?? 50, cursor: parsed.data.cursor ?? null };
}

/**
 * GET /v1/agents/{agentId}, and GET /v1/agents?state=expired&limit=&cursor= for one page of a
 * state. Also serves the API's `$default` route, so an unknown path gets a problem+json 404 like
 * every other error instead of API Gateway's bare one.
 */
export function makeReadHandler(deps: ReadDeps) {
  return async (event: APIGatewayProxyEventV2, context?: InvocationContext): Promise<HttpResult> => {
    try {
      const budget = invocationBudget(deps.clock, context, READ_LIMITS);
      if (event.routeKey === 'ANY /v1/agents') return await list(deps, event, budget);
      const agentId = event.pathParameters?.agentId;
      if (event.routeKey === '$default' || agentId === undefined) {
        throw notFound(
          `no route for ${event.requestContext?.http?.method ?? ''} ${event.rawPath ?? ''}`.trim(),
        );
      }
      // DELETE has a route of its own (the operate function's).
      requireMethod(event, 'GET', 'GET, DELETE');
      await deps.authenticate(event);
      if (!isValidAgentId(agentId))
        throw notFound('no agent has that id (agent ids never contain those characters)');

      const record = await readAgent(deps, agentId, callOptions(budget, 'store'));
      if (record === undefined) throw notFound(`no agent '${agentId}' has reported`);
      return json(200, toAgentView(record, await windowsNow(deps, budget)));
    } catch (error) {
      return errorToResponse(error, deps.log, event.requestContext?.requestId);
    }
  };
}

async function list(deps: ReadDeps, event: APIGatewayProxyEventV2, budget: Budget): Promise<HttpResult> {
  requireMethod(event, 'GET');
  await deps.authenticate(event);
  const query = parseListQuery(event.queryStringParameters ?? {});
  const page = await listAgents(deps, query.state, query.limit, query.cursor, callOptions(budget, 'store'));
  const windows = await windowsNow(deps, budget);
  const body: AgentPage = {
    items: page.items.map((record) => toAgentView(record, windows)),
    nextCursor: page.cursor,
  };
  return json(200, body);
}

/** The windows, and the time the views judge them at. */
async function windowsNow(
  deps: ReadDeps,
  budget: Budget,
): Promise<{ windows: readonly MaintenanceWindow[]; now: number }> {
  const windows =
    deps.maintenance === undefined
      ? []
      : (await deps.maintenance.readWindows(callOptions(budget, 'store'))).windows;
  return { windows, now: deps.clock.now() };
}
