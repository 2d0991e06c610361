import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import * as z from 'zod/mini';
import { isValidAgentId } from '../core/heartbeat.js';
import { callOptions } from '../core/budget.js';
import { MAX_PAGE, listAgents } from '../core/list-agents.js';
import type { AgentStore, Budget, Clock, Log } from '../core/ports.js';
import { readAgent } from '../core/read-agent.js';
import { toFieldProblems } from '../core/validation.js';
import { toAgentView } from '../http/agent-view.js';
import type { Authenticate } from '../http/auth.js';
import { errorToResponse } from '../http/errors-to-response.js';
import { type HttpResult, badRequest, json, notFound } from '../http/problem.js';
import { requireMethod } from '../http/request.js';
import { type InvocationContext, invocationBudget } from './budget.js';

export interface ReadDeps {
  store: AgentStore;
  authenticate: Authenticate;
  log: Log;
  clock: Clock;
}

/** As for ingest: whatever the store does, the reader gets an answer of ours in time. */
const LIMIT_MESSAGE = `limit must be a whole number from 1 to ${MAX_PAGE}`;

export const READ_LIMITS = { fallbackMs: 10_000, marginMs: 750 };

/** The query of GET /v1/agents. */
export const listQuerySchema = z.object({
  state: z.enum(['alive', 'expired', 'deregistered']),
  // Decimal digits only: `0x10`, `1e2` or ` 5` are not a limit (Number() would read them as one).
  limit: z.optional(
    z.pipe(
      z.string().check(z.regex(/^[0-9]{1,3}$/, LIMIT_MESSAGE)),
      z.pipe(
        z.transform(Number),
        z.number().check(z.minimum(1, LIMIT_MESSAGE), z.maximum(MAX_PAGE, LIMIT_MESSAGE)),
      ),
    ),
  ),
  cursor: z.optional(z.string().check(z.minLength(1))),
});

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
      requireMethod(event, 'GET');
      await deps.authenticate(event);
      if (!isValidAgentId(agentId))
        throw notFound('no agent has that id (agent ids never contain those characters)');

      const record = await readAgent(deps, agentId, callOptions(budget, 'store'));
      if (record === undefined) throw notFound(`no agent '${agentId}' has reported`);
      return json(200, toAgentView(record));
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
  return json(200, { items: page.items.map(toAgentView), nextCursor: page.cursor });
}
