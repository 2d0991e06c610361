import { describe, expect, it } from 'vitest';
import { lazyHandler, lazyHttpHandler } from '../../functions/entrypoints/aws.js';
import { BackendUnavailableError } from '../../functions/core/errors.js';
import { json } from '../../functions/http/problem.js';
import { apiEvent } from '../support/api-events.js';

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
