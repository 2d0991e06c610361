import { mkdir } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { DynamoDbAgentStore, createDocumentClient } from '../adapters/dynamodb/agent-store.js';
import { ensureAgentTable } from '../adapters/dynamodb/table.js';
import { LocalExpiryScheduler } from '../adapters/scheduler/local-scheduler.js';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../adapters/system-clock.js';
import type { HeartbeatPolicy } from '../core/heartbeat.js';
import { allAgentsInState } from '../core/list-agents.js';
import { LIMITS } from '../core/limits.js';
import { makeExpiryHandler } from '../handlers/expiry.js';
import { makeIngestHandler } from '../handlers/ingest.js';
import type { Log } from '../handlers/log.js';
import { noMetrics } from '../handlers/metrics.js';
import { makeReadHandler } from '../handlers/read.js';
import { makeBearerAuth } from '../http/auth.js';
import { errorToResponse } from '../http/errors-to-response.js';
import { createLocalDynamoClient, startDynalite } from './dynalite.js';
import { readBody, toApiGatewayEvent, writeResult } from './http-to-event.js';

export interface LocalAppOptions {
  policy: HeartbeatPolicy;
  host: string;
  port: number;
  /** Where dynalite keeps its files; a restart with the same folder keeps every agent and deadline. */
  dataDir: string;
  token: string;
  log: Log;
  clock?: Clock;
}

export interface LocalApp {
  url: string;
  scheduler: LocalExpiryScheduler;
  store: DynamoDbAgentStore;
  /** Calls the same handlers the HTTP server does, without a socket. */
  invokeHttp(event: APIGatewayProxyEventV2): ReturnType<ReturnType<typeof makeIngestHandler>>;
  close(): Promise<void>;
}

const TABLE_NAME = 'agents';

/**
 * The whole pipeline on one machine: an HTTP server standing in for API Gateway, the real
 * handlers, the DynamoDB adapter on an embedded file-backed dynalite, and the local scheduler
 * (one timer) standing in for EventBridge Scheduler.
 */
export async function startLocalApp(options: LocalAppOptions): Promise<LocalApp> {
  const clock = options.clock ?? systemClock;
  await mkdir(options.dataDir, { recursive: true });
  const dynalite = await startDynalite({ path: options.dataDir });
  const dynamo = createLocalDynamoClient(dynalite.endpoint);
  await ensureAgentTable(dynamo, TABLE_NAME);
  const store = new DynamoDbAgentStore(createDocumentClient(dynamo), { tableName: TABLE_NAME });

  let expire: (payload: unknown) => Promise<void> = async () => undefined;
  const scheduler = new LocalExpiryScheduler({
    clock,
    fire: (payload) => expire(payload),
    deadLetter: (payload, error) =>
      options.log.error('expiry delivery failed; dead-lettered', { payload, error }),
  });
  const core = { store, scheduler, clock };
  expire = makeExpiryHandler({ core, log: options.log, metrics: noMetrics });

  const authenticate = makeBearerAuth([options.token]);
  // Metrics are CloudWatch EMF in AWS; locally the logs say it all.
  const ingest = makeIngestHandler({
    core,
    policy: options.policy,
    authenticate,
    log: options.log,
    metrics: noMetrics,
  });
  const read = makeReadHandler({ store, authenticate, log: options.log });
  const invokeHttp = (event: APIGatewayProxyEventV2) =>
    event.routeKey === 'ANY /v1/heartbeats' ? ingest(event) : read(event);

  const rebuilt = await scheduler.rebuild(allAgentsInState(store, 'alive'));
  options.log.info('local scheduler rebuilt from the store', { schedules: rebuilt });

  const server = createServer((request, response) => {
    readBody(request, LIMITS.bodyBytes)
      .then((body) => invokeHttp(toApiGatewayEvent(request, body)))
      .then(
        (result) => writeResult(response, result),
        (error: unknown) => writeResult(response, errorToResponse(error, options.log, undefined)),
      );
  });
  await listen(server, options.port, options.host);
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${options.host}:${port}`,
    scheduler,
    store,
    invokeHttp,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await scheduler.stop();
      dynamo.destroy();
      await dynalite.close();
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
