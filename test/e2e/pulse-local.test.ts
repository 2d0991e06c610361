import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalApp } from '../../functions/local/app.js';
import { FakeClock } from '../support/fakes.js';
import { startTestApp } from '../support/local-app.js';

// The fleet pulse as the local runner keeps it: accepted heartbeats per 1 s bucket (its default),
// in the same store as the agents, through the runner's HTTP server.
const TOKEN = 'pulse-token';
const T = Date.UTC(2026, 0, 15, 10, 0, 0);
const clock = new FakeClock(T);
let app: LocalApp;
let stop: () => Promise<void> = async () => undefined;

beforeAll(async () => {
  ({ app, stop } = await startTestApp({ token: TOKEN, clock }));
});

afterAll(() => stop());

const beat = (agentId: string) =>
  fetch(`${app.url}/v1/heartbeats`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ agentId }),
  });

describe('the local runner counts accepted heartbeats into the pulse', () => {
  it('one count per 1 s bucket, written when the next bucket begins; refused heartbeats do not count', async () => {
    expect((await beat('web-1')).status).toBe(200);
    expect((await beat('web-2')).status).toBe(200);
    expect((await beat('../bad')).status).toBe(400);
    expect([...(await app.store.readPulse(T, T + 1_000))]).toEqual([]);
    clock.advance(1);
    expect((await beat('web-1')).status).toBe(200);
    expect([...(await app.store.readPulse(T, T + 2_000))]).toEqual([[T, 2]]);
  });
});
