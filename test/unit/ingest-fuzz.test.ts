import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryAgentStore } from '../../functions/adapters/memory/agent-store.js';
import { makeIngestHandler } from '../../functions/handlers/ingest.js';
import { makeBearerAuth } from '../../functions/http/auth.js';
import { TOKEN, apiEvent } from '../support/api-events.js';
import { FakeClock, RecordingLog, RecordingScheduler, coreDeps } from '../support/fakes.js';

const policy = { defaultTtlSeconds: 90, defaultIntervalSeconds: 30, minTtlSeconds: 1 };

function handler() {
  const log = new RecordingLog();
  const ingest = makeIngestHandler({
    core: coreDeps({
      store: new MemoryAgentStore(),
      scheduler: new RecordingScheduler(),
      clock: new FakeClock(),
      log,
    }),
    policy,
    authenticate: makeBearerAuth([TOKEN]),
  });
  return { ingest, log };
}

// Bodies that are almost heartbeats find more edge cases than random text alone.
const nearHeartbeat = fc.record(
  {
    agentId: fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.integer(), fc.constant(null)),
    bootId: fc.oneof(fc.string(), fc.integer()),
    seq: fc.oneof(fc.integer(), fc.double(), fc.string()),
    ttlSeconds: fc.oneof(fc.integer(), fc.double(), fc.constant(1e308)),
    intervalSeconds: fc.oneof(fc.integer(), fc.double()),
    checks: fc.oneof(
      fc.array(
        fc.record({ name: fc.oneof(fc.string(), fc.integer()), status: fc.string(), output: fc.anything() }),
      ),
      fc.anything(),
    ),
    labels: fc.oneof(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer())), fc.anything()),
    __proto__: fc.anything(),
  },
  { requiredKeys: [] },
);

const body = fc.oneof(
  nearHeartbeat.map((value) => ({ text: JSON.stringify(value), base64: false })),
  fc.json().map((text) => ({ text, base64: false })),
  fc.string({ unit: 'binary' }).map((text) => ({ text, base64: false })),
  fc
    .uint8Array({ maxLength: 512 })
    .map((bytes) => ({ text: Buffer.from(bytes).toString('base64'), base64: true })),
  fc.string().map((text) => ({ text, base64: true })),
);

const headers = fc.oneof(
  fc.constant({ authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }),
  fc.dictionary(
    fc.oneof(fc.constantFrom('authorization', 'content-type', 'Content-Type', 'AUTHORIZATION'), fc.string()),
    fc.oneof(
      fc.constantFrom(`Bearer ${TOKEN}`, 'application/json', 'application/problem+json; charset=utf-8'),
      fc.string(),
    ),
  ),
);

describe('ingest handler under arbitrary input', () => {
  it('never answers 5xx and never throws, whatever the body, headers or method', async () => {
    const { ingest, log } = handler();
    await fc.assert(
      fc.asyncProperty(
        body,
        headers,
        fc.constantFrom('POST', 'GET', 'PUT', 'post', ''),
        async (b, h, method) => {
          const response = await ingest(
            apiEvent({ method, headers: h, body: b.text, isBase64Encoded: b.base64 }),
          );
          expect(response.statusCode).toBeGreaterThanOrEqual(200);
          expect(response.statusCode).toBeLessThan(500);
          expect(() => JSON.parse(response.body) as unknown).not.toThrow();
        },
      ),
      { numRuns: 1500 },
    );
    expect(log.withMessage('unhandled error')).toEqual([]);
  });
});
