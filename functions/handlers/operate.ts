import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { deregisterAgent } from '../core/deregister.js';
import { isValidAgentId } from '../core/heartbeat.js';
import { LIMITS } from '../core/limits.js';
import { windowBodySchema } from '../core/window-body.js';
import {
  type MaintenanceDeps,
  createWindow,
  endWindow,
  listOpenWindows,
} from '../core/maintenance-windows.js';
import type { Budget, CoreDeps, MaintenanceStore } from '../core/ports.js';
import { callOptions } from '../core/budget.js';
import { toFieldProblems } from '../core/validation.js';
import { toAgentView, toWindowView } from '../http/agent-view.js';
import type { Authenticate } from '../http/auth.js';
import { errorToResponse } from '../http/errors-to-response.js';
import { type HttpResult, badRequest, conflict, json, methodNotAllowed, notFound } from '../http/problem.js';
import { readJsonBody } from '../http/request.js';
import type { WindowList } from '../http/schemas.js';
import { type InvocationContext, invocationBudget } from './budget.js';

export interface OperateDeps {
  core: CoreDeps;
  /** Where the maintenance windows are kept (the agents' store). */
  maintenance: MaintenanceStore;
  /** An operator's credential: IAM in AWS, OPERATOR_TOKEN locally; never an agent's token. */
  authenticate: Authenticate;
}

/** As for ingest: whatever the backends do, the operator gets an answer of ours in time. */
export const OPERATE_LIMITS = { fallbackMs: 10_000, marginMs: 750 };

/** The routes this handler serves (cdk/api.ts), and the methods of each. */
const ROUTE_METHODS: Record<string, string> = {
  'DELETE /v1/agents/{agentId}': 'DELETE',
  'ANY /v1/maintenance': 'GET, POST',
  'ANY /v1/maintenance/{id}': 'GET, DELETE',
};

/**
 * The operator's routes:
 * - DELETE /v1/agents/{agentId} deregisters an agent (200 with its record, again 200 when it
 *   already was: idempotent; 404 when no agent has that id);
 * - POST /v1/maintenance creates a maintenance window (201 with it), GET lists the active and
 *   upcoming ones;
 * - GET /v1/maintenance/{id} shows one, DELETE ends it now (200; idempotent; 404 when unknown).
 */
export function makeOperateHandler(deps: OperateDeps) {
  const maintenance: MaintenanceDeps = { ...deps.core, maintenance: deps.maintenance };
  return async (event: APIGatewayProxyEventV2, context?: InvocationContext): Promise<HttpResult> => {
    try {
      const budget = invocationBudget(deps.core.clock, context, OPERATE_LIMITS);
      const allow = ROUTE_METHODS[event.routeKey];
      if (allow === undefined) {
        throw notFound(
          `no route for ${event.requestContext?.http?.method ?? ''} ${event.rawPath ?? ''}`.trim(),
        );
      }
      const method = (event.requestContext?.http?.method ?? '').toUpperCase();
      if (!allow.split(', ').includes(method)) throw methodNotAllowed(method || 'this method', allow);
      await deps.authenticate(event);
      // Names the change in the record's transitions, the log lines and the events.
      const requestId = context?.awsRequestId ?? event.requestContext?.requestId ?? 'unknown';

      if (event.routeKey === 'DELETE /v1/agents/{agentId}') {
        return await deregister(deps.core, event, requestId, budget);
      }
      if (event.routeKey === 'ANY /v1/maintenance') {
        if (method === 'GET') return await list(maintenance, budget);
        return await create(maintenance, event, budget);
      }
      return await window(maintenance, event, method, budget);
    } catch (error) {
      return errorToResponse(error, deps.core.log, event.requestContext?.requestId);
    }
  };
}

async function deregister(
  core: CoreDeps,
  event: APIGatewayProxyEventV2,
  requestId: string,
  budget: Budget,
): Promise<HttpResult> {
  const agentId = event.pathParameters?.agentId ?? '';
  if (!isValidAgentId(agentId))
    throw notFound('no agent has that id (agent ids never contain those characters)');
  const result = await deregisterAgent(core, agentId, requestId, budget);
  if (result.kind === 'unknown') throw notFound(`no agent '${agentId}' has reported`);
  return json(200, toAgentView(result.record));
}

async function create(
  deps: MaintenanceDeps,
  event: APIGatewayProxyEventV2,
  budget: Budget,
): Promise<HttpResult> {
  const parsed = windowBodySchema.safeParse(readJsonBody(event, LIMITS.bodyBytes));
  if (!parsed.success) {
    throw badRequest('the maintenance window has invalid fields', toFieldProblems(parsed.error.issues));
  }
  const result = await createWindow(deps, parsed.data, callerOf(event), budget);
  if (result.kind === 'invalid')
    throw badRequest('the maintenance window has invalid times', result.problems);
  if (result.kind === 'limit') throw conflict(result.detail);
  const body = toWindowView(result.window, deps.clock.now());
  return {
    ...json(201, body),
    headers: { 'content-type': 'application/json', location: `/v1/maintenance/${body.id}` },
  };
}

async function list(deps: MaintenanceDeps, budget: Budget): Promise<HttpResult> {
  const windows = await listOpenWindows(deps, budget);
  const now = deps.clock.now();
  const body: WindowList = { items: windows.map((window) => toWindowView(window, now)) };
  return json(200, body);
}

async function window(
  deps: MaintenanceDeps,
  event: APIGatewayProxyEventV2,
  method: string,
  budget: Budget,
): Promise<HttpResult> {
  const id = event.pathParameters?.id ?? '';
  const unknown = () => notFound(`no maintenance window '${id}' (ended ones are kept for about a week)`);
  if (method === 'GET') {
    const { windows } = await deps.maintenance.readWindows(callOptions(budget, 'store'));
    const found = windows.find((w) => w.id === id);
    if (found === undefined) throw unknown();
    return json(200, toWindowView(found, deps.clock.now()));
  }
  const result = await endWindow(deps, id, budget);
  if (result.kind === 'unknown') throw unknown();
  return json(200, toWindowView(result.window, deps.clock.now()));
}

/** Who is operating: the IAM principal API Gateway authorized, or the local operator token. */
function callerOf(event: APIGatewayProxyEventV2): string {
  const iam = (event.requestContext as { authorizer?: { iam?: { userArn?: unknown } } } | undefined)
    ?.authorizer?.iam;
  return typeof iam?.userArn === 'string' ? iam.userArn : 'operator token';
}
