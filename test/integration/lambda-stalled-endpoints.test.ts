import { type Server, type Socket, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { CreateScheduleGroupCommand } from '@aws-sdk/client-scheduler';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { DynamoDbAgentStore, createDocumentClient } from '../../functions/adapters/dynamodb/agent-store.js';
import { ensureAgentTable, ensureChecksTable } from '../../functions/adapters/dynamodb/table.js';
import { type LocalDynamo, createLocalDynamoClient, startDynalite } from '../../functions/local/dynalite.js';
import { TOKEN, heartbeatEvent, iamEvent } from '../support/api-events.js';
import { motoSchedulerClient } from '../support/moto.js';
import { motoEventSink } from '../support/moto-events.js';

// The Lambda entry points as deployed, with one backend replaced by a socket that accepts the
// connection and never answers: every HTTP invocation must still answer, itself and in time, with
// 200 (the store is up) or 503 problem+json (it is not), never reach the Lambda timeout (I10).
const LAMBDA_TIMEOUT_MS = 20_000;
const group = 'heartbeat-stalled';
let dynalite: LocalDynamo;
let stall: { endpoint: string; close: () => Promise<void> };
let sink: Awaited<ReturnType<typeof motoEventSink>>;

beforeAll(async () => {
  sink = await motoEventSink(inject('motoEndpoint'));
  dynalite = await startDynalite();
  const dynamo = createLocalDynamoClient(dynalite.endpoint);
  await ensureAgentTable(dynamo, 'agents-stalled');
  await ensureChecksTable(dynamo, 'agents-stalled-checks');
  dynamo.destroy();
  await motoSchedulerClient(inject('motoEndpoint')).send(new CreateScheduleGroupCommand({ Name: group }));
  stall = await stalledEndpoint();
});

afterAll(async () => {
  sink?.close();
  await stall?.close();
  await dynalite?.close();
});

/** A Lambda context whose remaining time runs down from `ms` as real time passes. */
function contextWith(ms: number): Context {
  const end = performance.now() + ms;
  return {
    awsRequestId: `req-${Math.random()}`,
    getRemainingTimeInMillis: () => Math.max(0, Math.floor(end - performance.now())),
  } as Context;
}

/** Fresh entry point modules, composed from this environment (module state is per import). */
async function entryPoints(endpoints: { dynamodb: string; scheduler: string; events?: string }) {
  vi.resetModules();
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_SCHEDULER: endpoints.scheduler,
    AWS_ENDPOINT_URL_EVENTBRIDGE: endpoints.events ?? inject('motoEndpoint'),
    EVENT_BUS_NAME: sink.busName,
    PERSISTENCE: 'dynamodb',
    TABLE_NAME: 'agents-stalled',
    CHECKS_TABLE_NAME: 'agents-stalled-checks',
    SCHEDULE_GROUP: group,
    EXPIRY_FUNCTION_ARN: 'arn:aws:lambda:us-east-1:123456789012:function:expiry',
    SCHEDULER_ROLE_ARN: 'arn:aws:iam::123456789012:role/scheduler-invoke-expiry',
    EXPIRY_DLQ_ARN: 'arn:aws:sqs:us-east-1:123456789012:expiry-dlq',
    HEARTBEAT_TOKENS: TOKEN,
  });
  return {
    ingest: (await import('../../functions/entrypoints/ingest.js')).handler,
    read: (await import('../../functions/entrypoints/read.js')).handler,
    expiry: (await import('../../functions/entrypoints/expiry.js')).handler,
  };
}

async function timed<T>(call: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await call();
  return { result, ms: Math.round(performance.now() - started) };
}

describe('Lambda entry points with a stalled backend (a socket that never answers)', () => {
  it(
    'the scheduler stalled: heartbeats are recorded and answered 200 in about the schedule write cap; expiry re-arms to "no schedule known"',
    { timeout: 60_000 },
    async () => {
      const { ingest, expiry } = await entryPoints({
        dynamodb: dynalite.endpoint,
        scheduler: stall.endpoint,
      });

      const first = await timed(() =>
        ingest(heartbeatEvent({ agentId: 'stalled-1', ttlSeconds: 90 }), contextWith(LAMBDA_TIMEOUT_MS)),
      );
      const second = await timed(() =>
        ingest(heartbeatEvent({ agentId: 'stalled-1', ttlSeconds: 120 }), contextWith(LAMBDA_TIMEOUT_MS)),
      );
      for (const { result } of [first, second]) expect(result.statusCode).toBe(200);
      const firing = await timed(() => expiry({ agentId: 'stalled-1' }, contextWith(30_000)));

      // The schedule write may take at most 3 s of the budget; the record write has the rest.
      for (const { ms } of [first, second, firing]) expect(ms).toBeLessThan(4_500);

      // After five such failures in a row the execution environment stops waiting for the
      // scheduler for a while: heartbeats are recorded at store speed.
      for (let i = 0; i < 3; i++) {
        await ingest(
          heartbeatEvent({ agentId: 'stalled-1', ttlSeconds: 120 }),
          contextWith(LAMBDA_TIMEOUT_MS),
        );
      }
      const paused = await timed(() =>
        ingest(heartbeatEvent({ agentId: 'stalled-1', ttlSeconds: 90 }), contextWith(LAMBDA_TIMEOUT_MS)),
      );
      expect(paused.result.statusCode).toBe(200);
      expect(paused.ms).toBeLessThan(500);
      console.log(
        `stalled scheduler: ingest answered in ${first.ms} and ${second.ms} ms, expiry in ${firing.ms} ms; ` +
          `once the calls are paused, ingest in ${paused.ms} ms`,
      );
    },
  );

  it(
    'the store stalled: 503 problem+json with Retry-After, well inside the budget, however much is left',
    { timeout: 60_000 },
    async () => {
      const { ingest, read } = await entryPoints({
        dynamodb: stall.endpoint,
        scheduler: inject('motoEndpoint'),
      });

      for (const remaining of [LAMBDA_TIMEOUT_MS, 3_000]) {
        const { result, ms } = await timed(() =>
          ingest(heartbeatEvent({ agentId: 'stalled-2' }), contextWith(remaining)),
        );
        console.log(
          `stalled store: ingest with ${remaining} ms left answered ${result.statusCode} in ${ms} ms`,
        );
        expect(result.statusCode).toBe(503);
        expect(result.headers?.['content-type']).toBe('application/problem+json');
        expect(Number(result.headers?.['retry-after'])).toBeGreaterThanOrEqual(1);
        expect(ms).toBeLessThan(remaining - 500);
      }
      const reading = await timed(() =>
        read(iamEvent({ method: 'GET', path: '/v1/agents/stalled-2' }), contextWith(3_000)),
      );
      expect(reading.result.statusCode).toBe(503);
      expect(reading.ms).toBeLessThan(2_500);
    },
  );

  it(
    'the event bus stalled: a registering heartbeat is recorded and answered 200 in time; its event waits in the record',
    { timeout: 60_000 },
    async () => {
      const { ingest, read } = await entryPoints({
        dynamodb: dynalite.endpoint,
        scheduler: inject('motoEndpoint'),
        events: stall.endpoint,
      });
      const { result, ms } = await timed(() =>
        ingest(heartbeatEvent({ agentId: 'stalled-3', ttlSeconds: 90 }), contextWith(LAMBDA_TIMEOUT_MS)),
      );
      console.log(`stalled event bus: a registering heartbeat answered ${result.statusCode} in ${ms} ms`);
      expect(result.statusCode).toBe(200);
      // The publication may use 40 % of the 5 s commit window at most; the marking write the rest.
      expect(ms).toBeLessThan(3_500);
      const agent = await read(iamEvent({ method: 'GET', path: '/v1/agents/stalled-3' }), contextWith(3_000));
      expect(JSON.parse(agent.body)).toMatchObject({ state: 'alive' });
      const dynamo = createLocalDynamoClient(dynalite.endpoint);
      const store = new DynamoDbAgentStore(createDocumentClient(dynamo), { tableName: 'agents-stalled' });
      const stored = await store.get('stalled-3');
      dynamo.destroy();
      expect(stored?.record.outbox).toEqual([
        expect.objectContaining({ type: 'agent.registered', logged: true }),
      ]);
    },
  );
});

/** Accepts connections and never writes a byte; closes them all when asked. */
async function stalledEndpoint(): Promise<{ endpoint: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.resume(); // read and ignore the request
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
