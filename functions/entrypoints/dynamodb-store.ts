import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDbAgentStore, createDocumentClient } from '../adapters/dynamodb/agent-store.js';
import { systemClock } from '../adapters/system-clock.js';

/**
 * The DynamoDB store for the functions. Imported statically and by name, as is the client: a
 * dynamic import here made esbuild keep every command and waiter of DynamoDB (70 KiB of the
 * bundle, parsed on every cold start).
 */
export function createDynamoDbStore(
  tables: { tableName: string; checksTableName: string },
  clientConfig: DynamoDBClientConfig,
): DynamoDbAgentStore {
  return new DynamoDbAgentStore(createDocumentClient(new DynamoDBClient(clientConfig)), {
    tableName: tables.tableName,
    checks: { tableName: tables.checksTableName, clock: systemClock },
  });
}
