import { mkdir } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { LocalExpiryScheduler } from '../adapters/scheduler/local-scheduler.js';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../adapters/system-clock.js';
import type { LocalStoreConfig } from '../config.js';
import type { HeartbeatPolicy } from '../core/heartbeat.js';
import type { AgentStore } from '../core/ports.js';
import { allAgentsInState } from '../core/list-agents.js';
import { LIMITS } from '../core/limits.js';
import { makeExpiryHandler } from '../handlers/expiry.js';
import { makeIngestHandler } from '../handlers/ingest.js';
import type { Log } from '../handlers/log.js';
import { noMetrics } from '../handlers/metrics.js';
import { makeReadHandler } from '../handlers/read.js';
import { makeBearerAuth } from '../http/auth.js';
import { errorToResponse } from '../http/errors-to-response.js';
import { readBody, toApiGatewayEvent, writeResult } from './http-to-event.js';

export interface LocalAppOptions {
  policy: HeartbeatPolicy;
  host: string;
  port: number;
  /** dynalite keeps its files in `dataDir`: a restart with the same folder keeps every agent and deadline. */
  store: LocalStoreConfig;
  token: string;
  log: Log;
  clock?: Clock;
}

export interface LocalApp {
  url: string;
  scheduler: LocalExpiryScheduler;
  store: AgentStore;
  /** Calls the same handlers the HTTP server does, without a socket. */
  invokeHttp(event: APIGatewayProxyEventV2): ReturnType<ReturnType<typeof makeIngestHandler>>;
  close(): Promise<void>;
}

const TABLE_NAME = 'agents';

/**
 * The whole pipeline on one machine: an HTTP server standing in for API Gateway, the real
 * handlers, the DynamoDB adapter on an embedded file-backed dynalite (or Couchbase), and the local scheduler
 * (one timer) standing in for EventBridge Scheduler.
 */
export async function startLocalApp(options: LocalAppOptions): Promise<LocalApp> {
  const clock = options.clock ?? systemClock;
  const { store, close: closeStore } = await openStore(options.store);
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

  await rebuildSchedules(scheduler, store, options.log);

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
      await closeStore();
    },
  };
}

/** Opens the configured store; each adapter (and its SDK) is imported only when selected. */
async function openStore(
  config: LocalStoreConfig,
): Promise<{ store: AgentStore; close: () => Promise<void> }> {
  if (config.kind === 'couchbase') {
    const [{ CouchbaseAgentStore }, { createCouchbaseConnector }] = await Promise.all([
      import('../adapters/couchbase/agent-store.js'),
      import('../adapters/couchbase/connection.js'),
    ]);
    const connector = createCouchbaseConnector(config.settings);
    await connector.collection(); // fail at start, not on the first heartbeat, if it is unreachable
    return { store: new CouchbaseAgentStore(connector), close: () => connector.close() };
  }
  const [
    { DynamoDbAgentStore, createDocumentClient },
    { ensureAgentTable },
    { createLocalDynamoClient, startDynalite },
  ] = await Promise.all([
    import('../adapters/dynamodb/agent-store.js'),
    import('../adapters/dynamodb/table.js'),
    import('./dynalite.js'),
  ]);
  await mkdir(config.dataDir, { recursive: true });
  const dynalite = await startDynalite({ path: config.dataDir });
  const dynamo = createLocalDynamoClient(dynalite.endpoint);
  await ensureAgentTable(dynamo, TABLE_NAME);
  return {
    store: new DynamoDbAgentStore(createDocumentClient(dynamo), { tableName: TABLE_NAME }),
    close: async () => {
      dynamo.destroy();
      await dynalite.close();
    },
  };
}

/**
 * Re-creates the schedule of every alive agent, as AWS would still hold them after a restart.
 * Listing needs SQL++ on Couchbase, which CouchbaseMock lacks: then the runner starts anyway and
 * says plainly that deadlines from before this start fire only once those agents report again.
 */
async function rebuildSchedules(scheduler: LocalExpiryScheduler, store: AgentStore, log: Log): Promise<void> {
  try {
    const rebuilt = await scheduler.rebuild(allAgentsInState(store, 'alive'));
    log.info('local scheduler rebuilt from the store', { schedules: rebuilt });
  } catch (error) {
    log.warn(
      'could not rebuild schedules from the store; agents alive before this start expire only after they report again',
      {
        error,
      },
    );
  }
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
