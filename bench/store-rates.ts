/**
 * Per store, on its local server: heartbeats/s through the ingest handler (in-process, no-op
 * scheduler, so the store is what is measured), KV operations per accepted heartbeat (target:
 * 1 read + 1 conditional write), and the raw SDK get+replace rate on the same server, so the
 * adapter's and handler's overhead is a ratio. Each phase is time-boxed; the whole run takes
 * about 15 s per store. Prints nothing itself: `storeRates()` returns the figures.
 */
import { performance } from 'node:perf_hooks';
import { type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Collection } from 'couchbase';
import { CouchbaseAgentStore, agentKey } from '../functions/adapters/couchbase/agent-store.js';
import { createCouchbaseConnector } from '../functions/adapters/couchbase/connection.js';
import { DynamoDbAgentStore, createDocumentClient } from '../functions/adapters/dynamodb/agent-store.js';
import { ensureAgentTable } from '../functions/adapters/dynamodb/table.js';
import { systemClock } from '../functions/adapters/system-clock.js';
import type { AgentRecord, AgentState, StoredAgent } from '../functions/core/agent.js';
import { VersionConflictError } from '../functions/core/errors.js';
import { AWS_TIMING } from '../functions/core/timing.js';
import type { AgentPage, AgentStore, CallOptions, ExpiryScheduler, Log } from '../functions/core/ports.js';
import { makeIngestHandler } from '../functions/handlers/ingest.js';
import { noMetrics } from '../functions/observability/null-metrics.js';
import { makeBearerAuth } from '../functions/http/auth.js';
import { createLocalDynamoClient, startDynalite } from '../functions/local/dynalite.js';
import { TOKEN, heartbeatEvent } from '../test/support/api-events.js';
import { startCouchbaseMock } from '../test/support/couchbase-mock.js';

const AGENTS = 200;
const CONCURRENCY = 16;
const PHASE_MS = 2_000;
const WARMUP_MS = 1_000;
const ROUNDS = 5;

const quiet: Log = { info: () => undefined, warn: () => undefined, error: () => undefined };
const noScheduler: ExpiryScheduler = { upsert: async () => undefined, delete: async () => undefined };

/** Counts what the core asks of the store: reads, conditional writes, and writes that lost a race. */
class CountingStore implements AgentStore {
  reads = 0;
  conditionalWrites = 0;
  conflicts = 0;

  constructor(private readonly inner: AgentStore) {}

  reset(): void {
    this.reads = this.conditionalWrites = this.conflicts = 0;
  }

  get(agentId: string, options?: CallOptions): Promise<StoredAgent | undefined> {
    this.reads++;
    return this.inner.get(agentId, options);
  }

  create(record: AgentRecord, options?: CallOptions): Promise<StoredAgent> {
    return this.#write(() => this.inner.create(record, options));
  }

  replace(record: AgentRecord, expectedVersion: string, options?: CallOptions): Promise<StoredAgent> {
    return this.#write(() => this.inner.replace(record, expectedVersion, options));
  }

  listByState(state: AgentState, page: { limit: number; cursor: string | null }): Promise<AgentPage> {
    return this.inner.listByState(state, page);
  }

  listOpen(page: { limit: number; cursor: string | null }): Promise<AgentPage> {
    return this.inner.listOpen(page);
  }

  async #write(write: () => Promise<StoredAgent>): Promise<StoredAgent> {
    this.conditionalWrites++;
    try {
      return await write();
    } catch (error) {
      if (error instanceof VersionConflictError) this.conflicts++;
      throw error;
    }
  }
}

/** Runs `op` from CONCURRENCY workers until PHASE_MS has passed; returns completed calls and seconds. */
async function timeBoxed(
  op: (i: number) => Promise<boolean>,
  phaseMs = PHASE_MS,
): Promise<{ ok: number; failed: number; seconds: number }> {
  let next = 0;
  let ok = 0;
  let failed = 0;
  const started = performance.now();
  const deadline = started + phaseMs;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        if (await op(next++)) ok++;
        else failed++;
      }
    }),
  );
  return { ok, failed, seconds: (performance.now() - started) / 1000 };
}

type Op = (i: number) => Promise<boolean>;

/** The ingest handler over `inner` (counted), with the first heartbeat of each agent sent. */
async function handlerPhase(inner: AgentStore) {
  const store = new CountingStore(inner);
  const ingest = makeIngestHandler({
    core: {
      store,
      scheduler: noScheduler,
      clock: systemClock,
      log: quiet,
      metrics: noMetrics,
      timing: AWS_TIMING,
    },
    policy: { defaultTtlSeconds: 90, defaultIntervalSeconds: 30, minTtlSeconds: 1 },
    authenticate: makeBearerAuth([TOKEN]),
  });
  let firstFailure: string | undefined;
  const events = Array.from({ length: AGENTS }, (_, i) =>
    heartbeatEvent({ agentId: `bench-${i}`, checks: [{ name: 'disk', status: 'pass' }] }),
  );
  const send: Op = async (i) => {
    const response = await ingest(events[i % AGENTS] as (typeof events)[number]);
    if (response.statusCode === 200) return true;
    firstFailure ??= `${response.statusCode} ${String(response.body)}`;
    return false;
  };
  // The first heartbeat of each agent creates its record; measure the steady state after that.
  for (let i = 0; i < AGENTS; i++) await send(i);
  store.reset();
  return { send, store, firstFailure: () => firstFailure };
}

/**
 * The handler and the raw baseline in turns, after a warm-up of each: run one after the other,
 * whichever went second ran on a warmer JIT, server and disk cache (that alone read as a 1.6x
 * gap on dynalite). The figure per side is the median round.
 */
async function compare(inner: AgentStore, raw: Op) {
  const handler = await handlerPhase(inner);
  await timeBoxed(handler.send, WARMUP_MS);
  await timeBoxed(raw, WARMUP_MS);
  handler.store.reset();
  const handlerRounds: Array<{ ok: number; failed: number; seconds: number }> = [];
  const rawRounds: Array<{ ok: number; failed: number; seconds: number }> = [];
  for (let round = 0; round < ROUNDS; round++) {
    handlerRounds.push(await timeBoxed(handler.send));
    rawRounds.push(await timeBoxed(raw));
  }
  const rate = (r: { ok: number; seconds: number }) => r.ok / r.seconds;
  const median = (rounds: typeof handlerRounds) =>
    [...rounds].sort((a, b) => rate(a) - rate(b))[Math.floor(rounds.length / 2)] ?? {
      ok: 0,
      failed: 0,
      seconds: 1,
    };
  const h = median(handlerRounds);
  const r = median(rawRounds);
  const accepted = handlerRounds.reduce((sum, round) => sum + round.ok, 0);
  const failureText = handler.firstFailure();
  const heartbeatsPerSecond = Math.round(rate(h));
  const rawPairsPerSecond = Math.round(rate(r));
  return {
    ingestHandler: {
      rounds: handlerRounds.map((round) => Math.round(rate(round))),
      heartbeatsPerSecond,
      failures: handlerRounds.reduce((sum, round) => sum + round.failed, 0),
      kvPerAcceptedHeartbeat: {
        reads: round(handler.store.reads / Math.max(1, accepted)),
        conditionalWrites: round(handler.store.conditionalWrites / Math.max(1, accepted)),
        lostRaces: handler.store.conflicts,
      },
      ...(failureText === undefined ? {} : { firstFailure: failureText }),
    },
    rawSdkGetReplace: {
      rounds: rawRounds.map((round) => Math.round(rate(round))),
      pairsPerSecond: rawPairsPerSecond,
    },
    // How many times the raw get+replace rate exceeds the handler's heartbeat rate (target <= 1.2).
    rawToHandlerRatio: round(rawPairsPerSecond / Math.max(1, heartbeatsPerSecond)),
  };
}

/**
 * Raw SDK: read one agent's item and write it back conditionally on what was read, with the
 * times a heartbeat moves: the same record the handler writes, nothing of ours around it.
 */
function rawDynamo(client: DynamoDBClient, tableName: string): Op {
  const documents = createDocumentClient(client);
  return async (i) => {
    const Key = { agentId: `bench-${i % AGENTS}` };
    const { Item } = await documents.send(
      new GetCommand({ TableName: tableName, Key, ConsistentRead: true }),
    );
    const version = Item?.['version'];
    if (Item === undefined || typeof version !== 'number') return false;
    const now = Date.now();
    try {
      await documents.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            ...Item,
            lastSeen: now,
            deadline: now + 90_000,
            armedFor: now + 90_000,
            version: version + 1,
          },
          ConditionExpression: '#version = :expected',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':expected': version },
        }),
      );
      return true;
    } catch {
      return false;
    }
  };
}

/** Raw SDK: `get` then `replace` with the CAS just read, the times moved as by a heartbeat. */
function rawCouchbase(collection: Collection): Op {
  return async (i) => {
    const key = agentKey(`bench-${i % AGENTS}`);
    const read = await collection.get(key);
    const now = Date.now();
    const record = read.content as AgentRecord;
    try {
      await collection.replace(
        key,
        { ...record, lastSeen: now, deadline: now + 90_000, armedFor: now + 90_000 },
        { cas: read.cas },
      );
      return true;
    } catch {
      return false;
    }
  };
}

async function dynamodbOnDynalite() {
  const dynalite = await startDynalite({});
  const client = createLocalDynamoClient(dynalite.endpoint);
  try {
    await ensureAgentTable(client, 'agents');
    return await compare(
      new DynamoDbAgentStore(createDocumentClient(client), { tableName: 'agents' }),
      rawDynamo(client, 'agents'),
    );
  } finally {
    client.destroy();
    await dynalite.close();
  }
}

async function couchbaseOnCouchbaseMock() {
  const mock = await startCouchbaseMock({ bucket: 'bench' });
  const connector = createCouchbaseConnector(mock);
  try {
    return await compare(new CouchbaseAgentStore(connector), rawCouchbase(await connector.collection()));
  } finally {
    await connector.close();
    await mock.stop();
  }
}

/** One store after the other (they would compete for the two cores otherwise). */
export async function storeRates(): Promise<Record<string, unknown>> {
  return {
    setup: {
      agents: AGENTS,
      concurrency: CONCURRENCY,
      phaseSeconds: PHASE_MS / 1000,
      rounds: `${ROUNDS}, alternating, after a warm-up of each; medians`,
      scheduler: 'no-op',
    },
    dynamodbAdapterOnDynalite: await dynamodbOnDynalite(),
    couchbaseAdapterOnCouchbaseMock: await couchbaseOnCouchbaseMock(),
  };
}

const round = (n: number) => Math.round(n * 1000) / 1000;
