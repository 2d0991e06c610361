import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { type HeartbeatPolicy, parseHeartbeat } from '../core/heartbeat.js';
import { LIMITS } from '../core/limits.js';
import { type CoreDeps, recordHeartbeat } from '../core/record-heartbeat.js';
import { toIso } from '../core/time.js';
import type { Authenticate } from '../http/auth.js';
import { errorToResponse } from '../http/errors-to-response.js';
import { type HttpResult, badRequest, json } from '../http/problem.js';
import { readJsonBody, requireMethod } from '../http/request.js';
import type { Log } from './log.js';
import type { Metrics } from './metrics.js';

export interface IngestDeps {
  core: CoreDeps;
  policy: HeartbeatPolicy;
  authenticate: Authenticate;
  log: Log;
  metrics: Metrics;
}

/** POST /v1/heartbeats: parse, validate, record, answer. */
export function makeIngestHandler(deps: IngestDeps) {
  return async (event: APIGatewayProxyEventV2): Promise<HttpResult> => {
    try {
      requireMethod(event, 'POST');
      await deps.authenticate(event);
      const parsed = parseHeartbeat(readJsonBody(event, LIMITS.bodyBytes), deps.policy);
      if (!parsed.ok) throw badRequest('the heartbeat has invalid fields', parsed.problems);

      const { outcome, record, previous, scheduleWrites } = await recordHeartbeat(
        deps.core,
        parsed.heartbeat,
      );
      deps.metrics.count('Heartbeats');
      deps.metrics.count('ScheduleWrites', scheduleWrites);
      if (outcome === 'recovered' && previous !== undefined) {
        deps.metrics.count('AgentsRecovered');
        deps.log.info('agent recovered', {
          agentId: record.agentId,
          from: previous.state,
          expiredAt: previous.expiredAt === null ? null : toIso(previous.expiredAt),
          lastSeen: toIso(record.lastSeen),
          bootId: record.bootId,
        });
      }
      return json(200, {
        agentId: record.agentId,
        state: record.state,
        lastSeen: toIso(record.lastSeen),
        deadline: toIso(record.deadline),
        nextHeartbeatSeconds: record.intervalSeconds,
      });
    } catch (error) {
      return errorToResponse(error, deps.log, event.requestContext?.requestId);
    }
  };
}
