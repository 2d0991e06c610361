/**
 * The bench's pipeline: the ingest and expiry handlers over a store (dynalite or in-memory) and
 * the local scheduler, with the schedule writes and expiry invocations per agent counted.
 */
import { DynamoDbAgentStore, createDocumentClient } from '../functions/adapters/dynamodb/agent-store.js';
import { MemoryAgentStore } from '../functions/adapters/memory/agent-store.js';
import { ensureAgentTable } from '../functions/adapters/dynamodb/table.js';
import { LocalExpiryScheduler } from '../functions/adapters/scheduler/local-scheduler.js';
import type { ExpiryPayload } from '../functions/core/agent.js';
import { LOCAL_TIMING } from '../functions/core/timing.js';
import type { CallOptions, Clock, ExpiryScheduler, Log, ScheduleRequest } from '../functions/core/ports.js';
import { makeExpiryHandler } from '../functions/handlers/expiry.js';
import { makeIngestHandler } from '../functions/handlers/ingest.js';
import { makeBearerAuth } from '../functions/http/auth.js';
import { noMetrics } from '../functions/observability/null-metrics.js';
import { createLocalDynamoClient, startDynalite } from '../functions/local/dynalite.js';
import { TOKEN } from '../test/support/api-events.js';
import type { VirtualTime } from '../test/support/virtual-time.js';

const quiet: Log = { info: () => undefined, warn: () => undefined, error: () => undefined };

class CountingScheduler implements ExpiryScheduler {
  writes = new Map<string, number>();
  constructor(private readonly inner: ExpiryScheduler) {}
  get total(): number {
    return [...this.writes.values()].reduce((a, b) => a + b, 0);
  }
  async upsert(request: ScheduleRequest, options?: CallOptions): Promise<void> {
    this.writes.set(request.payload.agentId, (this.writes.get(request.payload.agentId) ?? 0) + 1);
    await this.inner.upsert(request, options);
  }
  delete(name: string, options?: CallOptions): Promise<void> {
    return this.inner.delete(name, options);
  }
}

export async function dynaliteStore() {
  const dynalite = await startDynalite({});
  const dynamo = createLocalDynamoClient(dynalite.endpoint);
  await ensureAgentTable(dynamo, 'agents');
  const store = new DynamoDbAgentStore(createDocumentClient(dynamo), { tableName: 'agents' });
  return {
    store,
    close: async () => {
      dynamo.destroy();
      await dynalite.close();
    },
  };
}

/** The in-memory test store: what the handler and core cost without a store behind them. */
export async function memoryStore() {
  return { store: new MemoryAgentStore(), close: async () => undefined };
}

export type StoreFactory = typeof dynaliteStore | typeof memoryStore;

export async function pipeline(clock: Clock, timers?: VirtualTime, makeStore: StoreFactory = dynaliteStore) {
  const { store, close: closeStore } = await makeStore();
  const invocations = new Map<string, number>();
  let expire: (payload: ExpiryPayload, context: { awsRequestId: string }) => Promise<void> = async () =>
    undefined;
  const local = new LocalExpiryScheduler({
    clock,
    ...(timers ? { timers } : {}),
    fire: (payload, deliveryId) => {
      invocations.set(payload.agentId, (invocations.get(payload.agentId) ?? 0) + 1);
      return expire(payload, { awsRequestId: deliveryId });
    },
    deadLetter: (payload) => console.error('dead-lettered', payload),
  });
  const scheduler = new CountingScheduler(local);
  // Local timing: schedules fire at the deadline plus the local grace.
  const core = { store, scheduler, clock, log: quiet, metrics: noMetrics, timing: LOCAL_TIMING };
  expire = makeExpiryHandler({ core });
  const ingest = makeIngestHandler({
    core,
    policy: { defaultTtlSeconds: 90, defaultIntervalSeconds: 30, minTtlSeconds: 1 },
    authenticate: makeBearerAuth([TOKEN]),
  });
  const close = async () => {
    await local.stop();
    await closeStore();
  };
  return { ingest, local, scheduler, invocations, store, close };
}
