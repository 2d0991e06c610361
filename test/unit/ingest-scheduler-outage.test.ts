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
import { makeBearerAuth } from '../../functions/http/auth.js';
import { TOKEN, heartbeatEvent } from '../support/api-events.js';
import { FakeClock, coreDeps } from '../support/fakes.js';

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
    clock,
  });
  const ingest = makeIngestHandler({
    core: coreDeps({ store, scheduler, clock }),
    policy: { defaultTtlSeconds: 90, defaultIntervalSeconds: 30, minTtlSeconds: 60 },
    authenticate: makeBearerAuth([TOKEN]),
  });
  return { clock, store, ingest };
}

describe('ingest when EventBridge Scheduler misbehaves', () => {
  beforeEach(() => mock.reset());

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

  it('a persistent failure still answers 200: the record keeps a schedule that fires in time, or none (I6)', async () => {
    const s = setup();
    mock.on(UpdateScheduleCommand).resolves({});
    expect((await s.ingest(heartbeatEvent({ agentId: 'web-1' }))).statusCode).toBe(200);
    const armed = (await s.store.get('web-1'))?.record.armedFor;

    // A minute later the schedule must move (it would fire 60 s early), and the scheduler throttles.
    s.clock.advance(60);
    mock.reset();
    mock.on(UpdateScheduleCommand).rejects(new ThrottlingException(meta('Rate exceeded')));
    const response = await s.ingest(heartbeatEvent({ agentId: 'web-1' }));

    expect(response.statusCode).toBe(200);
    // Bounded: one call (the SDK retries inside it); no recovery write follows a failed arm.
    expect(mock.commandCalls(UpdateScheduleCommand)).toHaveLength(1);
    // The heartbeat is stored; the schedule it had still fires before the new deadline.
    const after = (await s.store.get('web-1'))?.record;
    expect(after?.lastSeen).toBe(s.clock.now());
    expect(after?.armedFor).toBe(armed);

    // Past that schedule, a failed arm leaves "no schedule known", and the next heartbeat arms one.
    s.clock.advance(60);
    expect((await s.ingest(heartbeatEvent({ agentId: 'web-1' }))).statusCode).toBe(200);
    expect((await s.store.get('web-1'))?.record.armedFor).toBeNull();

    mock.reset();
    mock.on(UpdateScheduleCommand).resolves({});
    expect((await s.ingest(heartbeatEvent({ agentId: 'web-1' }))).statusCode).toBe(200);
    const recovered = (await s.store.get('web-1'))?.record;
    expect(mock.commandCalls(UpdateScheduleCommand).at(-1)?.args[0].input.ScheduleExpression).toBe(
      atExpression(recovered?.armedFor ?? NaN),
    );
  });
});
