import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { DynamoDbAgentStore, createDocumentClient } from '../adapters/dynamodb/agent-store.js';
import { EventBridgeExpiryScheduler } from '../adapters/scheduler/eventbridge-scheduler.js';
import { systemClock } from '../adapters/system-clock.js';
import type { AgentStore } from '../core/ports.js';
import type { CoreDeps } from '../core/record-heartbeat.js';
import { readSchedulerConfig, readStoreConfig } from '../config.js';
import { createLogger } from '../observability/logger.js';

// Composition for the Lambda entry points. Everything here runs once per execution environment,
// outside the handlers, so warm invocations reuse clients and their connections.

type Env = Record<string, string | undefined>;

export function composeStore(env: Env): AgentStore {
  const { tableName } = readStoreConfig(env);
  return new DynamoDbAgentStore(createDocumentClient(new DynamoDBClient({})), { tableName });
}

export function composeCore(env: Env): CoreDeps {
  // The adapter retries throttling itself, with a budget that fits the API's timeout, so the
  // SDK's own retries are off rather than multiplied by ours.
  const scheduler = new EventBridgeExpiryScheduler(
    new SchedulerClient({ maxAttempts: 1 }),
    readSchedulerConfig(env),
  );
  return { store: composeStore(env), scheduler, clock: systemClock };
}

export const log = createLogger();
