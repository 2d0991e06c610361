import { randomUUID } from 'node:crypto';
import {
  CreateScheduleGroupCommand,
  GetScheduleCommand,
  ListSchedulesCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-scheduler';
import type { SchedulerClient } from '@aws-sdk/client-scheduler';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { EventBridgeExpiryScheduler } from '../../functions/adapters/scheduler/eventbridge-scheduler.js';
import { BackendUnavailableError } from '../../functions/core/errors.js';
import type { ScheduleRequest } from '../../functions/core/ports.js';
import { FakeClock } from '../support/fakes.js';
import { motoSchedulerClient } from '../support/moto.js';

const TARGET_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:expire';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/scheduler-invoke-expire';
const DLQ_ARN = 'arn:aws:sqs:us-east-1:123456789012:expiry-dlq';

function request(fireAt: number, name = 'hb-agent-1-0123456789abcdef01234567'): ScheduleRequest {
  return { name, fireAt, payload: { agentId: 'agent-1', armedFor: new Date(fireAt).toISOString() } };
}

describe('EventBridgeExpiryScheduler against moto', () => {
  let client: SchedulerClient;
  let groupName: string;
  let scheduler: EventBridgeExpiryScheduler;

  beforeAll(() => {
    client = motoSchedulerClient(inject('motoEndpoint'));
  });

  afterAll(() => {
    client.destroy();
  });

  beforeEach(async () => {
    // A group per test keeps tests independent on the one shared moto server.
    groupName = `it-${randomUUID()}`;
    await client.send(new CreateScheduleGroupCommand({ Name: groupName }));
    scheduler = new EventBridgeExpiryScheduler(client, {
      groupName,
      targetArn: TARGET_ARN,
      roleArn: ROLE_ARN,
      deadLetterArn: DLQ_ARN,
      maxEventAgeSeconds: 1800,
      maxRetryAttempts: 7,
      clock: new FakeClock(),
    });
  });

  const get = (name: string) => client.send(new GetScheduleCommand({ Name: name, GroupName: groupName }));
  const list = async () => (await client.send(new ListSchedulesCommand({ GroupName: groupName }))).Schedules;

  it('creates a one-time UTC schedule with every field as configured', async () => {
    const req = request(Date.UTC(2030, 0, 2, 3, 4, 5));

    await scheduler.upsert(req);

    const schedule = await get(req.name);
    expect(schedule).toMatchObject({
      Name: req.name,
      GroupName: groupName,
      ScheduleExpression: 'at(2030-01-02T03:04:05)',
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'DELETE',
      State: 'ENABLED',
      Target: {
        Arn: TARGET_ARN,
        RoleArn: ROLE_ARN,
        RetryPolicy: { MaximumEventAgeInSeconds: 1800, MaximumRetryAttempts: 7 },
        DeadLetterConfig: { Arn: DLQ_ARN },
      },
    });
    expect(JSON.parse(schedule.Target?.Input ?? 'null')).toEqual(req.payload);
  });

  it('replaces the schedule of the same name when upserted with another fire time', async () => {
    const first = request(Date.UTC(2030, 0, 2, 3, 4, 5));
    const second = request(Date.UTC(2030, 0, 2, 3, 9, 0));
    await scheduler.upsert(first);

    await scheduler.upsert(second);

    const schedule = await get(second.name);
    expect(schedule.ScheduleExpression).toBe('at(2030-01-02T03:09:00)');
    expect(JSON.parse(schedule.Target?.Input ?? 'null')).toEqual(second.payload);
    expect(schedule.Target?.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 1800, MaximumRetryAttempts: 7 });
    expect(schedule.Target?.DeadLetterConfig).toEqual({ Arn: DLQ_ARN });
    // moto 5.2.5 quirk: update_schedule ignores ActionAfterCompletion and keeps the value from
    // create, so this only shows it survived the update. That UpdateSchedule itself sends it is
    // asserted in test/unit/eventbridge-scheduler-faults.test.ts.
    expect(schedule.ActionAfterCompletion).toBe('DELETE');
    expect((await list())?.map((s) => s.Name)).toEqual([second.name]);
  });

  it('converges to one schedule when two writers upsert the same name at once', async () => {
    const a = request(Date.UTC(2030, 0, 2, 3, 4, 5));
    const b = request(Date.UTC(2030, 0, 2, 3, 4, 6));

    await Promise.all([scheduler.upsert(a), scheduler.upsert(b)]);

    expect((await list())?.map((s) => s.Name)).toEqual([a.name]);
    expect(['at(2030-01-02T03:04:05)', 'at(2030-01-02T03:04:06)']).toContain(
      (await get(a.name)).ScheduleExpression,
    );
  });

  it('deletes the schedule, and deleting it again is not an error', async () => {
    const req = request(Date.UTC(2030, 0, 2, 3, 4, 5));
    await scheduler.upsert(req);

    await scheduler.delete(req.name);
    await scheduler.delete(req.name);

    await expect(get(req.name)).rejects.toBeInstanceOf(ResourceNotFoundException);
    expect(await list()).toEqual([]);
  });

  it('fails with BackendUnavailableError when the schedule group does not exist', async () => {
    const orphan = new EventBridgeExpiryScheduler(client, {
      groupName: `missing-${randomUUID()}`,
      targetArn: TARGET_ARN,
      roleArn: ROLE_ARN,
      deadLetterArn: DLQ_ARN,
      clock: new FakeClock(),
    });

    // AWS answers ResourceNotFoundException to both Update and Create here; moto 5.2.5 answers
    // it to Update, then fails Create with an HTTP 500 (a KeyError on the group), which is
    // retried as transient. Either way the upsert must fail, not report success.
    const error = await orphan.upsert(request(Date.UTC(2030, 0, 2, 3, 4, 5))).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as BackendUnavailableError).backend).toBe('scheduler');
  });
});
