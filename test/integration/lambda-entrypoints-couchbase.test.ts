import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateScheduleGroupCommand } from '@aws-sdk/client-scheduler';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TOKEN, heartbeatEvent, iamEvent } from '../support/api-events.js';
import { createMockBucket } from '../support/couchbase-mock.js';
import { motoSchedulerClient } from '../support/moto.js';
import { motoEventSink } from '../support/moto-events.js';

// The Lambda entry points with PERSISTENCE=couchbase: connection settings from a Secrets Manager
// secret (moto), the store on CouchbaseMock, schedules on moto. Nothing can reach AWS.
const group = 'heartbeat-entrypoints-couchbase';
let sink: Awaited<ReturnType<typeof motoEventSink>>;

beforeAll(async () => {
  const moto = inject('motoEndpoint');
  sink = await motoEventSink(moto);
  const bucket = await createMockBucket(inject('couchbaseMock').httpPort, 'lambda-entrypoints');
  await motoSchedulerClient(moto).send(new CreateScheduleGroupCommand({ Name: group }));
  const secrets = new SecretsManagerClient({
    endpoint: moto,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  const create = (name: string, value: unknown) =>
    secrets.send(
      new CreateSecretCommand({ Name: `${name}-${Date.now()}`, SecretString: JSON.stringify(value) }),
    );
  const couchbaseSecret = await create('couchbase', {
    connectionString: bucket.connectionString,
    username: bucket.username,
    password: bucket.password,
    bucket: bucket.bucket,
  });
  const tokenSecret = await create('tokens', { current: TOKEN });
  secrets.destroy();
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_ENDPOINT_URL_SCHEDULER: moto,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: moto,
    AWS_ENDPOINT_URL_EVENTBRIDGE: moto,
    EVENT_BUS_NAME: sink.busName,
    PERSISTENCE: 'couchbase',
    COUCHBASE_SECRET_ARN: couchbaseSecret.ARN,
    SCHEDULE_GROUP: group,
    EXPIRY_FUNCTION_ARN: 'arn:aws:lambda:us-east-1:123456789012:function:expiry',
    SCHEDULER_ROLE_ARN: 'arn:aws:iam::123456789012:role/scheduler-invoke-expiry',
    EXPIRY_DLQ_ARN: 'arn:aws:sqs:us-east-1:123456789012:expiry-dlq',
    HEARTBEAT_TOKENS_SECRET_ARN: tokenSecret.ARN,
  });
});

afterAll(() => {
  sink?.close();
});

describe('Lambda entry points on Couchbase', () => {
  it('ingest stores the agent in Couchbase and read returns it', async () => {
    const ingest = (await import('../../functions/entrypoints/ingest.js')).handler;
    const read = (await import('../../functions/entrypoints/read.js')).handler;

    const response = await ingest(heartbeatEvent({ agentId: 'cb-lambda', ttlSeconds: 600 }));
    expect(response.statusCode).toBe(200);
    const agent = await read(iamEvent({ method: 'GET', path: '/v1/agents/cb-lambda' }));
    expect(agent.statusCode).toBe(200);
    expect(JSON.parse(agent.body)).toMatchObject({ agentId: 'cb-lambda', state: 'alive', ttlSeconds: 600 });
  });

  it('operate deregisters an agent stored in Couchbase; again is the same; a heartbeat registers it again', async () => {
    const ingest = (await import('../../functions/entrypoints/ingest.js')).handler;
    const read = (await import('../../functions/entrypoints/read.js')).handler;
    const operate = (await import('../../functions/entrypoints/operate.js')).handler;
    await ingest(heartbeatEvent({ agentId: 'cb-gone', ttlSeconds: 600 }));
    const deregister = () => operate(iamEvent({ method: 'DELETE', path: '/v1/agents/cb-gone' }));
    expect(JSON.parse((await deregister()).body)).toMatchObject({ state: 'deregistered', armedFor: null });
    expect(JSON.parse((await deregister()).body)).toMatchObject({ state: 'deregistered' });
    const stored = await read(iamEvent({ method: 'GET', path: '/v1/agents/cb-gone' }));
    expect(JSON.parse(stored.body)).toMatchObject({ state: 'deregistered' });
    const back = await ingest(heartbeatEvent({ agentId: 'cb-gone', ttlSeconds: 600 }));
    expect(JSON.parse(back.body)).toMatchObject({ state: 'alive' });
    const events = (await sink.drain()).filter((event) => event.detail['agentId'] === 'cb-gone');
    expect(events.map((event) => event['detail-type'])).toEqual([
      'Agent Registered',
      'Agent Deregistered',
      'Agent Registered',
    ]);
  });

  it('operate keeps maintenance windows in Couchbase: create, list, end', async () => {
    const operate = (await import('../../functions/entrypoints/operate.js')).handler;
    const end = new Date(Date.now() + 3_600_000).toISOString();
    const created = await operate(
      iamEvent({
        method: 'POST',
        path: '/v1/maintenance',
        body: JSON.stringify({ selector: { agentIds: ['cb-gone'] }, end, reason: 'disk swap' }),
      }),
    );
    expect(created.statusCode).toBe(201);
    const { id } = JSON.parse(created.body) as { id: string };
    const listed = JSON.parse((await operate(iamEvent({ method: 'GET', path: '/v1/maintenance' }))).body);
    expect(listed.items).toEqual([expect.objectContaining({ id, state: 'active', reason: 'disk swap' })]);
    const ended = await operate(iamEvent({ method: 'DELETE', path: `/v1/maintenance/${id}` }));
    expect(JSON.parse(ended.body)).toMatchObject({ id, state: 'ended' });
    expect(
      JSON.parse((await operate(iamEvent({ method: 'GET', path: '/v1/maintenance' }))).body).items,
    ).toEqual([]);
  });
});
