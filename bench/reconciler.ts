/**
 * The reconciler's cost at fleet size: one run over 18,000 alive agents on dynalite, counting the
 * store reads it makes (listing pages, and the records it reads one by one) and the read units a
 * run would consume on DynamoDB, then its monthly cost at the default period. Returns figures.
 */
import { performance } from 'node:perf_hooks';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbAgentStore, createDocumentClient } from '../functions/adapters/dynamodb/agent-store.js';
import { ensureAgentTable, stateShardOf } from '../functions/adapters/dynamodb/table.js';
import { UNLIMITED } from '../functions/core/budget.js';
import type { AgentPage, AgentStore, CallOptions, CheckpointStore, Log } from '../functions/core/ports.js';
import { reconcile } from '../functions/core/reconcile.js';
import { AWS_TIMING } from '../functions/core/timing.js';
import { createLocalDynamoClient, startDynalite } from '../functions/local/dynalite.js';
import { noMetrics } from '../functions/observability/null-metrics.js';
import { makeAgentRecord } from '../test/support/records.js';

/**
 * On-demand prices (us-east-1, as published on aws.amazon.com/dynamodb/pricing and
 * aws.amazon.com/lambda/pricing since the November 2024 DynamoDB reduction): update here.
 */
export const PRICES = {
  dynamoDbPerMillionReadUnits: 0.125,
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
};

const quiet: Log = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Counts the reconciler's reads: Scan pages (with the bytes they return) and single-item gets. */
class CountingStore implements AgentStore, CheckpointStore {
  pages = 0;
  pageUnits = 0;
  gets = 0;
  constructor(private readonly inner: DynamoDbAgentStore) {}
  get(agentId: string, options?: CallOptions) {
    this.gets++;
    return this.inner.get(agentId, options);
  }
  create: AgentStore['create'] = (record, options) => this.inner.create(record, options);
  replace: AgentStore['replace'] = (record, version, options) => this.inner.replace(record, version, options);
  listByState: AgentStore['listByState'] = (state, page, options) =>
    this.inner.listByState(state, page, options);
  async listOpen(page: { limit: number; cursor: string | null }, options?: CallOptions): Promise<AgentPage> {
    const result = await this.inner.listOpen(page, options);
    this.pages++;
    // A Scan page costs its bytes read in 4 KB units, halved for an eventually consistent read.
    const bytes = result.items.reduce((sum, record) => sum + Buffer.byteLength(JSON.stringify(record)), 0);
    this.pageUnits += Math.ceil(bytes / 4096) / 2;
    return result;
  }
  loadCheckpoint: CheckpointStore['loadCheckpoint'] = (name, options) =>
    this.inner.loadCheckpoint(name, options);
  saveCheckpoint: CheckpointStore['saveCheckpoint'] = (name, value, options) =>
    this.inner.saveCheckpoint(name, value, options);
}

export async function reconcilerFigures(agents = 18_000, periodMinutes = 5) {
  const dynalite = await startDynalite({});
  const dynamo = createLocalDynamoClient(dynalite.endpoint);
  try {
    await ensureAgentTable(dynamo, 'agents');
    const documents = createDocumentClient(dynamo);
    const now = Date.now();
    // Healthy agents, armed for their deadline: a run only reads them.
    for (let i = 0; i < agents; i += 25) {
      const items = Array.from({ length: Math.min(25, agents - i) }, (_, j) => {
        const record = makeAgentRecord({ agentId: `srv-${String(i + j).padStart(6, '0')}`, lastSeen: now });
        return { PutRequest: { Item: { ...record, version: 1, stateShard: stateShardOf(record) } } };
      });
      await documents.send(new BatchWriteCommand({ RequestItems: { agents: items } }));
    }
    const store = new CountingStore(new DynamoDbAgentStore(documents, { tableName: 'agents' }));
    const noScheduler = { upsert: async () => undefined, delete: async () => undefined };
    const started = performance.now();
    const report = await reconcile(
      {
        store,
        checkpoints: store,
        scheduler: noScheduler,
        clock: { now: () => now },
        log: quiet,
        metrics: noMetrics,
        timing: AWS_TIMING,
      },
      { invocationId: 'bench', budget: UNLIMITED, precisionMs: 60_000, reportGraceMs: 300_000 },
    );
    const runMs = performance.now() - started;
    const runsPerMonth = (30 * 24 * 60) / periodMinutes;
    const readUnitsPerMonth = store.pageUnits * runsPerMonth;
    const lambdaGbSeconds = (runMs / 1000) * 0.5 * runsPerMonth; // 512 MB
    return {
      agents,
      checked: report.checked,
      passComplete: report.passComplete,
      storeReads: { scanPages: store.pages, singleReads: store.gets },
      readUnitsPerRun: store.pageUnits,
      runSecondsOnDynalite: Math.round(runMs / 100) / 10,
      perMonthAtEvery5Minutes: {
        runs: runsPerMonth,
        dynamoDbReadUnits: Math.round(readUnitsPerMonth),
        dollars: {
          dynamoDb: round2((readUnitsPerMonth / 1e6) * PRICES.dynamoDbPerMillionReadUnits),
          // An upper bound: dynalite is slower than DynamoDB, so a run in AWS takes less.
          lambdaAtDynaliteSpeed: round2(
            lambdaGbSeconds * PRICES.lambdaArmPerGbSecond +
              (runsPerMonth / 1e6) * PRICES.lambdaPerMillionRequests,
          ),
        },
      },
    };
  } finally {
    dynamo.destroy();
    await dynalite.close();
  }
}

const round2 = (n: number) => Math.round(n * 100) / 100;
