import { describe, expect, it } from 'vitest';
import type { Context } from 'aws-lambda';
import { lazyHandler, lazyHttpHandler, log } from '../../functions/entrypoints/aws.js';
import { createJsonLinesLog } from '../../functions/observability/logger.js';
import { BackendUnavailableError } from '../../functions/core/errors.js';
import { json } from '../../functions/http/problem.js';
import { apiEvent } from '../support/api-events.js';
import { FakeClock } from '../support/fakes.js';

describe('lazyHttpHandler', () => {
  it('answers 503 while initialisation fails, retries it on the next call, then reuses it', async () => {
    let inits = 0;
    const handler = lazyHttpHandler(async () => {
      inits++;
      if (inits === 1) throw new BackendUnavailableError('secrets', 'could not read secret', 2);
      return async () => json(200, { ok: true });
    });

    const first = await handler(apiEvent());
    expect(first.statusCode).toBe(503);
    expect(first.headers?.['retry-after']).toBe('2');
    expect((await handler(apiEvent())).statusCode).toBe(200);
    expect((await handler(apiEvent())).statusCode).toBe(200);
    expect(inits).toBe(2);
  });
});

describe('lazyHandler', () => {
  it('passes the Lambda context on, so the expiry can be named by its request id', async () => {
    const seen: unknown[] = [];
    const handler = lazyHandler(async () => async (event: unknown, context?: { awsRequestId?: string }) => {
      seen.push([event, context?.awsRequestId]);
    });
    await handler({ agentId: 'a' }, { awsRequestId: 'req-123' });
    expect(seen).toEqual([[{ agentId: 'a' }, 'req-123']]);
  });
});

describe('log lines of the Lambda functions', () => {
  it('carry the Lambda context and, for an API request, its request id as correlation id', async () => {
    const written: string[] = [];
    const original = process.stdout.write.bind(process.stdout);
    const capture = (chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    };
    const previous = log.getLevelName();
    log.setLogLevel('INFO');
    process.stdout.write = capture as typeof process.stdout.write;
    try {
      const handler = lazyHttpHandler(async () => async () => {
        log.info('inside the handler');
        return json(200, {});
      });
      const event = apiEvent();
      event.requestContext.requestId = 'api-request-7';
      await handler(event, {
        awsRequestId: 'lambda-request-9',
        functionName: 'HeartbeatService-Ingest',
        functionVersion: '$LATEST',
        invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:HeartbeatService-Ingest',
        memoryLimitInMB: '512',
      } as Context);
    } finally {
      process.stdout.write = original;
      log.setLogLevel(previous);
    }
    const line = written
      .map((text) => JSON.parse(text) as Record<string, unknown>)
      .find((l) => l.message === 'inside the handler');
    expect(line).toMatchObject({
      level: 'INFO',
      function_request_id: 'lambda-request-9',
      function_name: 'HeartbeatService-Ingest',
      cold_start: expect.any(Boolean),
      correlation_id: 'api-request-7',
    });
  });
});

describe('the local runner log', () => {
  it('writes every level as one JSON line to one stream, errors readable, below the level nothing', () => {
    const lines: string[] = [];
    const log = createJsonLinesLog({
      serviceName: 'heartbeat',
      clock: new FakeClock(Date.UTC(2030, 0, 1)),
      level: 'WARN',
      write: (line) => lines.push(line),
    });
    log.info('not shown');
    log.warn('agent expired', { agentId: 'a' });
    log.error('unhandled error', { error: new TypeError('boom', { cause: new Error('root') }) });
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.every((line) => line.endsWith('\n') && !line.slice(0, -1).includes('\n'))).toBe(true);
    expect(parsed).toMatchObject([
      {
        level: 'WARN',
        message: 'agent expired',
        service: 'heartbeat',
        agentId: 'a',
        timestamp: '2030-01-01T00:00:00.000Z',
      },
      { level: 'ERROR', error: { name: 'TypeError', message: 'boom', cause: { message: 'root' } } },
    ]);
  });
});
