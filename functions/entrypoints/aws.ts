import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { DynamoDbAgentStore, createDocumentClient } from '../adapters/dynamodb/agent-store.js';
import { EventBridgeExpiryScheduler } from '../adapters/scheduler/eventbridge-scheduler.js';
import { systemClock } from '../adapters/system-clock.js';
import type { CoreDeps } from '../core/record-heartbeat.js';
import { type LambdaConfig, readLambdaConfig } from '../config.js';
import { createLogger } from '../observability/logger.js';

/**
 * Composition for the Lambda entry points: configuration read once and clients created once per
 * execution environment, outside the handlers, so warm invocations reuse connections.
 */
export function composeAws(env: Record<string, string | undefined>): {
  config: LambdaConfig;
  core: CoreDeps;
} {
  const config = readLambdaConfig(env);
  const store = new DynamoDbAgentStore(createDocumentClient(new DynamoDBClient({})), {
    tableName: config.tableName,
  });
  // The adapter retries throttling itself (with a budget that fits the API's timeout), so the
  // SDK's own retries are off rather than multiplied by ours.
  const scheduler = new EventBridgeExpiryScheduler(new SchedulerClient({ maxAttempts: 1 }), config.scheduler);
  return { config, core: { store, scheduler, clock: systemClock } };
}

export const log = createLogger();
