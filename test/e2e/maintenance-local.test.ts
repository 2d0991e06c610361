import { mkdtemp, rm } from 'node:fs/promises';
import { type IncomingMessage, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCAL_TIMING } from '../../functions/core/timing.js';
import { type RunnerProcess, client, sleep, startRunner, waitFor } from '../support/runner-process.js';

// Maintenance windows and events (issue 10) through the local runner as `npm start` runs it,
// with EVENTS_WEBHOOK_URL pointing at a receiver on this machine.

const TOKEN = 'e2e-token';
const GRACE_MS = LOCAL_TIMING.graceMs;
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

interface Received {
  id: string;
  source: string;
  'detail-type': string;
  detail: Record<string, unknown>;
}

/** A webhook receiver on loopback: keeps every event POSTed to it. */
async function webhookReceiver(): Promise<{ url: string; events: Received[] }> {
  const events: Received[] = [];
  const server: Server = createServer((request: IncomingMessage, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      events.push(JSON.parse(body) as Received);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/heartbeat`, events };
}

async function runner(env: Record<string, string>): Promise<RunnerProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'hb-e2e-maintenance-'));
  const started = await startRunner({
    DATA_DIR: dir,
    HEARTBEAT_TOKEN: TOKEN,
    MIN_TTL_SECONDS: '1',
    RECONCILE_INTERVAL_SECONDS: '1',
    ...env,
  });
  cleanups.push(async () => {
    await started.stop();
    await rm(dir, { recursive: true, force: true });
  });
  return started;
}

describe('maintenance windows through the local runner', () => {
  it('holds the covered agents through their window and expires them at its end (or actual end) plus their TTL; the others on time; events reach the webhook', async () => {
    const hook = await webhookReceiver();
    const r = await runner({ EVENTS_WEBHOOK_URL: hook.url });
    const api = client(r.url, TOKEN);
    const ttlSeconds = 2;
    const beat = (agentId: string, labels: Record<string, string>) =>
      api.heartbeat({ agentId, ttlSeconds, intervalSeconds: 1, labels });

    // An agent token may not open a window.
    expect(
      (
        await api.createWindow(
          { selector: { agentIds: ['x'] }, end: new Date(Date.now() + 60_000).toISOString(), reason: 'no' },
          'agent',
        )
      ).status,
    ).toBe(403);

    const t0 = Date.now();
    const rack = await api.createWindow({
      selector: { labels: { rack: 'r1' } },
      end: new Date(t0 + 15_000).toISOString(),
      reason: 'rack r1 switch swap',
    });
    const byId = await api.createWindow({
      selector: { agentIds: ['listed'] },
      end: new Date(t0 + 60_000).toISOString(),
      reason: 'reimage',
    });
    expect(rack.status).toBe(201);
    expect(byId.status).toBe(201);
    const rackEnd = Date.parse(String(rack.body.end));
    expect(((await api.listWindows()).body.items as unknown[]).length).toBe(2);

    for (const [id, labels] of [
      ['in-rack', { rack: 'r1' }],
      ['other-rack', { rack: 'r2' }],
      ['listed', {}],
    ] as const) {
      expect((await beat(id, labels)).status).toBe(200);
    }

    // The uncovered agent expires on time; the covered ones are held, and their records say by what.
    await waitFor(
      async () => ((await api.agent('other-rack')).body.state === 'expired' ? true : undefined),
      ttlSeconds * 1000 + GRACE_MS + 2_000,
      'other-rack to expire',
    );
    await sleep(1_000);
    const inRack = (await api.agent('in-rack')).body;
    expect(inRack).toMatchObject({
      state: 'alive',
      maintenance: { id: rack.body.id, reason: 'rack r1 switch swap' },
    });
    expect((await api.agent('listed')).body).toMatchObject({
      state: 'alive',
      maintenance: { id: byId.body.id },
    });

    // The id window ends early; the reconciler (every second here) moves its hold back.
    const ended = await api.endWindow(String(byId.body.id));
    expect(ended).toMatchObject({ status: 200, body: { state: 'ended' } });
    const endedAt = Date.parse(String(ended.body.endedAt));
    expect(Date.now()).toBeLessThan(rackEnd); // the rack window still runs
    expect((await api.agent('in-rack')).body.state).toBe('alive');

    const listed = await waitFor(
      async () => {
        const { body } = await api.agent('listed');
        return body.state === 'expired' ? body : undefined;
      },
      ttlSeconds * 1000 + GRACE_MS + 4_000,
      'listed to expire after its window ended early',
    );
    expect(Date.parse(String(listed.expiredAt))).toBe(endedAt + ttlSeconds * 1000);

    const rackAgent = await waitFor(
      async () => {
        const { body } = await api.agent('in-rack');
        return body.state === 'expired' ? body : undefined;
      },
      rackEnd - Date.now() + ttlSeconds * 1000 + GRACE_MS + 3_000,
      'in-rack to expire after its window',
    );
    // Never at the instant the window ended: its end plus the agent's TTL.
    expect(Date.parse(String(rackAgent.expiredAt))).toBe(rackEnd + ttlSeconds * 1000);
    expect(Date.parse(String(rackAgent.detectedAt))).toBeGreaterThanOrEqual(rackEnd + ttlSeconds * 1000);

    const held = r.lines.filter((line) => line.message === 'expiry held: maintenance window');
    expect(held.map((line) => line.agentId).sort()).toEqual(['in-rack', 'listed']);

    // Every transition reached the webhook, in the shape of an EventBridge event.
    await waitFor(
      async () =>
        hook.events.filter((e) => e['detail-type'] === 'Maintenance Left').length === 2 ? true : undefined,
      5_000,
      'both windows to be announced ended',
    );
    const kinds = (type: string) => hook.events.filter((event) => event['detail-type'] === type);
    expect(kinds('Agent Registered')).toHaveLength(3);
    expect(kinds('Maintenance Entered')).toHaveLength(2);
    expect(
      kinds('Agent Expired')
        .map((event) => event.detail['agentId'])
        .sort(),
    ).toEqual(['in-rack', 'listed', 'other-rack']);
    expect(
      kinds('Maintenance Left')
        .map((event) => event.detail['endedEarly'])
        .sort(),
    ).toEqual([false, true]);
    expect(
      hook.events.every(
        (event) => event.source === 'heartbeat-expiry' && event.id === event.detail['eventId'],
      ),
    ).toBe(true);
    // Locally each event is also a log line.
    expect(r.lines.filter((line) => line.message === 'event').length).toBeGreaterThanOrEqual(
      hook.events.length,
    );
  }, 60_000);

  it('refuses a window that cannot be: by field, with the reason', async () => {
    const r = await runner({});
    const api = client(r.url, TOKEN);
    const past = await api.createWindow({
      selector: { agentIds: ['a'] },
      end: new Date(Date.now() - 60_000).toISOString(),
      reason: 'too late',
    });
    expect(past).toMatchObject({ status: 400, body: { errors: [{ pointer: '/end' }] } });
    const noSelector = await api.createWindow({
      selector: {},
      end: new Date(Date.now() + 60_000).toISOString(),
      reason: 'x',
    });
    expect(noSelector).toMatchObject({ status: 400, body: { errors: [{ pointer: '/selector' }] } });
    expect((await api.endWindow('no-such-window')).status).toBe(404);
  });
});
