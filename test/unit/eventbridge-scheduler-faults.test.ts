import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  InternalServerException,
  ResourceNotFoundException,
  SchedulerClient,
  ServiceQuotaExceededException,
  ThrottlingException,
  UpdateScheduleCommand,
  ValidationException,
} from '@aws-sdk/client-scheduler';
import type { CreateScheduleCommandInput, UpdateScheduleCommandInput } from '@aws-sdk/client-scheduler';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  EventBridgeExpiryScheduler,
  atExpression,
} from '../../functions/adapters/scheduler/eventbridge-scheduler.js';
import { isTransientAwsError } from '../../functions/adapters/aws-errors.js';
import { BackendUnavailableError } from '../../functions/core/errors.js';
import type { ScheduleRequest } from '../../functions/core/ports.js';
import { FakeClock } from '../support/fakes.js';

// A fixed clock well before the fire times below: nothing here depends on today's date.
const CONFIG = {
  clock: new FakeClock(Date.UTC(2030, 0, 1)),
  groupName: 'heartbeat',
  targetArn: 'arn:aws:lambda:us-east-1:123456789012:function:expire',
  roleArn: 'arn:aws:iam::123456789012:role/scheduler-invoke-expire',
  deadLetterArn: 'arn:aws:sqs:us-east-1:123456789012:expiry-dlq',
};
const REQUEST: ScheduleRequest = {
  name: 'hb-agent-1-0123456789abcdef01234567',
  fireAt: Date.UTC(2030, 0, 2, 3, 4, 5),
  payload: { agentId: 'agent-1', armedFor: '2030-01-02T03:04:05.000Z' },
};
// What the SDK's deserializer passes: both spellings of the message, and response metadata.
const opts = (message: string) => ({ message, Message: message, $metadata: {} });
const throttling = () => new ThrottlingException(opts('Rate exceeded'));
const notFound = () => new ResourceNotFoundException(opts('Schedule does not exist.'));
const conflict = () => new ConflictException(opts('Schedule already exists.'));

// One real client, mocked at its send(): no request leaves the process.
const client = new SchedulerClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
});
const mock = mockClient(client);
let scheduler: EventBridgeExpiryScheduler;

// The mock replaces the client's send(), middleware and all: these tests are about the adapter's
// own steps and error translation. Retries are the SDK's (test/unit/aws-retry.test.ts).
beforeEach(() => {
  mock.reset();
  scheduler = new EventBridgeExpiryScheduler(client, CONFIG);
});

const updates = () => mock.commandCalls(UpdateScheduleCommand).map((c) => c.args[0].input);
const creates = () => mock.commandCalls(CreateScheduleCommand).map((c) => c.args[0].input);
const deletes = () => mock.commandCalls(DeleteScheduleCommand).map((c) => c.args[0].input);

describe('EventBridgeExpiryScheduler.upsert', () => {
  it('updates the existing schedule with one call in the steady state', async () => {
    mock.on(UpdateScheduleCommand).resolves({ ScheduleArn: 'arn' });

    await scheduler.upsert(REQUEST);

    expect(updates()).toHaveLength(1);
    expect(creates()).toHaveLength(0);
  });

  it('creates the schedule when update finds none', async () => {
    mock.on(UpdateScheduleCommand).rejects(notFound());
    mock.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn' });

    await scheduler.upsert(REQUEST);

    expect(updates()).toHaveLength(1);
    expect(creates()).toHaveLength(1);
  });

  it('converges when another writer creates the schedule between our update and create', async () => {
    // A fake service with one schedule slot; the other writer's create lands just before ours.
    let storedExpression: string | undefined;
    mock.on(UpdateScheduleCommand).callsFake((input: UpdateScheduleCommandInput) => {
      if (storedExpression === undefined) throw notFound();
      storedExpression = input.ScheduleExpression;
      return { ScheduleArn: 'arn' };
    });
    mock.on(CreateScheduleCommand).callsFake(() => {
      storedExpression = atExpression(REQUEST.fireAt + 60_000);
      throw conflict();
    });

    await scheduler.upsert(REQUEST);

    expect(updates()).toHaveLength(2);
    expect(creates()).toHaveLength(1);
    expect(storedExpression).toBe('at(2030-01-02T03:04:05)');
  });

  it('gives up with BackendUnavailableError after a bounded number of steps when writers keep racing', async () => {
    mock.on(UpdateScheduleCommand).rejects(notFound());
    mock.on(CreateScheduleCommand).rejects(conflict());

    const error = await scheduler.upsert(REQUEST).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as Error).cause).toBeInstanceOf(ConflictException);
    expect(updates()).toHaveLength(3);
    expect(creates()).toHaveLength(3);
  });

  it.each([
    ['throttling', throttling],
    ['InternalServerException', () => new InternalServerException(opts('boom'))],
    [
      'a 503 from any service',
      () => Object.assign(new Error('unavailable'), { $metadata: { httpStatusCode: 503 } }),
    ],
    ['a socket timeout', () => Object.assign(new Error('socket timed out'), { name: 'TimeoutError' })],
    ['a reset connection', () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
  ])(
    'surfaces %s that outlasted the SDK retries as BackendUnavailableError, keeping the cause',
    async (_label, transient) => {
      const last = transient();
      mock.on(UpdateScheduleCommand).rejects(last);

      const error = await scheduler.upsert(REQUEST).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(BackendUnavailableError);
      expect(error).toMatchObject({ backend: 'scheduler', retryAfterSeconds: 1 });
      expect((error as Error).cause).toBe(last);
      expect(updates()).toHaveLength(1);
    },
  );

  it('gives up when no answer comes within the call timeout, as a BackendUnavailableError (outcome unknown)', async () => {
    mock.on(UpdateScheduleCommand).callsFake(() => new Promise(() => undefined));

    const error = await scheduler.upsert(REQUEST, { timeoutMs: 20 }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect(String(error)).toMatch(/no answer within 20 ms/);
  });

  it('does not retry a ValidationException, and reports it as a failure no retry fixes (500, not 503)', async () => {
    const invalid = new ValidationException(opts('Invalid expression'));
    mock.on(UpdateScheduleCommand).rejects(invalid);

    const error = await scheduler.upsert(REQUEST).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(BackendUnavailableError);
    expect((error as Error).cause).toBe(invalid);
    expect(updates()).toHaveLength(1);
  });

  it('does not retry ServiceQuotaExceededException, a hard limit that must alarm', async () => {
    mock.on(UpdateScheduleCommand).rejects(notFound());
    mock.on(CreateScheduleCommand).rejects(new ServiceQuotaExceededException(opts('quota')));

    const error = await scheduler.upsert(REQUEST).catch((e: unknown) => e);

    expect(error).not.toBeInstanceOf(BackendUnavailableError);
    expect((error as Error).cause).toBeInstanceOf(ServiceQuotaExceededException);
    expect(creates()).toHaveLength(1);
  });

  it('sends the identical, complete input to update and create', async () => {
    mock.on(UpdateScheduleCommand).rejects(notFound());
    mock.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn' });

    await scheduler.upsert(REQUEST);

    const expected: CreateScheduleCommandInput = {
      Name: REQUEST.name,
      GroupName: 'heartbeat',
      ScheduleExpression: 'at(2030-01-02T03:04:05)',
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'DELETE',
      State: 'ENABLED',
      Target: {
        Arn: CONFIG.targetArn,
        RoleArn: CONFIG.roleArn,
        Input: JSON.stringify(REQUEST.payload),
        RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 20 },
        DeadLetterConfig: { Arn: CONFIG.deadLetterArn },
      },
    };
    expect(updates()).toEqual([expected]);
    expect(creates()).toEqual([expected]);
  });
});

describe('EventBridgeExpiryScheduler.delete', () => {
  it('deletes the named schedule in the configured group', async () => {
    mock.on(DeleteScheduleCommand).resolves({});

    await scheduler.delete(REQUEST.name);

    expect(deletes()).toEqual([{ Name: REQUEST.name, GroupName: 'heartbeat' }]);
  });

  it('treats a missing schedule as deleted', async () => {
    mock.on(DeleteScheduleCommand).rejects(notFound());

    await expect(scheduler.delete(REQUEST.name)).resolves.toBeUndefined();
    expect(deletes()).toHaveLength(1);
  });

  it('surfaces an unexpected error as a plain error with its cause, not as an unavailable backend', async () => {
    const invalid = new ValidationException(opts('bad name'));
    mock.on(DeleteScheduleCommand).rejects(invalid);

    const error = await scheduler.delete(REQUEST.name).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(BackendUnavailableError);
    expect((error as Error).cause).toBe(invalid);
    expect(deletes()).toHaveLength(1);
  });
});

describe('EventBridgeExpiryScheduler concurrent updates', () => {
  it('tries an update again when another writer is changing the same schedule (ConflictException)', async () => {
    mock.reset();
    mock.on(UpdateScheduleCommand).rejectsOnce(conflict()).resolves({});
    const plain = new EventBridgeExpiryScheduler(client, CONFIG);
    await plain.upsert(REQUEST);
    expect(mock.commandCalls(UpdateScheduleCommand)).toHaveLength(2);
    expect(mock.commandCalls(CreateScheduleCommand)).toHaveLength(0);
  });
});

describe('EventBridgeExpiryScheduler fire times', () => {
  it('turns a fire time already past into one a few seconds ahead, since at() cannot be in the past', async () => {
    mock.reset();
    mock.on(UpdateScheduleCommand).resolves({});
    const now = Date.UTC(2030, 0, 2, 3, 4, 5, 500);
    const clocked = new EventBridgeExpiryScheduler(client, { ...CONFIG, clock: new FakeClock(now) });
    await clocked.upsert({ ...REQUEST, fireAt: now - 60_000 });
    await clocked.upsert({ ...REQUEST, fireAt: now + 120_000 });
    expect(
      mock.commandCalls(UpdateScheduleCommand).map((call) => call.args[0].input.ScheduleExpression),
    ).toEqual(['at(2030-01-02T03:04:11)', 'at(2030-01-02T03:06:06)']);
  });
});

describe('EventBridgeExpiryScheduler configuration and expressions', () => {
  it('rounds a fractional second up so a schedule never fires early', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2099, 0, 1) }), (fireAt) => {
        const match = /^at\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)$/.exec(atExpression(fireAt));
        expect(match).not.toBeNull();
        const firesAt = Date.parse(`${match?.[1]}Z`);
        expect(firesAt).toBeGreaterThanOrEqual(fireAt);
        expect(firesAt - fireAt).toBeLessThan(1000);
      }),
    );
    expect(atExpression(Date.UTC(2030, 0, 2, 3, 4, 5) + 1)).toBe('at(2030-01-02T03:04:06)');
  });

  it('rejects a retry policy Scheduler would refuse, at construction', () => {
    expect(() => new EventBridgeExpiryScheduler(client, { ...CONFIG, maxRetryAttempts: 186 })).toThrow(
      RangeError,
    );
    expect(() => new EventBridgeExpiryScheduler(client, { ...CONFIG, maxEventAgeSeconds: 59 })).toThrow(
      RangeError,
    );
  });
});

describe('isTransientAwsError', () => {
  it.each([
    ['ThrottlingException', throttling()],
    ['TooManyRequestsException by name', Object.assign(new Error('x'), { name: 'TooManyRequestsException' })],
    ['HTTP 429', Object.assign(new Error('x'), { $metadata: { httpStatusCode: 429 } })],
    ['HTTP 500', Object.assign(new Error('x'), { $metadata: { httpStatusCode: 500 } })],
    ['a server fault', new InternalServerException(opts('x'))],
    ['an SDK-marked retryable error', Object.assign(new Error('x'), { $retryable: {} })],
    ['ECONNREFUSED', Object.assign(new Error('x'), { code: 'ECONNREFUSED' })],
    ['a wrapped socket error', new Error('x', { cause: Object.assign(new Error('y'), { code: 'EPIPE' }) })],
  ])('is true for %s', (_label, err) => {
    expect(isTransientAwsError(err)).toBe(true);
  });

  it.each([
    ['ServiceQuotaExceededException', new ServiceQuotaExceededException(opts('x'))],
    ['ValidationException', new ValidationException(opts('x'))],
    ['ConflictException', conflict()],
    ['ResourceNotFoundException', notFound()],
    ['an abort', Object.assign(new Error('x'), { name: 'AbortError', code: 'ECONNRESET' })],
    ['a plain Error', new Error('x')],
    ['a string', 'ThrottlingException'],
    ['undefined', undefined],
  ])('is false for %s', (_label, err) => {
    expect(isTransientAwsError(err)).toBe(false);
  });
});
