import { Readable } from 'node:stream';
import { SchedulerClient, UpdateScheduleCommand } from '@aws-sdk/client-scheduler';
import { HttpResponse } from '@smithy/core/protocols';
import type { HttpRequest } from '@smithy/types';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AWS_MAX_ATTEMPTS, awsRetryStrategy, backoffMs } from '../../functions/adapters/aws-retry.js';
import { EventBridgeExpiryScheduler } from '../../functions/adapters/scheduler/eventbridge-scheduler.js';
import { BackendUnavailableError } from '../../functions/core/errors.js';
import { FakeClock } from '../support/fakes.js';

/**
 * A real SchedulerClient (serializers, the SDK's retry middleware with our strategy) over a fake
 * HTTP layer that answers each attempt from a script: what the service would send back.
 */
function scripted(answers: Array<{ status: number; type?: string } | 'hang'>) {
  const seen: HttpRequest[] = [];
  const handler = {
    handle: (request: HttpRequest, options?: { abortSignal?: AbortSignal }) => {
      seen.push(request);
      const answer = answers[Math.min(seen.length - 1, answers.length - 1)] ?? { status: 200 };
      if (answer === 'hang') {
        return new Promise((_resolve, reject) =>
          options?.abortSignal?.addEventListener('abort', () =>
            reject(Object.assign(new Error('aborted'), { name: 'AbortError' })),
          ),
        );
      }
      const body = answer.status === 200 ? '{"ScheduleArn":"arn"}' : `{"message":"${answer.type}"}`;
      return Promise.resolve({
        response: new HttpResponse({
          statusCode: answer.status,
          headers: {
            'content-type': 'application/json',
            ...(answer.type === undefined ? {} : { 'x-amzn-errortype': answer.type }),
          },
          body: Readable.from([Buffer.from(body)]),
        }),
      });
    },
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
  };
  let throttles = 0;
  const client = new SchedulerClient({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    requestHandler: handler as never,
    retryStrategy: awsRetryStrategy(() => throttles++),
  });
  return { client, seen, throttles: () => throttles };
}

const update = new UpdateScheduleCommand({
  Name: 'hb-a-0',
  GroupName: 'g',
  ScheduleExpression: 'at(2030-01-01T00:00:00)',
  FlexibleTimeWindow: { Mode: 'OFF' },
  Target: { Arn: 'arn:aws:lambda:us-east-1:1:function:f', RoleArn: 'arn:aws:iam::1:role/r' },
});

describe('the one AWS retry policy (the SDK strategy)', () => {
  it('retries throttling and counts every throttled attempt', async () => {
    const s = scripted([{ status: 429, type: 'ThrottlingException' }, { status: 200 }]);
    await s.client.send(update);
    expect(s.seen).toHaveLength(2);
    expect(s.throttles()).toBe(1);
  });

  it(`stops after ${AWS_MAX_ATTEMPTS} attempts, counting the last throttle too`, async () => {
    const s = scripted([{ status: 429, type: 'ThrottlingException' }]);
    await expect(s.client.send(update)).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect(s.seen).toHaveLength(AWS_MAX_ATTEMPTS);
    expect(s.throttles()).toBe(AWS_MAX_ATTEMPTS);
  });

  it('retries a 5xx, never a validation error', async () => {
    const transient = scripted([{ status: 500, type: 'InternalServerException' }, { status: 200 }]);
    await transient.client.send(update);
    expect(transient.seen).toHaveLength(2);

    const invalid = scripted([{ status: 400, type: 'ValidationException' }]);
    await expect(invalid.client.send(update)).rejects.toMatchObject({ name: 'ValidationException' });
    expect(invalid.seen).toHaveLength(1);
  });

  it('keeps every backoff under a cap that doubles per retry, at most 1 s', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, draw) => {
          const delay = backoffMs(attempt, () => draw);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(Math.min(1000, 100 * 2 ** (attempt - 1)));
        },
      ),
    );
  });

  it("stops retrying, and drops the socket, when the call's deadline passes", async () => {
    const s = scripted(['hang']);
    const scheduler = new EventBridgeExpiryScheduler(s.client, {
      groupName: 'g',
      targetArn: 'arn:aws:lambda:us-east-1:1:function:f',
      roleArn: 'arn:aws:iam::1:role/r',
      deadLetterArn: 'arn:aws:sqs:us-east-1:1:q',
      clock: new FakeClock(),
    });
    const started = performance.now();
    const error = await scheduler
      .upsert({ name: 'hb-a-0', fireAt: Date.UTC(2030, 0, 1), payload: { agentId: 'a' } }, { timeoutMs: 50 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect(s.seen).toHaveLength(1);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
