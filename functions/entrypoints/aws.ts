import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { awsRetryStrategy } from '../adapters/aws-retry.js';
import { cachedJsonSecret } from '../adapters/secrets.js';
import { CircuitBreakingPublisher } from '../adapters/events/circuit-breaking-publisher.js';
import { EventBridgePublisher } from '../adapters/events/eventbridge-publisher.js';
import { CircuitBreakingScheduler } from '../adapters/scheduler/circuit-breaker.js';
import { EventBridgeExpiryScheduler } from '../adapters/scheduler/eventbridge-scheduler.js';
import { systemClock } from '../adapters/system-clock.js';
import type {
  AgentDeleter,
  AgentStore,
  CheckpointStore,
  CoreDeps,
  EventPublisher,
  MaintenanceStore,
  MassExpiryStore,
  PulseStore,
} from '../core/ports.js';
import { makeExpiryGuard } from '../core/expiry-guard.js';
import { AWS_TIMING } from '../core/timing.js';
import {
  type PersistenceConfig,
  type TokenConfig,
  couchbaseSettingsSchema,
  readEventsConfig,
  readGuardConfig,
  readSchedulerConfig,
  tokenSecretSchema,
} from '../config.js';
import type { TokenSource } from '../http/auth.js';
import { errorToResponse } from '../http/errors-to-response.js';
import type { HttpResult } from '../http/problem.js';
import { createLambdaLogger } from '../observability/logger.js';
import { createCouchbaseStore } from './couchbase-store.js';
import { createDynamoDbStore } from './dynamodb-store.js';
import { createEmfMetrics } from '../observability/metrics.js';

// Composition for the Lambda entry points. Settings are parsed when the module loads (a bad one
// fails the cold start with a clear message); clients are created once per execution
// environment and reused by every warm invocation.

type Env = Record<string, string | undefined>;

const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'heartbeat';
export const log = createLambdaLogger(serviceName);
export const metrics = createEmfMetrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'HeartbeatService',
  serviceName,
});

/**
 * Every line of this invocation carries its Lambda context (request id, cold start, function
 * name) and, for an API request, API Gateway's request id as correlation id.
 */
function tagLogs(context: Context | undefined, correlationId: string | undefined): void {
  if (context !== undefined) log.addContext(context);
  log.setCorrelationId(correlationId);
}

/**
 * Every AWS client: each attempt answers or fails within ~2 s (without throwOnRequestTimeout the
 * SDK only logs a warning when requestTimeout passes), retried by the SDK's own strategy with one
 * policy (adapters/aws-retry.ts); the invocation's budget then cuts a call shorter when less is left.
 */
const clientConfig = (onThrottle?: () => void) => ({
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000, throwOnRequestTimeout: true },
  retryStrategy: awsRetryStrategy(onThrottle),
});

let secretsClient: SecretsManagerClient | undefined;
const secrets = () => (secretsClient ??= new SecretsManagerClient(clientConfig()));

/** Tokens from the secret, re-read every 5 minutes so a rotation needs no redeploy. */
export function tokenSource(config: TokenConfig): TokenSource {
  if (config.kind === 'static') return async () => config.tokens;
  const read = cachedJsonSecret({
    client: secrets(),
    secretId: config.secretId,
    schema: tokenSecretSchema,
    clock: systemClock,
    maxAgeMs: 5 * 60_000,
  });
  return async () => {
    const { current, previous } = await read();
    return previous === undefined ? [current] : [current, previous];
  };
}

/**
 * The store named by PERSISTENCE. Both adapters are imported statically: a dynamic import would
 * make esbuild keep whole SDK packages (it cannot tree-shake what a lazily loaded module imports).
 * A DynamoDB bundle still never loads the Couchbase native module: there `couchbase` resolves to
 * an empty stand-in (cdk/bundling.ts), and a Couchbase bundle needs its binding at start anyway.
 */
export async function composeStore(
  config: PersistenceConfig,
): Promise<AgentStore & AgentDeleter & CheckpointStore & PulseStore & MassExpiryStore & MaintenanceStore> {
  if (config.kind === 'dynamodb') {
    return createDynamoDbStore(
      config,
      clientConfig(() => metrics.count('StoreThrottles')),
    );
  }
  const settings = await cachedJsonSecret({
    client: secrets(),
    secretId: config.secretId,
    schema: couchbaseSettingsSchema,
    clock: systemClock,
    maxAgeMs: Number.POSITIVE_INFINITY, // read once: a new password means new connections anyway
  })();
  return createCouchbaseStore(settings);
}

/**
 * The event bus (EVENT_BUS_NAME), paused like the scheduler while it keeps failing: an event that
 * is not published stays in its record for the reconciler (core/deliver-events.ts).
 */
export function composeEvents(env: Env): EventPublisher {
  const client = new EventBridgeClient(clientConfig());
  return new CircuitBreakingPublisher(new EventBridgePublisher(client, readEventsConfig(env)), {
    clock: systemClock,
    onOpen: (error) =>
      log.warn('event bus unavailable: publishing pauses 10 s at a time; events wait in their records', {
        error,
      }),
  });
}

export async function composeCore(
  persistence: PersistenceConfig,
  env: Env,
): Promise<
  CoreDeps & {
    checkpoints: CheckpointStore;
    pulseStore: PulseStore;
    deleter: AgentDeleter;
    maintenance: MaintenanceStore;
  }
> {
  const events = composeEvents(env);
  const client = new SchedulerClient(clientConfig(() => metrics.count('SchedulerThrottles')));
  // Paused for a few seconds at a time while the scheduler keeps failing: see circuit-breaker.ts.
  const scheduler = new CircuitBreakingScheduler(
    new EventBridgeExpiryScheduler(client, { ...readSchedulerConfig(env), clock: systemClock }),
    {
      clock: systemClock,
      onOpen: (error) =>
        log.warn('scheduler unavailable: its calls pause 10 s at a time; records say no schedule is known', {
          error,
        }),
    },
  );
  const store = await composeStore(persistence);
  // The scheduler's precision: a deferred agent is looked at again a minute later.
  const guardSettings = readGuardConfig(env, 60_000);
  return {
    store,
    checkpoints: store,
    pulseStore: store,
    deleter: store,
    maintenance: store,
    events,
    guard: makeExpiryGuard({ store, clock: systemClock, log, metrics }, guardSettings),
    scheduler,
    clock: systemClock,
    log,
    metrics,
    timing: AWS_TIMING,
  };
}

type HttpHandler = (event: APIGatewayProxyEventV2, context?: Context) => Promise<HttpResult>;

/**
 * Runs `init` on the first invocation and reuses its result; if it fails (a secret or the store
 * unreachable) the next invocation tries again, and this one gets a problem response (503 for an
 * unavailable backend) rather than API Gateway's bare 500. Metrics are flushed after each call.
 */
export function lazyHttpHandler(init: () => Promise<HttpHandler>): HttpHandler {
  let ready: Promise<HttpHandler> | undefined;
  return async (event, context) => {
    tagLogs(context, event.requestContext?.requestId);
    try {
      ready ??= init().catch((error: unknown) => {
        ready = undefined;
        throw error;
      });
      return await (
        await ready
      )(event, context);
    } catch (error) {
      return errorToResponse(error, log, event.requestContext?.requestId);
    } finally {
      metrics.flush();
    }
  };
}

/**
 * As lazyHttpHandler, for the scheduler's invocations: failures are thrown so that Lambda retries
 * and then dead-letters the event. The Lambda context is passed on (its request id names the
 * expiry in the record and the log line).
 */
export function lazyHandler<E, C, R = void>(
  init: () => Promise<(event: E, context?: C) => Promise<R>>,
): (event: E, context?: C) => Promise<void> {
  let ready: Promise<(event: E, context?: C) => Promise<R>> | undefined;
  return async (event, context) => {
    tagLogs(context as Context | undefined, (context as Context | undefined)?.awsRequestId);
    try {
      ready ??= init().catch((error: unknown) => {
        ready = undefined;
        throw error;
      });
      const handler = await ready;
      await handler(event, context);
    } finally {
      metrics.flush();
    }
  };
}
