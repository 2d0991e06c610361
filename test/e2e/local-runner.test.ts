import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCAL_TIMING } from '../../functions/core/timing.js';
import { type RunnerProcess, client, sleep, startRunner, waitFor } from '../support/runner-process.js';

/** The local runner declares an expiry this long after the deadline (functions/core/timing.ts). */
const GRACE_MS = LOCAL_TIMING.graceMs;

const TOKEN = 'e2e-token';
const runners: RunnerProcess[] = [];
const dirs: string[] = [];

async function dataDir() {
  const dir = await mkdtemp(join(tmpdir(), 'hb-e2e-'));
  dirs.push(dir);
  return dir;
}

async function runner(dir: string) {
  const started = await startRunner({ DATA_DIR: dir, HEARTBEAT_TOKEN: TOKEN, MIN_TTL_SECONDS: '1' });
  runners.push(started);
  return started;
}

const expiryLines = (r: RunnerProcess) => r.lines.filter((line) => line.message === 'agent expired');

afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.stop()));
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('local runner, end to end', () => {
  it('deregisters an agent with the operator token (never with an agent token): it never expires', async () => {
    const r = await runner(await dataDir());
    const api = client(r.url, TOKEN);
    expect((await api.heartbeat({ agentId: 'old-box', ttlSeconds: 1 })).status).toBe(200);
    expect((await api.deregister('old-box', 'agent')).status).toBe(403);
    expect((await api.agent('old-box')).body.state).toBe('alive');
    const gone = await api.deregister('old-box');
    expect(gone).toMatchObject({ status: 200, body: { state: 'deregistered' } });
    expect(r.lines.filter((line) => line.message === 'agent deregistered')).toHaveLength(1);
    await sleep(1_000 + GRACE_MS + 1_000); // past its expiry time
    expect((await api.agent('old-box')).body.state).toBe('deregistered');
    expect(expiryLines(r)).toEqual([]);
    expect((await api.deregister('no-such-box')).status).toBe(404);
  });

  it('expires a silent agent within TTL + grace + 1 s, at lastSeen + ttl, with exactly one log line', async () => {
    const r = await runner(await dataDir());
    const api = client(r.url, TOKEN);

    const sent = await api.heartbeat({
      agentId: 'db-7',
      ttlSeconds: 2,
      checks: [{ name: 'disk', status: 'fail', output: '97%' }],
    });
    expect(sent.status).toBe(200);
    const lastSeen = Date.parse(String(sent.body.lastSeen));

    const expired = await waitFor(
      async () => {
        const { body } = await api.agent('db-7');
        return body.state === 'expired' ? body : undefined;
      },
      3_000 + GRACE_MS + 1_000,
      'db-7 to expire',
    );
    expect(Date.now() - lastSeen).toBeLessThanOrEqual(3_000 + GRACE_MS + 250); // polling granularity
    expect(Date.parse(String(expired.expiredAt))).toBe(lastSeen + 2_000);

    await sleep(1_500); // a second delivery, if any, would have logged by now
    const lines = expiryLines(r);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'WARN',
      agentId: 'db-7',
      ttlSeconds: 2,
      lastSeen: sent.body.lastSeen,
      expiredAt: expired.expiredAt,
      failingChecks: [{ name: 'disk', status: 'fail', output: '97%' }],
    });
    expect(lines[0]?.lateBySeconds).toBeGreaterThanOrEqual(GRACE_MS / 1000);
    expect(lines[0]?.lateBySeconds).toBeLessThan(GRACE_MS / 1000 + 1);
  });

  it('fleet: of 300 agents, exactly the 50 that stop reporting expire', async () => {
    const r = await runner(await dataDir());
    const api = client(r.url, TOKEN);
    const agents = Array.from({ length: 300 }, (_, i) => `node-${String(i).padStart(3, '0')}`);
    const silent = new Set(agents.slice(100, 150));

    // Long enough that a round of 250 heartbeats on a loaded CI machine stays well inside it.
    const ttlSeconds = 6;
    const beat = async (ids: string[]) => {
      const results = await Promise.all(
        ids.map((agentId) => api.heartbeat({ agentId, ttlSeconds, intervalSeconds: 1 })),
      );
      expect(results.every((result) => result.status === 200)).toBe(true);
    };

    await beat(agents);
    await beat(agents);
    const silencedAt = Date.now();
    // The others keep reporting every ~0.7 s until the silent ones are well past their TTL.
    while (Date.now() < silencedAt + ttlSeconds * 1000 + GRACE_MS + 1500) {
      await sleep(700);
      await beat(agents.filter((id) => !silent.has(id)));
    }

    const states = await Promise.all(
      agents.map(async (id) => [id, (await api.agent(id)).body.state] as const),
    );
    const expired = states.filter(([, state]) => state === 'expired').map(([id]) => id);
    expect(expired.sort()).toEqual([...silent].sort());
    expect(
      expiryLines(r)
        .map((line) => line.agentId)
        .sort(),
    ).toEqual([...silent].sort());
  });

  it('keeps deadlines across a restart: reporting agents stay alive, silent ones expire on time', async () => {
    const dir = await dataDir();
    let r = await runner(dir);
    let api = client(r.url, TOKEN);
    const first = await api.heartbeat({ agentId: 'silent', ttlSeconds: 4 });
    const chatty = { agentId: 'chatty', ttlSeconds: 10, intervalSeconds: 1 };
    await api.heartbeat(chatty);
    const gone = await api.heartbeat({ agentId: 'gone-while-down', ttlSeconds: 1 });
    const silentDeadline = Date.parse(String(first.body.deadline));

    await r.stop();
    await sleep(1_500); // 'gone-while-down' passes its deadline while nothing runs
    r = await runner(dir);
    api = client(r.url, TOKEN);

    while (Date.now() < silentDeadline + GRACE_MS + 1_500) {
      expect((await api.heartbeat(chatty)).status).toBe(200);
      await sleep(700);
    }

    const silent = (await api.agent('silent')).body;
    expect(silent.state).toBe('expired');
    expect(Date.parse(String(silent.expiredAt))).toBe(silentDeadline);
    expect(Date.parse(String(silent.detectedAt)) - silentDeadline).toBeLessThan(GRACE_MS + 1_000);

    const whileDown = (await api.agent('gone-while-down')).body;
    expect(whileDown.state).toBe('expired');
    expect(whileDown.expiredAt).toBe(gone.body.deadline);

    expect((await api.agent('chatty')).body.state).toBe('alive');
    expect(
      expiryLines(r)
        .map((line) => line.agentId)
        .sort(),
    ).toEqual(['gone-while-down', 'silent']);
  });
});
