import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { KeyedMinHeap } from '../functions/adapters/scheduler/keyed-min-heap.js';
import { EventBridgeExpiryScheduler } from '../functions/adapters/scheduler/eventbridge-scheduler.js';
import { makeExpiryGuard } from '../functions/core/expiry-guard.js';
import type {
  Clock,
  CoreDeps,
  EventPublisher,
  GuardSettings,
  Log,
  PublishedEvent,
} from '../functions/core/ports.js';
import { PulseRecorder } from '../functions/core/pulse.js';
import { AWS_TIMING } from '../functions/core/timing.js';
import { makeExpiryHandler } from '../functions/handlers/expiry.js';
import { makeIngestHandler } from '../functions/handlers/ingest.js';
import { makeReconcileHandler } from '../functions/handlers/reconcile.js';
import { makeBearerAuth } from '../functions/http/auth.js';
import { noMetrics } from '../functions/observability/null-metrics.js';
import { type DynamoMeter, MeteredStore } from './metered-store.js';
import { type SchedulerMeter, SimulatedSchedulerApi } from './simulated-scheduler.js';

/** The fleet a run simulates: a sample of agents, how they report, and how they churn. */
export interface FleetShape {
  /** Agents simulated: a sample; the figures are per agent, scaled up afterwards. */
  agents: number;
  intervalSeconds: number;
  ttlSeconds: number;
  /** Checks per heartbeat, and the length of each one's output. */
  checks: number;
  outputBytes: number;
  /** Restarts per agent per day: a minute of silence, then a new bootId and seq from 0. */
  restartsPerDay: number;
  /** Share of the fleet that dies per hour (never to report again), replaced by new agents. */
  deathsPerHour: number;
  /** Changes of one check's status per agent per day. */
  checkChangesPerDay: number;
  /**
   * One check's output changes every this many heartbeats (a disk's percentage, a latency);
   * 0: outputs never change. What keeping checks apart saves depends on it.
   */
  outputChangeEvery: number;
  /** Virtual hours measured, after `warmupMinutes` that are not. */
  hours: number;
  warmupMinutes: number;
  seed: number;
}

export const DEFAULT_SHAPE: FleetShape = {
  agents: 200,
  intervalSeconds: 30,
  ttlSeconds: 90,
  checks: 5,
  outputBytes: 200,
  restartsPerDay: 1,
  deathsPerHour: 0.002,
  checkChangesPerDay: 2,
  outputChangeEvery: 20,
  hours: 6,
  warmupMinutes: 30,
  seed: 20261203,
};

/** What the service did for the sample, over the measured hours. */
export interface Measurement {
  shape: FleetShape;
  /** Virtual seconds measured. */
  seconds: number;
  counts: {
    heartbeats: number;
    registrations: number;
    recoveries: number;
    expiries: number;
    deaths: number;
    restarts: number;
    checkChanges: number;
    ingestInvocations: number;
    expiryInvocations: number;
    reconcileRuns: number;
    putEventsCalls: number;
    events: number;
    logLines: number;
    logBytes: number;
  };
  scheduler: SchedulerMeter;
  dynamo: DynamoMeter;
  /** Bytes stored per agent at the end (the records, DynamoDB's item sizes). */
  storedBytesPerAgent: number;
  /** The busiest minute's count of each, for peak rates. */
  busiestMinute: Record<PeakSeries, number>;
}

export type PeakSeries = 'heartbeats' | 'scheduleWrites' | 'invocations' | 'putEvents' | 'writeUnits';

export function emptyCounts(): Measurement['counts'] {
  return {
    heartbeats: 0,
    registrations: 0,
    recoveries: 0,
    expiries: 0,
    deaths: 0,
    restarts: 0,
    checkChanges: 0,
    ingestInvocations: 0,
    expiryInvocations: 0,
    reconcileRuns: 0,
    putEventsCalls: 0,
    events: 0,
    logLines: 0,
    logBytes: 0,
  };
}

/** Deterministic numbers in [0, 1) (mulberry32): a run is reproducible from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOKEN = 'capacity-token';
const GUARD: GuardSettings = {
  bucketMs: 10_000,
  degradedShare: 0.5,
  baselineMs: 3_600_000,
  minBaselinePerBucket: 10,
  maxDeferMs: 600_000,
  recheckMs: 60_000,
  massShare: 0.2,
};

interface Agent {
  id: string;
  bootId: string;
  seq: number;
  failing: boolean;
  dead: boolean;
  /** Heartbeats sent, and how many times its changing output has changed. */
  beats: number;
  outputVersion: number;
}

/**
 * Runs the deployed handlers (ingest, expiry, reconcile, with the real EventBridge Scheduler
 * adapter and the expiry guard) over a simulated fleet in virtual time, every event to completion
 * in time order, and meters what they ask of each AWS service. Nothing here decides how many
 * calls a heartbeat makes: the product's code does, as deployed.
 */
export async function simulate(
  shape: FleetShape,
  options: { checksApart: boolean } = { checksApart: true },
): Promise<Measurement> {
  const rand = random(shape.seed);
  const queue = new KeyedMinHeap<() => Promise<void>>();
  let now = Date.UTC(2026, 0, 5, 0, 0, 0);
  const clock: Clock = { now: () => now };
  const at = (time: number, key: string, run: () => Promise<void>) =>
    queue.set(key, Math.max(time, now), run);

  const counts = emptyCounts();
  const store = new MeteredStore(clock, options);
  const api = new SimulatedSchedulerApi({
    plan: (name, time) =>
      time === undefined ? queue.delete(`fire:${name}`) : at(time, `fire:${name}`, () => fire(name)),
    // Scheduler's at() fires within its minute of precision.
    delayMs: () => Math.floor(rand() * 60_000),
  });
  const logMeter = { lines: 0, bytes: 0 };
  const line =
    (level: string) =>
    (message: string, ...attributes: Record<string, unknown>[]) => {
      logMeter.lines++;
      logMeter.bytes += Buffer.byteLength(
        JSON.stringify({ level, message, ...Object.assign({}, ...attributes) }),
      );
    };
  const log: Log = { info: line('INFO'), warn: line('WARN'), error: line('ERROR') };
  const eventMeter = { calls: 0, entries: 0 };
  const events: EventPublisher = {
    publish: async (published: readonly PublishedEvent[]) => {
      // The adapter sends up to 10 entries per PutEvents call.
      eventMeter.calls += Math.ceil(published.length / 10);
      eventMeter.entries += published.length;
      for (const event of published) {
        if (event.detailType === 'Agent Registered') counts.registrations++;
        if (event.detailType === 'Agent Recovered') counts.recoveries++;
        if (event.detailType === 'Agent Expired') counts.expiries++;
      }
    },
  };
  const scheduler = new EventBridgeExpiryScheduler(api.asClient(), {
    groupName: 'capacity',
    targetArn: 'arn:aws:lambda:us-east-1:123456789012:function:expiry',
    roleArn: 'arn:aws:iam::123456789012:role/scheduler',
    deadLetterArn: 'arn:aws:sqs:us-east-1:123456789012:dlq',
    clock,
  });
  const core: CoreDeps = {
    store,
    scheduler,
    clock,
    log,
    metrics: noMetrics,
    timing: AWS_TIMING,
    events,
    maintenance: store,
    guard: makeExpiryGuard({ store, clock, log, metrics: noMetrics }, GUARD),
  };
  const ingest = makeIngestHandler({
    core,
    policy: {
      defaultTtlSeconds: shape.ttlSeconds,
      defaultIntervalSeconds: shape.intervalSeconds,
      minTtlSeconds: 60,
    },
    authenticate: makeBearerAuth([TOKEN]),
    pulse: new PulseRecorder({ store, bucketMs: GUARD.bucketMs, log, metrics: noMetrics }),
  });
  const expire = makeExpiryHandler({ core });
  const reconcile = makeReconcileHandler({
    core: { ...core, checkpoints: store },
    settings: {
      precisionMs: 60_000,
      reportGraceMs: 5 * 60_000,
      fallbackMs: 60_000,
      reapAfterMs: 7 * 86_400_000,
    },
    deleter: store,
  });

  const minutes = new Map<number, Record<PeakSeries, number>>();
  const perMinute = (series: PeakSeries, amount = 1) => {
    const minute = Math.floor(now / 60_000);
    const row = minutes.get(minute) ?? {
      heartbeats: 0,
      scheduleWrites: 0,
      invocations: 0,
      putEvents: 0,
      writeUnits: 0,
    };
    row[series] += amount;
    minutes.set(minute, row);
  };
  let nextId = 0;
  let requests = 0;
  const context = (id: string) => ({ awsRequestId: id, getRemainingTimeInMillis: () => 20_000 });

  async function fire(name: string): Promise<void> {
    const input = api.fire(name);
    if (input === undefined) return;
    const requestId = `expiry-${requests++}`;
    // Lambda's asynchronous invocation: retried twice with the same request id, then the DLQ.
    const attempt = async (n: number): Promise<void> => {
      counts.expiryInvocations++;
      perMinute('invocations');
      try {
        await expire(JSON.parse(input) as unknown, context(requestId));
      } catch {
        if (n < 3) at(now + n * 60_000, `retry:${requestId}`, () => attempt(n + 1));
      }
    };
    await attempt(1);
  }

  const chance = (perSecond: number) => rand() < perSecond * shape.intervalSeconds;
  const checkOutput = 'x'.repeat(shape.outputBytes);

  function start(agent: Agent, delayMs: number): void {
    at(now + delayMs, `beat:${agent.id}`, () => beat(agent));
  }

  async function beat(agent: Agent): Promise<void> {
    if (chance(shape.deathsPerHour / 3600)) {
      agent.dead = true;
      counts.deaths++;
      // A new server takes its place.
      start(newAgent(), Math.floor(rand() * shape.intervalSeconds * 1000));
      return;
    }
    if (chance(shape.restartsPerDay / 86_400)) {
      counts.restarts++;
      agent.bootId = `boot-${nextId++}`;
      agent.seq = 0;
      start(agent, 60_000 + Math.floor(rand() * shape.intervalSeconds * 1000));
      return;
    }
    if (chance(shape.checkChangesPerDay / 86_400)) {
      agent.failing = !agent.failing;
      counts.checkChanges++;
    }
    agent.beats++;
    if (shape.outputChangeEvery > 0 && agent.beats % shape.outputChangeEvery === 0) agent.outputVersion++;
    const body = {
      agentId: agent.id,
      bootId: agent.bootId,
      seq: agent.seq++,
      intervalSeconds: shape.intervalSeconds,
      ttlSeconds: shape.ttlSeconds,
      checks: Array.from({ length: shape.checks }, (_, i) => ({
        name: `check-${i}`,
        status: i === 0 && agent.failing ? 'fail' : 'pass',
        output:
          i === 1 ? `${checkOutput.slice(8)}${String(agent.outputVersion).padStart(8, '0')}` : checkOutput,
      })),
      labels: { rack: `r${nextId % 40}`, role: 'web', zone: 'az-1' },
    };
    counts.heartbeats++;
    counts.ingestInvocations++;
    perMinute('heartbeats');
    const response = await ingest(
      heartbeatRequest(body, `ingest-${requests++}`),
      context(`ingest-${requests}`),
    );
    if (response.statusCode !== 200)
      throw new Error(`a heartbeat was answered ${response.statusCode}: ${response.body}`);
    // Agents drift: each interval is a little longer or shorter.
    start(agent, Math.floor(shape.intervalSeconds * 1000 * (0.99 + rand() * 0.02)));
  }

  function newAgent(): Agent {
    const id = `agent-${String(nextId++).padStart(6, '0')}`;
    return {
      id,
      bootId: `boot-${nextId++}`,
      seq: 0,
      failing: false,
      dead: false,
      beats: 0,
      outputVersion: 0,
    };
  }

  const runReconciler = async () => {
    counts.reconcileRuns++;
    await reconcile(undefined, context(`reconcile-${counts.reconcileRuns}`)).catch(() => undefined);
    at(now + 5 * 60_000, 'reconcile', runReconciler);
  };

  for (let i = 0; i < shape.agents; i++) {
    start(newAgent(), Math.floor((i * shape.intervalSeconds * 1000) / shape.agents));
  }
  at(now + 5 * 60_000, 'reconcile', runReconciler);

  const run = async (until: number) => {
    for (let next = queue.peek(); next !== undefined && next.at <= until; next = queue.peek()) {
      queue.delete(next.key);
      now = next.at;
      const writesBefore = api.meter.updateSchedule + api.meter.createSchedule;
      const eventsBefore = eventMeter.calls;
      const unitsBefore = store.meter.writeUnits;
      await next.value();
      perMinute('scheduleWrites', api.meter.updateSchedule + api.meter.createSchedule - writesBefore);
      perMinute('putEvents', eventMeter.calls - eventsBefore);
      perMinute('writeUnits', store.meter.writeUnits - unitsBefore);
    }
    now = until;
  };

  // Warm-up: every agent registered and in its steady state; then the meters start.
  await run(now + shape.warmupMinutes * 60_000);
  store.reset();
  Object.assign(api.meter, { createSchedule: 0, updateSchedule: 0, deleteSchedule: 0, invocations: 0 });
  Object.assign(counts, emptyCounts());
  Object.assign(eventMeter, { calls: 0, entries: 0 });
  Object.assign(logMeter, { lines: 0, bytes: 0 });
  minutes.clear();

  const measuredFrom = now;
  await run(now + shape.hours * 3_600_000);

  counts.putEventsCalls = eventMeter.calls;
  counts.events = eventMeter.entries;
  counts.logLines = logMeter.lines;
  counts.logBytes = logMeter.bytes;
  return {
    shape,
    seconds: (now - measuredFrom) / 1000,
    counts,
    scheduler: { ...api.meter },
    dynamo: { ...store.meter },
    storedBytesPerAgent: store.tableBytes / Math.max(1, store.items),
    busiestMinute: busiest(minutes),
  };
}

function busiest(minutes: Map<number, Record<PeakSeries, number>>): Record<PeakSeries, number> {
  const peak: Record<PeakSeries, number> = {
    heartbeats: 0,
    scheduleWrites: 0,
    invocations: 0,
    putEvents: 0,
    writeUnits: 0,
  };
  for (const row of minutes.values()) {
    for (const series of Object.keys(peak) as PeakSeries[])
      peak[series] = Math.max(peak[series], row[series]);
  }
  return peak;
}

/** The payload-v2 event API Gateway sends for a heartbeat. */
function heartbeatRequest(body: unknown, requestId: string): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'ANY /v1/heartbeats',
    rawPath: '/v1/heartbeats',
    rawQueryString: '',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    requestContext: {
      accountId: 'capacity',
      apiId: 'capacity',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: {
        method: 'POST',
        path: '/v1/heartbeats',
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'capacity',
      },
      requestId,
      routeKey: 'ANY /v1/heartbeats',
      stage: '$default',
      time: '',
      timeEpoch: 0,
    },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  };
}
