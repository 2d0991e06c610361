import {
  ConflictException,
  CreateScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
  ThrottlingException,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryAgentStore } from '../../functions/adapters/memory/agent-store.js';
import {
  EventBridgeExpiryScheduler,
  atExpression,
} from '../../functions/adapters/scheduler/eventbridge-scheduler.js';
import { makeIngestHandler } from '../../functions/handlers/ingest.js';
import { noMetrics } from '../../functions/handlers/metrics.js';
import { makeBearerAuth } from '../../functions/http/auth.js';
import { TOKEN, heartbeatEvent } from '../support/api-events.js';
import { FakeClock, RecordingLog } from '../support/fakes.js';

// The ingest handler with the real EventBridge adapter over a mocked SDK client: what an agent
// sees, and what the record says, when the scheduler misbehaves.
const client = new SchedulerClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
});
const mock = mockClient(client);
const meta = (message: string) => ({ message, Message: message, $metadata: {} });

function setup() {
  const clock = new FakeClock();
  const store = new MemoryAgentStore();
  const scheduler = new EventBridgeExpiryScheduler(client, {
    groupName: 'heartbeat',
    targetArn: 'arn:aws:lambda:us-east-1:123456789012:function:expire',
    roleArn: 'arn:aws:iam::123456789012:role/invoke-expire',
    deadLetterArn: 'arn:aws:sqs:us-east-1:123456789012:expiry-dlq',
    retry: { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 2000, sleep: async () => undefined },
    clock,
  });
  const ingest = makeIngestHandler({
    core: { store, scheduler, clock },
    policy: { defaultTtlSeconds: 90, defaultIntervalSeconds: 30, minTtlSeconds: 60 },
    authenticate: makeBearerAuth([TOKEN]),
    log: new RecordingLog(),
    metrics: noMetrics,
  });
  return { clock, store, ingest };
}

describe('ingest when EventBridge Scheduler misbehaves', () => {
  beforeEach(() => mock.reset());

  it('retries throttling and answers 200', async () => {
    const s = setup();
    mock
      .on(UpdateScheduleCommand)
      .rejectsOnce(new ThrottlingException(meta('Rate exceeded')))
      .resolves({});
    const response = await s.ingest(heartbeatEvent({ agentId: 'web-1' }));
    expect(response.statusCode).toBe(200);
    expect(mock.commandCalls(UpdateScheduleCommand)).toHaveLength(2);
  });

  it('converges when create and update race with another writer', async () => {
    const s = setup();
    mock
      .on(UpdateScheduleCommand)
      .rejectsOnce(new ResourceNotFoundException(meta('Schedule does not exist.')))
      .resolves({});
    mock.on(CreateScheduleCommand).rejects(new ConflictException(meta('Schedule already exists.')));
    const response = await s.ingest(heartbeatEvent({ agentId: 'web-1' }));
    expect(response.statusCode).toBe(200);
    const record = (await s.store.get('web-1'))?.record;
    const updates = mock.commandCalls(UpdateScheduleCommand);
    expect(updates.at(-1)?.args[0].input.ScheduleExpression).toBe(atExpression(record?.armedFor ?? NaN));
  });

  it('a persistent failure is a 503 with Retry-After; the record then names no schedule, so the next heartbeat arms one for certain (I6)', async () => {
    const s = setup();
    mock.on(UpdateScheduleCommand).resolves({});
    expect((await s.ingest(heartbeatEvent({ agentId: 'web-1' }))).statusCode).toBe(200);
    const before = await s.store.get('web-1');

    // A minute later the schedule must move, and the scheduler keeps throttling.
    s.clock.advance(60);
    mock.reset();
    mock.on(UpdateScheduleCommand).rejects(new ThrottlingException(meta('Rate exceeded')));
    const response = await s.ingest(heartbeatEvent({ agentId: 'web-1' }));

    expect(response.statusCode).toBe(503);
    expect(Number(response.headers?.['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(response.headers?.['content-type']).toBe('application/problem+json');
    // Bounded: the write's retries, then one more try to make it fire now instead.
    expect(mock.commandCalls(UpdateScheduleCommand)).toHaveLength(8);
    // A timed-out write may have landed, so the record no longer vouches for a fire time; the
    // heartbeat itself was not stored (the agent retries it).
    const after = await s.store.get('web-1');
    expect(after?.record).toEqual({ ...before?.record, armedFor: null });

    mock.reset();
    mock.on(UpdateScheduleCommand).resolves({});
    expect((await s.ingest(heartbeatEvent({ agentId: 'web-1' }))).statusCode).toBe(200);
    const recovered = (await s.store.get('web-1'))?.record;
    expect(mock.commandCalls(UpdateScheduleCommand).at(-1)?.args[0].input.ScheduleExpression).toBe(
      atExpression(recovered?.armedFor ?? NaN),
    );
  });
});
