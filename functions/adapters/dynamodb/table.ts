import {
  type CreateTableCommandInput,
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';

/**
 * The agent table: one item per agent keyed by `agentId`. On AWS the CDK stack creates it; this
 * definition is for the local runner and the tests, and must stay in step with the stack.
 */
export function agentTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    AttributeDefinitions: [{ AttributeName: 'agentId', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'agentId', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  };
}

export interface EnsureTableOptions {
  /** Give up when the table is not ACTIVE after this long. */
  maxWaitSeconds?: number;
}

/**
 * Creates the agent table unless it exists, then waits until it is ACTIVE. Safe to call on every
 * start and from several processes at once: losing the creation race is not an error.
 */
export async function ensureAgentTable(
  client: DynamoDBClient,
  tableName: string,
  options: EnsureTableOptions = {},
): Promise<void> {
  if (!(await tableExists(client, tableName))) {
    try {
      await client.send(new CreateTableCommand(agentTableDefinition(tableName)));
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
  }
  // The table may exist but still be CREATING: ours just now (dynalite reports CREATING until a
  // timer fires, even with createTableMs 0) or someone else's. The waiter checks at once, then
  // backs off from 50 ms; the SDK's default first delay of 20 s is far too slow for a local table.
  await waitUntilTableExists(
    { client, minDelay: 0.05, maxDelay: 5, maxWaitTime: options.maxWaitSeconds ?? 60 },
    { TableName: tableName },
  );
}

async function tableExists(client: DynamoDBClient, tableName: string): Promise<boolean> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return true;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return false;
    throw error;
  }
}
