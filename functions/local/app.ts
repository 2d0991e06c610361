import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { FanoutEventPublisher } from '../adapters/events/fanout-publisher.js';
import { LogEventPublisher } from '../adapters/events/log-publisher.js';
import { WebhookEventPublisher } from '../adapters/events/webhook-publisher.js';
import { LocalExpiryScheduler, type Timers, realTimers } from '../adapters/scheduler/local-scheduler.js';
import { systemClock } from '../adapters/system-clock.js';
import type { LocalStoreConfig } from './config.js';
import type { HeartbeatPolicy } from '../core/heartbeat.js';
import { LIMITS } from '../core/limits.js';
import { allOpenAgents } from '../core/list-agents.js';
import type {
  AgentDeleter,
  AgentStore,
  CheckpointStore,
  Clock,
  CoreDeps,
  GuardSettings,
  EventPublisher,
  Log,
  MaintenanceStore,
  MassExpiryStore,
  PulseStore,
} from '../core/ports.js';
import { makeExpiryGuard } from '../core/expiry-guard.js';
import { PulseRecorder } from '../core/pulse.js';
import type { ReconcileReport } from '../core/reconcile.js';
import { LOCAL_TIMING } from '../core/timing.js';
import { makeExpiryHandler } from '../handlers/expiry.js';
import { makeIngestHandler } from '../handlers/ingest.js';
import { makeOperateHandler } from '../handlers/operate.js';
import { makeReadHandler } from '../handlers/read.js';
import { type ReconcileSettings, makeReconcileHandler } from '../handlers/reconcile.js';
import { makeBearerAuth, makePerAgentAuth } from '../http/auth.js';
import type { AgentAuthMode } from '../config.js';
import { buildOpenApiDocument } from '../http/openapi.js';
import { json, methodNotAllowed } from '../http/problem.js';
import { noMetrics } from '../observability/null-metrics.js';
import { createHttpFront } from './http-front.js';

export interface LocalAppOptions {
  policy: HeartbeatPolicy;
  host: string;
  port: number;
  /** dynalite keeps its files in `dataDir`: a restart with the same folder keeps every agent and deadline. */
  store: LocalStoreConfig;
  /** The agents' bearer token: it may only POST heartbeats. With per-agent auth, their secret. */
  token: string;
  /** `per-agent`: each agent's token is agentToken(token, agentId) (http/auth.ts). */
  agentAuth?: AgentAuthMode;
  /** The operators' bearer token: reading and operating (deregister); never reporting. */
  operatorToken: string;
  /** How often the reconciler runs (it also runs once at start). */
  reconcileIntervalSeconds: number;
  /** Reaping: agents expired or deregistered longer than this are deleted; 0 or none: never. */
  reapAfterMs?: number;
  /** Each event is also POSTed here (with retries); events are log lines in any case. */
  eventsWebhookUrl?: string;
  /** The fleet pulse's bucket (core/pulse.ts); 1 s unless set. */
  pulseBucketSeconds?: number;
  /** The expiry guard's thresholds (core/expiry-guard.ts); none: expiries are not guarded. */
  guard?: GuardSettings;
  log: Log;
  clock?: Clock;
  /** The scheduler's and the reconciler's timers; virtual ones in tests that simulate hours. */
  timers?: Timers;
  /** Game-day drills only: while this says so, the local scheduler's API calls fail. */
  schedulerUnavailable?: () => boolean;
}

type LocalStore = AgentStore &
  AgentDeleter &
  CheckpointStore &
  PulseStore &
  MassExpiryStore &
  MaintenanceStore;

export interface LocalApp {
  url: string;
  scheduler: LocalExpiryScheduler;
  store: LocalStore;
  /** Calls the same handlers the HTTP server does, without a socket. */
  invokeHttp(event: APIGatewayProxyEventV2): ReturnType<ReturnType<typeof makeIngestHandler>>;
  /** One reconciler run now, as the timer would start it. */
  reconcile(): Promise<ReconcileReport | undefined>;
  close(): Promise<void>;
}

/**
 * The local scheduler fires within milliseconds of a deadline, so a second is plenty to tell a
 * lost timer from one about to fire. Undelivered events older than 30 s have outlived any local
 * expiry invocation (10 s budget); at start nothing else can be delivering them.
 */
const RECONCILE = { precisionMs: 1_000, reportGraceMs: 30_000, fallbackMs: 30_000 };

const TABLE_NAME = 'agents';
const CHECKS_TABLE_NAME = 'agent-checks';

/** The operate function's routes in AWS (cdk/api.ts). */
const OPERATOR_ROUTES = new Set([
  'DELETE /v1/agents/{agentId}',
  'ANY /v1/maintenance',
  'ANY /v1/maintenance/{id}',
]);

/**
 * Events locally: a JSON log line each, and a POST to EVENTS_WEBHOOK_URL when set (with retries;
 * a webhook that keeps failing leaves the events in their records for the reconciler).
 */
function localEvents(options: LocalAppOptions): EventPublisher {
  const lines = new LogEventPublisher(options.log);
  if (options.eventsWebhookUrl === undefined) return lines;
  return new FanoutEventPublisher([lines, new WebhookEventPublisher({ url: options.eventsWebhookUrl })]);
}

/** Served by the local runner only (see http/openapi.ts). */
export const OPENAPI_PATH = '/v1/openapi.json';

/**
 * The whole pipeline on one machine: an HTTP server standing in for API Gateway, the real
 * handlers, the DynamoDB adapter on an embedded file-backed dynalite (or Couchbase), and the local scheduler
 * (one timer) standing in for EventBridge Scheduler.
 */
export async function startLocalApp(options: LocalAppOptions): Promise<LocalApp> {
  const clock = options.clock ?? systemClock;
  const startedAt = clock.now();
  const timers = options.timers ?? realTimers;
  const { store, close: closeStore } = await openStore(options.store, clock);
  let expire: (payload: unknown, context: { awsRequestId: string }) => Promise<void> = async () => undefined;
  const scheduler = new LocalExpiryScheduler({
    clock,
    timers,
    fire: (payload, deliveryId) => expire(payload, { awsRequestId: deliveryId }),
    deadLetter: (payload, error) =>
      options.log.error('expiry delivery failed; dead-lettered', { payload, error }),
    ...(options.schedulerUnavailable === undefined ? {} : { unavailable: options.schedulerUnavailable }),
  });
  // Metrics are CloudWatch EMF in AWS; locally the logs say it all, events included.
  const core: CoreDeps = {
    store,
    maintenance: store,
    events: localEvents(options),
    scheduler,
    clock,
    log: options.log,
    metrics: noMetrics,
    timing: LOCAL_TIMING,
    ...(options.guard === undefined
      ? {}
      : {
          guard: makeExpiryGuard({ store, clock, log: options.log, metrics: noMetrics }, options.guard),
        }),
  };
  expire = makeExpiryHandler({ core });

  // Credentials apart (issue 10): an agent's token only reports, an operator's only reads and
  // operates; each presented on the other's routes is a 403.
  const operatorOnHeartbeats = {
    tokens: [options.operatorToken],
    detail: 'the operator token cannot report heartbeats; agents use theirs',
  };
  const agentAuth =
    options.agentAuth === 'per-agent'
      ? makePerAgentAuth(async () => [options.token], operatorOnHeartbeats)
      : makeBearerAuth([options.token], operatorOnHeartbeats);
  const operatorAuth = makeBearerAuth([options.operatorToken], {
    tokens: [options.token],
    detail: 'an agent token may only POST heartbeats; reading and operating need the operator token',
  });
  const pulse = new PulseRecorder({
    store,
    bucketMs: (options.pulseBucketSeconds ?? 1) * 1000,
    log: options.log,
    metrics: noMetrics,
  });
  const ingest = makeIngestHandler({ core, policy: options.policy, authenticate: agentAuth, pulse });
  const read = makeReadHandler({
    store,
    maintenance: store,
    authenticate: operatorAuth,
    log: options.log,
    clock,
  });
  const operate = makeOperateHandler({ core, maintenance: store, authenticate: operatorAuth });
  const openApi = json(200, buildOpenApiDocument());
  const invokeHttp = async (event: APIGatewayProxyEventV2) => {
    if (event.routeKey === 'ANY /v1/heartbeats') return ingest(event);
    if (OPERATOR_ROUTES.has(event.routeKey)) return operate(event);
    // The API's description, for tools and for trying the API out; it holds nothing secret.
    if (event.rawPath === OPENAPI_PATH) {
      return event.requestContext.http.method === 'GET'
        ? openApi
        : methodNotAllowed(event.requestContext.http.method, 'GET').toResponse();
    }
    return read(event);
  };

  await rebuildSchedules(scheduler, store, core);
  const reconciler = startReconciler({ ...core, checkpoints: store, deleter: store }, timers, options);
  // The first run delivers at once what a crash left undelivered: every event committed before
  // this process started has no committer left (those committed since may be being delivered).
  await reconciler.runNow({ reportCommittedBefore: startedAt });

  const server = createHttpFront({
    invoke: invokeHttp,
    maxBodyBytes: LIMITS.bodyBytes,
    clock,
    log: options.log,
  });
  try {
    await listen(server, options.port, options.host);
  } catch (error) {
    // The port is taken, say: stop what was started, so nothing keeps running without a server.
    await reconciler.stop();
    await scheduler.stop();
    await closeStore();
    throw error;
  }
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${options.host}:${port}`,
    scheduler,
    store,
    invokeHttp,
    reconcile: () => reconciler.runNow({}),
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await reconciler.stop();
      await scheduler.stop();
      await closeStore();
    },
  };
}

/**
 * The reconciler on ONE timer for the whole process, re-armed after each run (never two runs at
 * once), as the rate schedule runs the reconcile function in AWS.
 */
function startReconciler(
  core: CoreDeps & { checkpoints: CheckpointStore; deleter: AgentDeleter },
  timers: Timers,
  options: LocalAppOptions,
) {
  const intervalMs = options.reconcileIntervalSeconds * 1000;
  let running: Promise<ReconcileReport | undefined> | undefined;
  let timer: unknown;
  let stopped = false;

  const run = (overrides: Partial<ReconcileSettings>) => {
    const settings = { ...RECONCILE, reapAfterMs: options.reapAfterMs ?? 0, ...overrides };
    running ??= makeReconcileHandler({ core, settings, deleter: core.deleter })(undefined)
      .catch((error: unknown) => {
        // Logged by the handler; what it could not do, the next run or pass does.
        options.log.warn('reconciler run ended with an error; the next one tries again', { error });
        return undefined;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const schedule = () => {
    if (stopped) return;
    timer = timers.set(() => {
      timer = undefined;
      void run({}).then(schedule);
    }, intervalMs);
  };
  schedule();

  return {
    runNow: (overrides: Partial<ReconcileSettings>) => run(overrides),
    async stop() {
      stopped = true;
      if (timer !== undefined) timers.clear(timer);
      await running;
    },
  };
}

/** Opens the configured store; each adapter (and its SDK) is imported only when selected. */
async function openStore(
  config: LocalStoreConfig,
  clock: Clock,
): Promise<{
  store: LocalStore;
  close: () => Promise<void>;
}> {
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
    { ensureAgentTable, ensureChecksTable },
    { createLocalDynamoClient, startDynalite },
  ] = await Promise.all([
    import('../adapters/dynamodb/agent-store.js'),
    import('../adapters/dynamodb/table.js'),
    import('./dynalite.js'),
  ]);
  // A DynamoDB-compatible server someone else runs (DYNAMODB_ENDPOINT), or the embedded one.
  let dynalite: { endpoint: string; close(): Promise<void> } | undefined;
  let endpoint: string;
  if (config.kind === 'dynamodb') endpoint = config.endpoint;
  else {
    await mkdir(config.dataDir, { recursive: true });
    dynalite = await startDynalite({ path: config.dataDir });
    endpoint = dynalite.endpoint;
  }
  const dynamo = createLocalDynamoClient(endpoint);
  await ensureAgentTable(dynamo, TABLE_NAME);
  await ensureChecksTable(dynamo, CHECKS_TABLE_NAME);
  return {
    store: new DynamoDbAgentStore(createDocumentClient(dynamo), {
      tableName: TABLE_NAME,
      checks: { tableName: CHECKS_TABLE_NAME, clock },
    }),
    close: async () => {
      dynamo.destroy();
      await dynalite?.close();
    },
  };
}

/**
 * Re-creates the schedule of every alive agent, as AWS would still hold them after a restart,
 * from the records themselves (listOpen): after a crash the embedded store's index may lack an
 * entry, and an agent missing from it would never fire. Listing needs SQL++ on Couchbase, which
 * CouchbaseMock lacks: then the runner starts anyway and says plainly that deadlines from before
 * this start fire only once those agents report again.
 */
async function rebuildSchedules(
  scheduler: LocalExpiryScheduler,
  store: AgentStore,
  core: CoreDeps,
): Promise<void> {
  const { log, timing } = core;
  try {
    const rebuilt = await scheduler.rebuild(allOpenAgents(store), timing);
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
