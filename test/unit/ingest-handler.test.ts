import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryAgentStore } from '../../functions/adapters/memory/agent-store.js';
import { BackendUnavailableError } from '../../functions/core/errors.js';
import { handleExpiry } from '../../functions/core/handle-expiry.js';
import { scheduleNameFor } from '../../functions/core/schedule-name.js';
import { makeIngestHandler } from '../../functions/handlers/ingest.js';
import { makeReadHandler } from '../../functions/handlers/read.js';
import { makeBearerAuth } from '../../functions/http/auth.js';
import { TOKEN, apiEvent, heartbeatEvent } from '../support/api-events.js';
import { UNLIMITED } from '../../functions/core/budget.js';
import { FakeClock, RecordingLog, RecordingMetrics, RecordingScheduler, coreDeps } from '../support/fakes.js';

const policy = { defaultTtlSeconds: 90, defaultIntervalSeconds: 30, minTtlSeconds: 60 };

function setup() {
  const clock = new FakeClock();
  const store = new MemoryAgentStore();
  const scheduler = new RecordingScheduler();
  const log = new RecordingLog();
  const authenticate = makeBearerAuth([TOKEN, 'previous-token']);
  const metrics = new RecordingMetrics();
  const core = coreDeps({ store, scheduler, clock, log, metrics });
  const ingest = makeIngestHandler({ core, policy, authenticate });
  const read = makeReadHandler({ store, authenticate, log, clock });
  return { clock, store, scheduler, log, metrics, core, ingest, read };
}

type Setup = ReturnType<typeof setup>;
const parse = (body: string) => JSON.parse(body) as Record<string, unknown>;

describe('POST /v1/heartbeats', () => {
  let s: Setup;
  beforeEach(() => {
    s = setup();
  });

  it('answers 200 with the agent state, deadline and when to report next', async () => {
    const response = await s.ingest(
      heartbeatEvent({ agentId: 'web-1', checks: [{ name: 'disk', status: 'pass' }] }),
    );
    expect(response.statusCode).toBe(200);
    expect(response.headers?.['content-type']).toBe('application/json');
    expect(parse(response.body)).toEqual({
      agentId: 'web-1',
      state: 'alive',
      lastSeen: '2026-11-26T12:00:00.000Z',
      deadline: '2026-11-26T12:01:30.000Z',
      nextHeartbeatSeconds: 30,
    });
    expect([...s.scheduler.schedules.keys()]).toEqual([scheduleNameFor('web-1')]);
    expect(Object.fromEntries(s.metrics.counts)).toEqual({
      Heartbeats: 1,
      ScheduleWrites: 1,
      AgentsRegistered: 1,
    });
  });

  it('an announced downtime (maintenanceSeconds) moves the deadline once, logged; the next heartbeat sets it back', async () => {
    const announced = await s.ingest(
      heartbeatEvent({ agentId: 'web-1', ttlSeconds: 90, maintenanceSeconds: 3600 }),
    );
    expect(parse(announced.body)).toMatchObject({ deadline: '2026-11-26T13:01:30.000Z' }); // + 1 h 90 s
    expect(s.log.withMessage('agent announced maintenance')).toEqual([
      expect.objectContaining({
        level: 'info',
        attributes: expect.objectContaining({ agentId: 'web-1', maintenanceSeconds: 3600 }),
      }),
    ]);
    // The schedule moved with it: nothing fires before the announced end.
    const fireAt = s.scheduler.schedules.get(scheduleNameFor('web-1'))?.fireAt ?? 0;
    expect(fireAt).toBeGreaterThan(Date.parse('2026-11-26T13:01:30.000Z') - 1);
    // Silent past its usual TTL: a firing re-arms rather than expires.
    s.clock.advance(600);
    expect((await handleExpiry(s.core, 'web-1', 'fire-1', UNLIMITED)).result.kind).toBe('rearmed');
    const back = await s.ingest(heartbeatEvent({ agentId: 'web-1', ttlSeconds: 90 }));
    expect(parse(back.body)).toMatchObject({ deadline: '2026-11-26T12:11:30.000Z' });
    // Bounded: a day at most.
    const tooLong = await s.ingest(heartbeatEvent({ agentId: 'web-1', maintenanceSeconds: 86_401 }));
    expect(tooLong.statusCode).toBe(400);
    expect(parse(tooLong.body).errors).toEqual([expect.objectContaining({ pointer: '/maintenanceSeconds' })]);
  });

  it('accepts the previous token during a rotation', async () => {
    const response = await s.ingest(
      heartbeatEvent(
        { agentId: 'web-1' },
        { authorization: 'Bearer previous-token', 'content-type': 'application/json' },
      ),
    );
    expect(response.statusCode).toBe(200);
  });

  it('GET /v1/agents/{id} returns the stored record; an unknown id is 404', async () => {
    await s.ingest(heartbeatEvent({ agentId: 'web-1', labels: { rack: 'r1' } }));
    const found = await s.read(apiEvent({ method: 'GET', path: '/v1/agents/web-1' }));
    expect(found.statusCode).toBe(200);
    expect(parse(found.body)).toMatchObject({
      agentId: 'web-1',
      state: 'alive',
      labels: { rack: 'r1' },
      ttlSeconds: 90,
      expiredAt: null,
    });
    const missing = await s.read(apiEvent({ method: 'GET', path: '/v1/agents/nobody' }));
    expect(missing.statusCode).toBe(404);
    expect(missing.headers?.['content-type']).toBe('application/problem+json');
  });

  it('GET /v1/agents?state= lists agents in that state, page by page', async () => {
    for (const agentId of ['a-1', 'a-2', 'a-3']) await s.ingest(heartbeatEvent({ agentId }));
    const first = await s.read(
      apiEvent({ method: 'GET', path: '/v1/agents', query: { state: 'alive', limit: '2' } }),
    );
    expect(first.statusCode).toBe(200);
    const page1 = parse(first.body) as { items: { agentId: string }[]; nextCursor: string | null };
    expect(page1.items.map((item) => item.agentId)).toEqual(['a-1', 'a-2']);
    const second = await s.read(
      apiEvent({
        method: 'GET',
        path: '/v1/agents',
        query: { state: 'alive', limit: '2', cursor: String(page1.nextCursor) },
      }),
    );
    expect(parse(second.body)).toMatchObject({
      items: [{ agentId: 'a-3', state: 'alive' }],
      nextCursor: null,
    });
    const none = await s.read(apiEvent({ method: 'GET', path: '/v1/agents', query: { state: 'expired' } }));
    expect(parse(none.body)).toEqual({ items: [], nextCursor: null });
  });

  it('GET /v1/agents with a bad state, limit or cursor is a 400 naming the parameter', async () => {
    const bad = async (query: Record<string, string>) => {
      const response = await s.read(apiEvent({ method: 'GET', path: '/v1/agents', query }));
      expect(response.statusCode).toBe(400);
      return (parse(response.body).errors as { pointer: string }[]).map((e) => e.pointer);
    };
    expect(await bad({ state: 'zombie' })).toEqual(['/state']);
    expect(await bad({})).toEqual(['/state']);
    expect(await bad({ state: 'alive', limit: '0' })).toEqual(['/limit']);
    expect(await bad({ state: 'alive', cursor: 'bogus' })).toEqual(['/cursor']);
  });

  it('logs a recovery when an expired agent reports again', async () => {
    await s.ingest(heartbeatEvent({ agentId: 'web-1' }));
    const stored = await s.store.get('web-1');
    if (!stored) throw new Error('not stored');
    await s.store.replace(
      { ...stored.record, state: 'expired', expiredAt: stored.record.deadline, armedFor: null },
      stored.version,
    );
    s.clock.advance(300);
    await s.ingest(heartbeatEvent({ agentId: 'web-1' }));
    expect(s.log.withMessage('agent recovered')).toHaveLength(1);
    expect(s.metrics.counts.get('AgentsRecovered')).toBe(1);
    expect((await s.store.get('web-1'))?.record.state).toBe('alive');
  });

  describe('bad input: a clear problem, nothing stored, nothing armed', () => {
    const cases: {
      name: string;
      event: () => ReturnType<typeof apiEvent>;
      status: number;
      pointers?: string[];
    }[] = [
      { name: 'malformed JSON', event: () => apiEvent({ body: '{"agentId": ' }), status: 400 },
      { name: 'empty body', event: () => apiEvent({}), status: 400 },
      {
        name: 'a text body with a lone surrogate (what invalid UTF-8 decodes to)',
        event: () => apiEvent({ body: '{"agentId":"a","labels":{"k":"\ud800"}}' }),
        status: 400,
      },
      {
        name: 'a base64 body that is not UTF-8',
        event: () =>
          apiEvent({ body: Buffer.from([0x7b, 0xc3, 0x28, 0x7d]).toString('base64'), isBase64Encoded: true }),
        status: 400,
      },
      {
        name: 'a base64 body over 64 KiB',
        event: () =>
          apiEvent({
            body: Buffer.from(JSON.stringify({ agentId: 'a', labels: { big: 'x'.repeat(70_000) } })).toString(
              'base64',
            ),
            isBase64Encoded: true,
          }),
        status: 413,
      },
      { name: 'a JSON array', event: () => apiEvent({ body: '[]' }), status: 400, pointers: [''] },
      { name: 'missing agentId', event: () => heartbeatEvent({}), status: 400, pointers: ['/agentId'] },
      {
        name: 'wrong types, one entry per problem',
        event: () => heartbeatEvent({ agentId: 7, seq: 'x', checks: [{ name: 'disk', status: 'maybe' }] }),
        status: 400,
        pointers: ['/agentId', '/seq', '/checks/0/status'],
      },
      {
        name: 'bad agentId characters',
        event: () => heartbeatEvent({ agentId: 'a/b c' }),
        status: 400,
        pointers: ['/agentId'],
      },
      {
        name: 'agentId too long',
        event: () => heartbeatEvent({ agentId: 'a'.repeat(129) }),
        status: 400,
        pointers: ['/agentId'],
      },
      {
        name: 'too many checks',
        event: () =>
          heartbeatEvent({
            agentId: 'a',
            checks: Array.from({ length: 51 }, (_, i) => ({ name: `c${i}`, status: 'pass' })),
          }),
        status: 400,
        pointers: ['/checks'],
      },
      {
        name: 'ttl below the minimum',
        event: () => heartbeatEvent({ agentId: 'a', ttlSeconds: 5 }),
        status: 400,
        pointers: ['/ttlSeconds'],
      },
      {
        name: 'interval longer than ttl',
        event: () => heartbeatEvent({ agentId: 'a', ttlSeconds: 60, intervalSeconds: 61 }),
        status: 400,
        pointers: ['/intervalSeconds'],
      },
      {
        name: 'body over 64 KiB',
        event: () => heartbeatEvent({ agentId: 'a', labels: { big: 'x'.repeat(70_000) } }),
        status: 413,
      },
      {
        name: 'non-JSON content type',
        event: () =>
          apiEvent({
            body: 'agentId=a',
            headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/plain' },
          }),
        status: 415,
      },
      {
        name: 'missing token',
        event: () => heartbeatEvent({ agentId: 'a' }, { 'content-type': 'application/json' }),
        status: 401,
      },
      {
        name: 'wrong token',
        event: () =>
          heartbeatEvent(
            { agentId: 'a' },
            { authorization: 'Bearer nope', 'content-type': 'application/json' },
          ),
        status: 401,
      },
      {
        name: 'wrong method',
        event: () => apiEvent({ method: 'PUT', body: '{"agentId":"a"}' }),
        status: 405,
      },
    ];

    for (const testCase of cases) {
      it(`${testCase.name} -> ${testCase.status}`, async () => {
        const response = await s.ingest(testCase.event());
        expect(response.statusCode).toBe(testCase.status);
        expect(response.headers?.['content-type']).toBe('application/problem+json');
        const body = parse(response.body);
        expect(body).toMatchObject({
          status: testCase.status,
          title: expect.any(String),
          detail: expect.any(String),
        });
        if (testCase.pointers) {
          const errors = body.errors as { pointer: string; detail: string }[];
          expect(errors.map((e) => e.pointer).sort()).toEqual([...testCase.pointers].sort());
        }
        expect(s.scheduler.upserts).toHaveLength(0);
        await expect(s.store.get('a')).resolves.toBeUndefined();
      });
    }

    it('unknown route -> 404 problem', async () => {
      const response = await s.read(apiEvent({ method: 'GET', path: '/v2/whatever' }));
      expect(response.statusCode).toBe(404);
      expect(response.headers?.['content-type']).toBe('application/problem+json');
    });

    it('wrong method on the read route -> 405 with Allow', async () => {
      const response = await s.read(apiEvent({ method: 'PUT', path: '/v1/agents/web-1' }));
      expect(response.statusCode).toBe(405);
      expect(response.headers?.allow).toBe('GET, DELETE');
    });
  });

  describe('backend failures (I6)', () => {
    it('a failed schedule write still records the heartbeat (200), with no schedule known; the next heartbeat arms one', async () => {
      s.scheduler.failNext(new BackendUnavailableError('scheduler', 'throttled', 2));
      const response = await s.ingest(heartbeatEvent({ agentId: 'web-1' }));
      expect(response.statusCode).toBe(200);
      expect((await s.store.get('web-1'))?.record).toMatchObject({ state: 'alive', armedFor: null });
      expect(s.metrics.counts.get('ScheduleWriteFailures')).toBe(1);
      expect(
        s.log.withMessage('schedule write failed; the record keeps only a schedule it can vouch for'),
      ).toHaveLength(1);

      s.clock.advance(30);
      expect((await s.ingest(heartbeatEvent({ agentId: 'web-1' }))).statusCode).toBe(200);
      const record = (await s.store.get('web-1'))?.record;
      expect(record?.armedFor).toBe(record?.deadline);
      expect(s.scheduler.schedules.get(scheduleNameFor('web-1'))?.fireAt).toBe(record?.deadline);
    });

    it('a failed schedule write keeps the armed schedule when it still fires in time (early at worst)', async () => {
      await s.ingest(heartbeatEvent({ agentId: 'web-1' }));
      const armed = (await s.store.get('web-1'))?.record.armedFor;
      s.clock.advance(50); // the schedule (at +90 s) is now more than ttl - 1.5 x interval early: move it
      s.scheduler.failNext(new BackendUnavailableError('scheduler', 'throttled'));
      expect((await s.ingest(heartbeatEvent({ agentId: 'web-1' }))).statusCode).toBe(200);
      const record = (await s.store.get('web-1'))?.record;
      expect(record?.lastSeen).toBe(s.clock.now());
      expect(record?.armedFor).toBe(armed);
      expect(record?.armedFor ?? Infinity).toBeLessThanOrEqual(record?.deadline ?? 0);
    });

    it('a misconfigured scheduler (access denied) does not fail heartbeats either, but logs an error', async () => {
      s.scheduler.failNext(
        new Error('AccessDeniedException: not authorized to perform scheduler:UpdateSchedule'),
      );
      expect((await s.ingest(heartbeatEvent({ agentId: 'web-1' }))).statusCode).toBe(200);
      const [line] = s.log.withMessage(
        'schedule write failed; the record keeps only a schedule it can vouch for',
      );
      expect(line?.level).toBe('error');
    });

    it('a failed store write answers 503 and asks for an early firing, which re-arms what the record names', async () => {
      await s.ingest(heartbeatEvent({ agentId: 'web-1' }));
      const before = await s.store.get('web-1');
      s.clock.advance(60);
      s.store.failNext('replace', new BackendUnavailableError('store', 'down'));
      const response = await s.ingest(heartbeatEvent({ agentId: 'web-1' }));
      expect(response.statusCode).toBe(503);
      expect(response.headers?.['retry-after']).toBe('1');
      // Unknown which record the schedule should serve, so it fires now rather than late...
      const name = scheduleNameFor('web-1');
      expect(s.scheduler.schedules.get(name)?.fireAt).toBe(s.clock.now());
      // ...and the expiry handler, reading the record, arms exactly what it names.
      await expect(handleExpiry(s.core, 'web-1', 'inv-1', UNLIMITED)).resolves.toMatchObject({
        result: { kind: 'rearmed' },
      });
      const record = (await s.store.get('web-1'))?.record;
      expect(record?.lastSeen).toBe(before?.record.lastSeen);
      expect(s.scheduler.schedules.get(name)?.fireAt).toBe(record?.armedFor);
    });

    it('a failed first store write answers 503; the schedule it armed is never deleted, and fires into nothing', async () => {
      s.store.failNext('create', new BackendUnavailableError('store', 'down'));
      const response = await s.ingest(heartbeatEvent({ agentId: 'web-1' }));
      expect(response.statusCode).toBe(503);
      await expect(s.store.get('web-1')).resolves.toBeUndefined();
      // Deleting it could remove the schedule of a write that lands after all; left alone, its
      // one firing finds no agent and does nothing.
      const orphan = s.scheduler.schedules.get(scheduleNameFor('web-1'));
      expect(orphan).toBeDefined();
      await expect(handleExpiry(s.core, 'web-1', 'inv-1', UNLIMITED)).resolves.toEqual({
        result: { kind: 'ignored', reason: 'unknown-agent' },
        reported: 0,
      });
    });

    for (const op of ['create', 'replace'] as const) {
      it(`a ${op} that committed but reported an error is a success, and the record names the schedule`, async () => {
        if (op === 'replace') await s.ingest(heartbeatEvent({ agentId: 'web-1' }));
        s.clock.advance(60);
        s.store.failNext(op, new BackendUnavailableError('store', 'timed out'), 'after');
        const response = await s.ingest(heartbeatEvent({ agentId: 'web-1' }));
        expect(response.statusCode).toBe(200);
        const record = (await s.store.get('web-1'))?.record;
        expect(record?.lastSeen).toBe(s.clock.now());
        expect(s.scheduler.schedules.get(scheduleNameFor('web-1'))?.fireAt).toBe(record?.armedFor);
      });
    }

    it('an unexpected error is a 500 without a stack trace', async () => {
      s.store.failNext('get', new TypeError('boom at secret/path.ts:12'));
      const response = await s.ingest(heartbeatEvent({ agentId: 'web-1' }));
      expect(response.statusCode).toBe(500);
      expect(response.body).not.toContain('secret/path');
      expect(s.log.withMessage('unhandled error')).toHaveLength(1);
    });
  });
});
