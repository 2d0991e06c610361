/**
 * `npm run bench`: prints figures, asserts nothing. The targets they are read against are in the
 * README. Uses the local adapters: the DynamoDB adapter on an in-memory dynalite and the local
 * scheduler, with virtual time where the question is "how many calls", not "how fast".
 */
import { performance } from 'node:perf_hooks';
import { DynamoDbAgentStore, createDocumentClient } from '../functions/adapters/dynamodb/agent-store.js';
import { MemoryAgentStore } from '../functions/adapters/memory/agent-store.js';
import { ensureAgentTable } from '../functions/adapters/dynamodb/table.js';
import { LocalExpiryScheduler } from '../functions/adapters/scheduler/local-scheduler.js';
import type { ExpiryPayload } from '../functions/core/agent.js';
import { systemClock } from '../functions/adapters/system-clock.js';
import { LOCAL_TIMING } from '../functions/core/timing.js';
import type { CallOptions, Clock, ExpiryScheduler, Log, ScheduleRequest } from '../functions/core/ports.js';
import { makeExpiryHandler } from '../functions/handlers/expiry.js';
import { makeIngestHandler } from '../functions/handlers/ingest.js';
import { makeBearerAuth } from '../functions/http/auth.js';
import { noMetrics } from '../functions/observability/null-metrics.js';
import { createLocalDynamoClient, startDynalite } from '../functions/local/dynalite.js';
import { heartbeatEvent, TOKEN } from '../test/support/api-events.js';
import { VirtualTime } from '../test/support/virtual-time.js';
import { brownoutFigures } from './brownout.js';
import { pulseFigures } from './pulse.js';
import { bundleFigures } from './bundle.js';
import { reconcilerFigures } from './reconciler.js';
import { runnerMemoryFigures } from './runner-memory.js';
import { storeRates } from './store-rates.js';

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

async function dynaliteStore() {
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
async function memoryStore() {
  return { store: new MemoryAgentStore(), close: async () => undefined };
}

type StoreFactory = typeof dynaliteStore | typeof memoryStore;

async function pipeline(clock: Clock, timers?: VirtualTime, makeStore: StoreFactory = dynaliteStore) {
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

async function throughput(makeStore: StoreFactory) {
  const p = await pipeline(systemClock, undefined, makeStore);
  const agents = 200;
  const total = 4000;
  const concurrency = 16;
  const send = (i: number) =>
    p.ingest(heartbeatEvent({ agentId: `bench-${i % agents}`, checks: [{ name: 'disk', status: 'pass' }] }));
  for (let i = 0; i < agents; i++) await send(i); // first heartbeats create records; measure steady state
  let next = 0;
  let failures = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const response = await send(next++);
        if (response.statusCode !== 200) failures++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await p.close();
  return { heartbeats: total, seconds: round(seconds), perSecond: Math.round(total / seconds), failures };
}

/** Virtual time: a fleet heartbeating at 30 s / TTL 90 s for an hour, then some agents die. */
async function scheduleEconomy() {
  const time = new VirtualTime();
  const p = await pipeline(time, time);
  const agents = Array.from({ length: 100 }, (_, i) => `sim-${i}`);
  const dead = new Set(agents.slice(0, 20));
  const settle = () => p.local.settle();
  // Spread agents over the interval, as a real fleet is, with a little jitter per beat.
  const offsetMs = (i: number) => Math.floor((i * 30_000) / agents.length);
  const beatRound = async (round: number, ids: string[]) => {
    for (const [i, agentId] of ids.entries()) {
      const due = time.ms0 + round * 30_000 + offsetMs(i) + ((i * 7919 + round * 104729) % 500);
      await time.advanceTo(Math.max(time.now(), due), settle);
      await p.ingest(heartbeatEvent({ agentId }));
    }
  };
  const rounds = 120; // one hour
  // The first heartbeat of each agent must arm a schedule; steady state starts after it.
  await beatRound(0, agents);
  const writesAfterRegistration = p.scheduler.total;
  for (let round = 1; round < rounds; round++) await beatRound(round, agents);
  const steadyWrites = p.scheduler.total - writesAfterRegistration;
  const steadyBeats = (rounds - 1) * agents.length;

  // 20 agents stop; the rest go on for ten more rounds (300 s), well past the dead agents' TTL.
  const writesBefore = new Map(p.scheduler.writes);
  const alive = agents.filter((id) => !dead.has(id));
  for (let round = rounds; round < rounds + 10; round++) await beatRound(round, alive);

  const deadWrites = [...dead].map((id) => (p.scheduler.writes.get(id) ?? 0) - (writesBefore.get(id) ?? 0));
  const deadInvocations = [...dead].map((id) => p.invocations.get(id) ?? 0);
  let expired = 0;
  for (const id of agents) if ((await p.store.get(id))?.record.state === 'expired') expired++;
  const healthyInvocations = alive.reduce((sum, id) => sum + (p.invocations.get(id) ?? 0), 0);
  await p.close();
  return {
    steadyState: {
      agents: agents.length,
      heartbeats: steadyBeats,
      scheduleWritesPerHeartbeat: round(steadyWrites / steadyBeats),
      expiryInvocationsForHealthyAgents: healthyInvocations,
    },
    deadAgents: {
      agents: dead.size,
      expiredAgentsInFleet: expired,
      scheduleWritesPerDeadAgent: round(average(deadWrites)),
      invocationsPerDeadAgent: round(average(deadInvocations)),
      maxInvocationsForOneDeadAgent: Math.max(...deadInvocations),
    },
  };
}

const round = (n: number) => Math.round(n * 1000) / 1000;
const average = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

console.log(
  'per store on its local server: ingest heartbeats/s, KV operations per heartbeat, raw SDK get+replace rate:',
);
console.log(JSON.stringify(await storeRates(), null, 2));
console.log('ingest throughput (in-process handler, local scheduler, 200 agents, 16 concurrent):');
console.log(
  JSON.stringify(
    {
      dynamodbAdapterOnDynalite: await throughput(dynaliteStore),
      memoryStore: await throughput(memoryStore),
    },
    null,
    2,
  ),
);
console.log(
  'schedule economy (interval 30 s, TTL 90 s, one virtual hour; targets: <= 0.5 writes/heartbeat, 0 invocations for healthy agents, <= 2 invocations per dead agent):',
);
console.log(JSON.stringify(await scheduleEconomy(), null, 2));
console.log(
  'scheduler brownout (virtual time, 1,000 agents at 30 s / 90 s, every scheduler call failing for 5 x TTL; targets: 0 heartbeats answered 5xx, 0 false expiries, worst lateness <= one reconciler period + 60 s precision):',
);
console.log(JSON.stringify(await brownoutFigures(), null, 2));
console.log(
  "fleet pulse: store writes at 600 accepted heartbeats/s over N instances, 10 s buckets (target: <= 1 write per instance per bucket), and the expiry guard's pulse reads per expiry decision at a mass expiry:",
);
console.log(JSON.stringify(await pulseFigures(), null, 2));
console.log(
  'reconciler: one run over 18,000 alive agents on dynalite, and its monthly cost at the default 5-minute period:',
);
console.log(JSON.stringify(await reconcilerFigures(), null, 2));
console.log(
  'local runner memory (file-backed dynalite, 1,000 agents): heap growth after GC under 10,000 list pages and 1,000 reconciler runs (target: < 5 MiB each):',
);
console.log(JSON.stringify(await runnerMemoryFigures(), null, 2));
console.log(
  'ingest bundle: size and cold init (fresh Node process, loopback fakes), next to a bundle of only the same SDK clients:',
);
// bundleFigures prints its own lines; the ratios once more as JSON, for scripts reading the output.
console.log(JSON.stringify({ ratios: (await bundleFigures()).ratios }));
