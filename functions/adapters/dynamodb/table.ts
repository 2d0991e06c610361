import { hash } from 'node:crypto';
import {
  type CreateTableCommandInput,
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import type { AgentRecord, AgentState } from '../../core/agent.js';
import { checksTableDefinition } from './checks-table.js';

/** Index for listing agents by state; the CDK stack must define the same. */
export const STATE_INDEX = 'byState';
/**
 * Index partitions per state. One partition key per state would put a whole fleet's mass expiry
 * (or every alive agent) on one index partition and throttle the table's writes through it.
 */
export const STATE_SHARDS = 16;

export function stateShard(state: AgentState, shard: number): string {
  return `${state}#${shard.toString(16).padStart(2, '0')}`;
}

/** The index key of a record: its state and a shard from a hash of its id, stable for the agent. */
export function stateShardOf(record: Pick<AgentRecord, 'state' | 'agentId'>): string {
  const shard = hash('sha256', record.agentId, 'buffer')[0] ?? 0;
  return stateShard(record.state, shard % STATE_SHARDS);
}

/**
 * The agent table: one item per agent keyed by `agentId`, plus the `byState` index. It projects
 * keys only: records change on every heartbeat, but their index entry only when the state does,
 * so heartbeats cost no index writes. On AWS the CDK stack creates the table; this definition is
 * for the local runner and the tests, and must stay in step with the stack.
 */
export function agentTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    AttributeDefinitions: [
      { AttributeName: 'agentId', AttributeType: 'S' },
      { AttributeName: 'stateShard', AttributeType: 'S' },
    ],
    KeySchema: [{ AttributeName: 'agentId', KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [
      {
        IndexName: STATE_INDEX,
        KeySchema: [
          { AttributeName: 'stateShard', KeyType: 'HASH' },
          { AttributeName: 'agentId', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
    ],
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
export function ensureAgentTable(
  client: DynamoDBClient,
  tableName: string,
  options: EnsureTableOptions = {},
): Promise<void> {
  return ensureTable(client, agentTableDefinition(tableName), options);
}

/** The same for the table of checks kept apart (checks-table.ts). */
export function ensureChecksTable(
  client: DynamoDBClient,
  tableName: string,
  options: EnsureTableOptions = {},
): Promise<void> {
  return ensureTable(client, checksTableDefinition(tableName), options);
}

async function ensureTable(
  client: DynamoDBClient,
  definition: CreateTableCommandInput,
  options: EnsureTableOptions,
): Promise<void> {
  const tableName = definition.TableName ?? '';
  if (!(await tableExists(client, tableName))) {
    try {
      await client.send(new CreateTableCommand(definition));
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
