import { describe, expect, it } from 'vitest';
import { MemoryAgentStore } from '../../functions/adapters/memory/agent-store.js';
import { makeIngestHandler } from '../../functions/handlers/ingest.js';
import { makeOperateHandler } from '../../functions/handlers/operate.js';
import { makeReadHandler } from '../../functions/handlers/read.js';
import { agentToken, makeBearerAuth, makePerAgentAuth, requireIamCaller } from '../../functions/http/auth.js';
import { apiEvent, heartbeatEvent } from '../support/api-events.js';
import { FakeClock, RecordingLog, RecordingScheduler, coreDeps } from '../support/fakes.js';

// Credentials apart (issue 10): the agents' token may only POST heartbeats; reading and operating
// need an operator's credential (a token locally, IAM in AWS).
const AGENT = 'agent-token';
const OPERATOR = 'operator-token';
const policy = { defaultTtlSeconds: 90, defaultIntervalSeconds: 30, minTtlSeconds: 60 };
const bearer = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });

function setup() {
  const clock = new FakeClock();
  const store = new MemoryAgentStore();
  const scheduler = new RecordingScheduler();
  const log = new RecordingLog();
  const core = coreDeps({ store, scheduler, clock, log });
  const agentAuth = makeBearerAuth([AGENT], { tokens: [OPERATOR], detail: 'operators do not report' });
  const operatorAuth = makeBearerAuth([OPERATOR], { tokens: [AGENT], detail: 'agents only report' });
  return {
    store,
    scheduler,
    ingest: makeIngestHandler({ core, policy, authenticate: agentAuth }),
    read: makeReadHandler({ store, authenticate: operatorAuth, log, clock }),
    operate: makeOperateHandler({ core, maintenance: store, authenticate: operatorAuth }),
  };
}

describe('credentials apart', () => {
  it("an agent's token reports, and gets 403 on the read and operator routes", async () => {
    const s = setup();
    expect((await s.ingest(heartbeatEvent({ agentId: 'web-1' }, bearer(AGENT)))).statusCode).toBe(200);
    const get = await s.read(apiEvent({ method: 'GET', path: '/v1/agents/web-1', headers: bearer(AGENT) }));
    expect(get.statusCode).toBe(403);
    expect(JSON.parse(get.body)).toMatchObject({ status: 403, detail: 'agents only report' });
    const list = await s.read(
      apiEvent({ method: 'GET', path: '/v1/agents', query: { state: 'alive' }, headers: bearer(AGENT) }),
    );
    expect(list.statusCode).toBe(403);
    const del = await s.operate(
      apiEvent({ method: 'DELETE', path: '/v1/agents/web-1', headers: bearer(AGENT) }),
    );
    expect(del.statusCode).toBe(403);
    expect((await s.store.get('web-1'))?.record.state).toBe('alive'); // nothing done
  });

  it("the operators' token reads and deregisters, and gets 403 on the heartbeat route", async () => {
    const s = setup();
    await s.ingest(heartbeatEvent({ agentId: 'web-1' }, bearer(AGENT)));
    const get = await s.read(
      apiEvent({ method: 'GET', path: '/v1/agents/web-1', headers: bearer(OPERATOR) }),
    );
    expect(get.statusCode).toBe(200);
    const del = await s.operate(
      apiEvent({ method: 'DELETE', path: '/v1/agents/web-1', headers: bearer(OPERATOR) }),
    );
    expect(del.statusCode).toBe(200);
    expect(JSON.parse(del.body)).toMatchObject({ agentId: 'web-1', state: 'deregistered' });
    // Idempotent, and 404 for an agent that never reported.
    const again = await s.operate(
      apiEvent({ method: 'DELETE', path: '/v1/agents/web-1', headers: bearer(OPERATOR) }),
    );
    expect(again.statusCode).toBe(200);
    const unknown = await s.operate(
      apiEvent({ method: 'DELETE', path: '/v1/agents/db-9', headers: bearer(OPERATOR) }),
    );
    expect(unknown.statusCode).toBe(404);
    const report = await s.ingest(heartbeatEvent({ agentId: 'web-2' }, bearer(OPERATOR)));
    expect(report.statusCode).toBe(403);
    expect(await s.store.get('web-2')).toBeUndefined();
  });

  it('an unknown or missing token is a 401 everywhere', async () => {
    const s = setup();
    expect((await s.ingest(heartbeatEvent({ agentId: 'web-1' }, bearer('nope')))).statusCode).toBe(401);
    expect(
      (await s.read(apiEvent({ method: 'GET', path: '/v1/agents/web-1', headers: {} }))).statusCode,
    ).toBe(401);
    expect(
      (await s.operate(apiEvent({ method: 'DELETE', path: '/v1/agents/web-1', headers: bearer('nope') })))
        .statusCode,
    ).toBe(401);
  });

  it('in AWS, the read and operator functions refuse an event without an IAM caller (fail closed)', async () => {
    const event = apiEvent({ method: 'GET', path: '/v1/agents/web-1', headers: bearer(AGENT) });
    await expect(requireIamCaller(event)).rejects.toMatchObject({ status: 403 });
    const signed = {
      ...event,
      requestContext: {
        ...event.requestContext,
        authorizer: { iam: { userArn: 'arn:aws:sts::123456789012:assumed-role/oncall/alice' } },
      },
    };
    await expect(requireIamCaller(signed)).resolves.toBeUndefined();
  });
});

describe('per-agent tokens (agentAuth = per-agent)', () => {
  const SECRET = 'fleet-secret';
  function perAgent(secrets: string[]) {
    const clock = new FakeClock();
    const store = new MemoryAgentStore();
    const core = coreDeps({ store, scheduler: new RecordingScheduler(), clock, log: new RecordingLog() });
    const authenticate = makePerAgentAuth(async () => secrets, {
      tokens: [OPERATOR],
      detail: 'operators do not report',
    });
    return { store, ingest: makeIngestHandler({ core, policy, authenticate }) };
  }

  it("an agent's token is HMAC-SHA256(secret, agentId), base64url: it reports for that agent only", async () => {
    const s = perAgent([SECRET]);
    const token = agentToken(SECRET, 'web-1');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await s.ingest(heartbeatEvent({ agentId: 'web-1' }, bearer(token)))).statusCode).toBe(200);
    // Another host cannot report as web-2 with web-1's token, nor with the secret itself.
    expect((await s.ingest(heartbeatEvent({ agentId: 'web-2' }, bearer(token)))).statusCode).toBe(401);
    expect((await s.ingest(heartbeatEvent({ agentId: 'web-2' }, bearer(SECRET)))).statusCode).toBe(401);
    expect(await s.store.get('web-2')).toBeUndefined();
    // No agent id to check against, or a body that cannot be read: 401, not a hint.
    expect((await s.ingest(heartbeatEvent({ seq: 1 }, bearer(token)))).statusCode).toBe(401);
    // The operators' token is known: 403, as with the fleet token.
    expect((await s.ingest(heartbeatEvent({ agentId: 'web-1' }, bearer(OPERATOR)))).statusCode).toBe(403);
  });

  it('accepts tokens from the current and the previous secret during a rotation', async () => {
    const s = perAgent(['new-secret', SECRET]);
    for (const secret of ['new-secret', SECRET]) {
      const response = await s.ingest(
        heartbeatEvent({ agentId: 'web-1' }, bearer(agentToken(secret, 'web-1'))),
      );
      expect(response.statusCode).toBe(200);
    }
    const stale = await s.ingest(heartbeatEvent({ agentId: 'web-1' }, bearer(agentToken('older', 'web-1'))));
    expect(stale.statusCode).toBe(401);
  });

  it('agent ids of any script derive their token from their UTF-8 bytes', () => {
    expect(agentToken(SECRET, 'сервер-1')).not.toBe(agentToken(SECRET, 'сервер-2'));
    expect(agentToken(SECRET, 'ó')).toBe(agentToken(SECRET, 'ó'.normalize('NFC')));
  });
});
