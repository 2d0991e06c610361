import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeteredStore } from '../../capacity/metered-store.js';
import { DynamoDbAgentStore, createDocumentClient } from '../../functions/adapters/dynamodb/agent-store.js';
import { ensureAgentTable, ensureChecksTable } from '../../functions/adapters/dynamodb/table.js';
import type { AgentRecord } from '../../functions/core/agent.js';
import type { AgentStore } from '../../functions/core/ports.js';
import { type LocalDynamo, createLocalDynamoClient, startDynalite } from '../../functions/local/dynalite.js';
import { FakeClock } from '../support/fakes.js';
import { makeAgentRecord } from '../support/records.js';

// The capacity calculator bills DynamoDB writes from item sizes (capacity/dynamo-size.ts) and the
// DynamoDB adapter's own rules (agentItem, planChecks). Here the same writes go through the real
// adapter on dynalite, which reports the capacity each consumed: the two must agree.

let dynalite: LocalDynamo;
let client: DynamoDBClient;

beforeAll(async () => {
  dynalite = await startDynalite();
  client = createLocalDynamoClient(dynalite.endpoint);
  await ensureAgentTable(client, 'agents');
  await ensureChecksTable(client, 'agents-checks');
});

afterAll(async () => {
  client?.destroy();
  await dynalite?.close();
});

describe('the calculator meters DynamoDB as DynamoDB bills the adapter', () => {
  it('write units of every write of a heartbeat sequence: checks inline, apart, refreshed, changed, expired', async () => {
    const clock = new FakeClock();
    const consumed = { write: 0, read: 0 };
    const documents = createDocumentClient(client);
    documents.middlewareStack.add(
      (next) => async (args) => {
        (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity = 'TOTAL';
        const result = await next(args);
        const units = (result.output as { ConsumedCapacity?: { CapacityUnits?: number } }).ConsumedCapacity;
        const command = (args as unknown as { input: { ConsistentRead?: boolean } }).input;
        if (units?.CapacityUnits !== undefined) {
          if ('ConsistentRead' in command) consumed.read += units.CapacityUnits;
          else consumed.write += units.CapacityUnits;
        }
        return result;
      },
      { step: 'initialize', name: 'meterCapacity' },
    );
    const real = new DynamoDbAgentStore(documents, {
      tableName: 'agents',
      checks: { tableName: 'agents-checks', clock },
    });
    const metered = new MeteredStore(clock);

    const checks = (status: 'pass' | 'fail') =>
      Array.from({ length: 5 }, (_, i) => ({
        name: `check-${i}`,
        status: i === 0 ? status : 'pass',
        output: 'y'.repeat(200),
      }));
    const steps: { record: AgentRecord; advanceSeconds?: number }[] = [
      { record: makeAgentRecord({ checks: checks('pass'), seq: 1 }) },
      { record: makeAgentRecord({ checks: checks('pass'), seq: 2 }) }, // repeated once: inline
      { record: makeAgentRecord({ checks: checks('pass'), seq: 3 }) }, // twice: the checks item, the small one
      { record: makeAgentRecord({ checks: checks('pass'), seq: 4 }) }, // the small one alone
      { record: makeAgentRecord({ checks: checks('pass'), seq: 5 }), advanceSeconds: 15 * 86_400 }, // refreshed
      { record: makeAgentRecord({ checks: checks('fail'), seq: 6 }) }, // a change of steady checks: a new item
      { record: makeAgentRecord({ checks: checks('pass'), seq: 7 }) }, // changed again: inline
      { record: makeAgentRecord({ checks: checks('pass'), seq: 8, state: 'expired' }) }, // not alive: inline
      { record: makeAgentRecord({ checks: [], seq: 9 }) },
    ];
    // The same sequence through both, on the same clock from the same start.
    const start = clock.now();
    await runSteps(real, steps, clock, start);
    await runSteps(metered, steps, clock, start);

    const billed = metered.meter.recordWriteUnits + metered.meter.checksWriteUnits;
    expect(consumed.write).toBeGreaterThan(steps.length); // some writes cost more than one unit
    expect(billed).toBe(consumed.write);
    expect(metered.meter.checksWrites).toBe(3); // apart, refreshed, changed while steady
  });
});

/** Each step: read the agent, then create or replace it; the clock moves where a step says. */
async function runSteps(
  store: AgentStore,
  steps: { record: AgentRecord; advanceSeconds?: number }[],
  clock: FakeClock,
  start: number,
): Promise<void> {
  clock.ms = start;
  for (const step of steps) {
    if (step.advanceSeconds !== undefined) clock.advance(step.advanceSeconds);
    const current = await store.get(step.record.agentId);
    if (current === undefined) await store.create(step.record);
    else await store.replace(step.record, current.version);
  }
}
