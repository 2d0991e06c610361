import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  CreateScheduleGroupCommand,
  GetScheduleCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-scheduler';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureAgentTable, ensureChecksTable } from '../../functions/adapters/dynamodb/table.js';
import { scheduleNameFor } from '../../functions/core/schedule-name.js';
import { AWS_TIMING } from '../../functions/core/timing.js';
import { type LocalDynamo, createLocalDynamoClient, startDynalite } from '../../functions/local/dynalite.js';
import { TOKEN, apiEvent, heartbeatEvent, iamEvent } from '../support/api-events.js';
import { motoSchedulerClient } from '../support/moto.js';
import { motoEventSink } from '../support/moto-events.js';

// The Lambda entry points exactly as deployed (configuration from the environment, SDK clients
// built at module load), pointed at dynalite and moto through the SDK's per-service endpoint
// variables. Region and credentials are dummies: nothing can reach AWS.
let dynalite: LocalDynamo;
let sink: Awaited<ReturnType<typeof motoEventSink>>;
const group = 'heartbeat-entrypoints';

beforeAll(async () => {
  sink = await motoEventSink(inject('motoEndpoint'));
  dynalite = await startDynalite();
  const dynamo = createLocalDynamoClient(dynalite.endpoint);
  await ensureAgentTable(dynamo, 'agents-entrypoints');
  await ensureChecksTable(dynamo, 'agents-entrypoints-checks');
  dynamo.destroy();
  const moto = inject('motoEndpoint');
  await motoSchedulerClient(moto).send(new CreateScheduleGroupCommand({ Name: group }));
  const secrets = new SecretsManagerClient({
    endpoint: moto,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  const tokenSecret = await secrets.send(
    new CreateSecretCommand({
      Name: `heartbeat-tokens-${Date.now()}`,
      SecretString: JSON.stringify({ current: TOKEN, previous: 'previous-token' }),
    }),
  );
  secrets.destroy();
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
    AWS_ENDPOINT_URL_SCHEDULER: moto,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: moto,
    AWS_ENDPOINT_URL_EVENTBRIDGE: moto,
    EVENT_BUS_NAME: sink.busName,
    PERSISTENCE: 'dynamodb',
    TABLE_NAME: 'agents-entrypoints',
    CHECKS_TABLE_NAME: 'agents-entrypoints-checks',
    SCHEDULE_GROUP: group,
    EXPIRY_FUNCTION_ARN: 'arn:aws:lambda:us-east-1:123456789012:function:expiry',
    SCHEDULER_ROLE_ARN: 'arn:aws:iam::123456789012:role/scheduler-invoke-expiry',
    EXPIRY_DLQ_ARN: 'arn:aws:sqs:us-east-1:123456789012:expiry-dlq',
    HEARTBEAT_TOKENS_SECRET_ARN: tokenSecret.ARN,
    HEARTBEAT_TTL_SECONDS: '90',
    HEARTBEAT_INTERVAL_SECONDS: '30',
  });
});

afterAll(async () => {
  sink?.close();
  await dynalite?.close();
});

describe('Lambda entry points', () => {
  it('ingest stores the agent and arms its one named schedule; read returns it; expiry re-arms an early firing', async () => {
    const ingest = (await import('../../functions/entrypoints/ingest.js')).handler;
    const read = (await import('../../functions/entrypoints/read.js')).handler;
    const expiry = (await import('../../functions/entrypoints/expiry.js')).handler;

    const response = await ingest(heartbeatEvent({ agentId: 'lambda-1', ttlSeconds: 600 }));
    expect(response.statusCode).toBe(200);
    const deadline = String(JSON.parse(response.body).deadline);

    const schedule = await motoSchedulerClient(inject('motoEndpoint')).send(
      new GetScheduleCommand({ GroupName: group, Name: scheduleNameFor('lambda-1') }),
    );
    // It fires the expiry grace after the deadline (functions/core/timing.ts).
    const fireAt = Date.parse(deadline) + AWS_TIMING.graceMs;
    expect(schedule.ScheduleExpression).toBe(
      `at(${new Date(Math.ceil(fireAt / 1000) * 1000).toISOString().slice(0, 19)})`,
    );
    expect(JSON.parse(schedule.Target?.Input ?? '{}')).toMatchObject({ agentId: 'lambda-1' });

    const agent = await read(iamEvent({ method: 'GET', path: '/v1/agents/lambda-1' }));
    expect(agent.statusCode).toBe(200);
    expect(JSON.parse(agent.body)).toMatchObject({ agentId: 'lambda-1', state: 'alive', deadline });

    // A firing before the deadline (as a coalesced schedule would) must re-arm, not expire.
    await expiry(JSON.parse(schedule.Target?.Input ?? '{}'));
    expect(
      JSON.parse((await read(iamEvent({ method: 'GET', path: '/v1/agents/lambda-1' }))).body).state,
    ).toBe('alive');
    // Both tokens of the secret are accepted (rotation); anything else is refused.
    const withPrevious = await ingest(
      heartbeatEvent(
        { agentId: 'lambda-1', ttlSeconds: 600 },
        { authorization: 'Bearer previous-token', 'content-type': 'application/json' },
      ),
    );
    expect(withPrevious.statusCode).toBe(200);
    const wrong = await ingest(
      heartbeatEvent(
        { agentId: 'lambda-1' },
        { authorization: 'Bearer nope', 'content-type': 'application/json' },
      ),
    );
    expect(wrong.statusCode).toBe(401);
    // The agents' token reads nothing: the function refuses a caller API Gateway did not sign in.
    expect((await read(apiEvent({ method: 'GET', path: '/v1/agents/lambda-1' }))).statusCode).toBe(403);
  });

  it('operate deregisters an agent: its schedule is gone from the scheduler, again is the same, a heartbeat registers it again', async () => {
    const ingest = (await import('../../functions/entrypoints/ingest.js')).handler;
    const operate = (await import('../../functions/entrypoints/operate.js')).handler;
    const scheduler = motoSchedulerClient(inject('motoEndpoint'));
    const schedule = () =>
      scheduler.send(new GetScheduleCommand({ GroupName: group, Name: scheduleNameFor('lambda-2') }));
    expect((await ingest(heartbeatEvent({ agentId: 'lambda-2', ttlSeconds: 600 }))).statusCode).toBe(200);
    await expect(schedule()).resolves.toBeDefined();

    const deregister = () => operate(iamEvent({ method: 'DELETE', path: '/v1/agents/lambda-2' }));
    const gone = await deregister();
    expect(gone.statusCode).toBe(200);
    expect(JSON.parse(gone.body)).toMatchObject({ agentId: 'lambda-2', state: 'deregistered' });
    await expect(schedule()).rejects.toBeInstanceOf(ResourceNotFoundException);
    expect(JSON.parse((await deregister()).body)).toMatchObject({ state: 'deregistered' });
    expect((await operate(iamEvent({ method: 'DELETE', path: '/v1/agents/never-seen' }))).statusCode).toBe(
      404,
    );
    expect((await operate(apiEvent({ method: 'DELETE', path: '/v1/agents/lambda-2' }))).statusCode).toBe(403);

    const back = await ingest(heartbeatEvent({ agentId: 'lambda-2', ttlSeconds: 600 }));
    expect(JSON.parse(back.body)).toMatchObject({ state: 'alive' });
    await expect(schedule()).resolves.toBeDefined();

    // Each transition reached the bus once, after it committed.
    const events = (await sink.drain()).filter((event) => event.detail['agentId'] === 'lambda-2');
    expect(events.map((event) => [event['detail-type'], event.detail['reregistered'] ?? null])).toEqual([
      ['Agent Registered', false],
      ['Agent Deregistered', null],
      ['Agent Registered', true],
    ]);
  });

  it('operate creates, lists, shows and ends a maintenance window; the read API shows it on the agent; both ends reach the bus', async () => {
    const ingest = (await import('../../functions/entrypoints/ingest.js')).handler;
    const operate = (await import('../../functions/entrypoints/operate.js')).handler;
    const read = (await import('../../functions/entrypoints/read.js')).handler;
    await ingest(heartbeatEvent({ agentId: 'lambda-3', ttlSeconds: 600, labels: { rack: 'r7' } }));
    await sink.drain();

    const end = new Date(Date.now() + 3_600_000).toISOString();
    const created = await operate(
      iamEvent({
        method: 'POST',
        path: '/v1/maintenance',
        body: JSON.stringify({ selector: { labels: { rack: 'r7' } }, end, reason: 'rack r7 power work' }),
      }),
    );
    expect(created.statusCode).toBe(201);
    const window = JSON.parse(created.body) as { id: string };
    expect(created.headers?.['location']).toBe(`/v1/maintenance/${window.id}`);
    expect(JSON.parse(created.body)).toMatchObject({
      state: 'active',
      selector: { labels: { rack: 'r7' } },
      reason: 'rack r7 power work',
      createdBy: 'arn:aws:sts::123456789012:assumed-role/oncall/alice',
    });
    const listed = await operate(iamEvent({ method: 'GET', path: '/v1/maintenance' }));
    expect((JSON.parse(listed.body) as { items: { id: string }[] }).items.map((w) => w.id)).toContain(
      window.id,
    );
    const agent = JSON.parse((await read(iamEvent({ method: 'GET', path: '/v1/agents/lambda-3' }))).body);
    expect(agent.maintenance).toMatchObject({ id: window.id, reason: 'rack r7 power work' });

    const ended = await operate(iamEvent({ method: 'DELETE', path: `/v1/maintenance/${window.id}` }));
    expect(JSON.parse(ended.body)).toMatchObject({ id: window.id, state: 'ended' });
    const shown = await operate(iamEvent({ method: 'GET', path: `/v1/maintenance/${window.id}` }));
    expect(JSON.parse(shown.body)).toMatchObject({ id: window.id, state: 'ended' });
    expect(
      JSON.parse((await read(iamEvent({ method: 'GET', path: '/v1/agents/lambda-3' }))).body).maintenance,
    ).toBeNull();

    const events = (await sink.drain()).filter((event) => event.detail['windowId'] === window.id);
    expect(events.map((event) => event['detail-type'])).toEqual(['Maintenance Entered', 'Maintenance Left']);
  });
});
