import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalApp } from '../../functions/local/app.js';
import { timeoutTracker } from '../support/live-timers.js';
import { startTestApp } from '../support/local-app.js';

const TOKEN = 'storm-token';

const timeouts = timeoutTracker();

function post(url: string, body: unknown): Promise<number> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    // agent: false closes each connection, so client sockets do not pile up in the measurement.
    const req = request(
      `${url}/v1/heartbeats`,
      {
        method: 'POST',
        agent: false,
        headers: {
          authorization: `Bearer ${TOKEN}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function snapshot() {
  const liveTimeouts = await timeouts.settled(200); // let closed sockets and finished timers be destroyed
  const resources = process.getActiveResourcesInfo();
  return {
    timeouts: liveTimeouts,
    handles: resources.filter((type) => type !== 'Timeout').length,
    activeTimers: resources.filter((type) => type === 'Timeout').length,
    heapUsed: process.memoryUsage().heapUsed,
  };
}

describe('the restart storm (the original bug)', () => {
  let app: LocalApp;
  let stop: () => Promise<void> = async () => undefined;

  beforeAll(async () => {
    timeouts.enable();
    ({ app, stop } = await startTestApp({ token: TOKEN, reconcileIntervalSeconds: 60 }));
  });

  afterAll(async () => {
    timeouts.disable();
    await stop();
  });

  it('1,000 restarts of one agent leave one schedule and no growth in timers, handles or heap', async () => {
    const restart = (i: number) =>
      post(app.url, { agentId: 'flappy', bootId: `boot-${i}`, seq: 0, ttlSeconds: 60 });
    // Warm up: first-use allocations (JIT, SDK clients, connection pools) are not a leak.
    for (let i = 0; i < 100; i++) expect(await restart(i)).toBe(200);
    const before = await snapshot();

    for (let i = 100; i < 1_100; i++) expect(await restart(i)).toBe(200);
    const after = await snapshot();

    expect(app.scheduler.size).toBe(1);
    const record = (await app.store.get('flappy'))?.record;
    expect(record?.bootId).toBe('boot-1099');
    expect(after.timeouts - before.timeouts).toBeLessThanOrEqual(2);
    expect(after.activeTimers - before.activeTimers).toBeLessThanOrEqual(2);
    expect(after.handles - before.handles).toBeLessThanOrEqual(2);
    // 1,000 leaked timers or closures would be megabytes; noise is well under this.
    expect(after.heapUsed - before.heapUsed).toBeLessThan(4 * 1024 * 1024);
    console.log('restart storm', { before, after, schedules: app.scheduler.size });
  });
});
