import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalApp } from '../../functions/local/app.js';
import { startTestApp } from '../support/local-app.js';

// Inputs found from outside (issue 8), through the local runner's real HTTP server: each is the
// client's 4xx problem+json, never a 500 and never stored.
const TOKEN = 'hostile-token';
let app: LocalApp;
let stop: () => Promise<void> = async () => undefined;

beforeAll(async () => {
  ({ app, stop } = await startTestApp({ token: TOKEN }));
});

afterAll(() => stop());

const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const get = (path: string) => fetch(`${app.url}${path}`, { headers });
const post = (body: unknown) =>
  fetch(`${app.url}/v1/heartbeats`, { method: 'POST', headers, body: JSON.stringify(body) });

async function problem(response: Response, status: number) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  return (await response.json()) as { errors?: Array<{ pointer: string }> };
}

describe('hostile input through the local runner', () => {
  it('a forged list cursor (a 2 KB position) is a 400 on /cursor, not the store refusing it as a 500', async () => {
    for (const position of [
      { shard: 0, after: 'x'.repeat(2048) },
      { shard: 0, after: 'a/b' },
    ]) {
      const cursor = Buffer.from(JSON.stringify(position)).toString('base64url');
      const body = await problem(await get(`/v1/agents?state=alive&cursor=${cursor}`), 400);
      expect(body.errors?.map((e) => e.pointer)).toEqual(['/cursor']);
    }
  });

  it("'.' and '..' are refused as agent ids: they could never be read back through the path", async () => {
    for (const agentId of ['.', '..']) {
      const body = await problem(await post({ agentId }), 400);
      expect(body.errors?.map((e) => e.pointer)).toEqual(['/agentId']);
    }
    expect((await post({ agentId: '...' })).status).toBe(200);
    expect((await get('/v1/agents/...')).status).toBe(200);
  });

  it('a limit is decimal digits only: 0x10, 1e1 or 16.0 are a 400; 16 is a page', async () => {
    for (const limit of ['0x10', '1e1', '16.0', ' 16', '-1', '0', '101']) {
      const body = await problem(await get(`/v1/agents?state=alive&limit=${encodeURIComponent(limit)}`), 400);
      expect(body.errors?.map((e) => e.pointer)).toEqual(['/limit']);
    }
    expect((await get('/v1/agents?state=alive&limit=16')).status).toBe(200);
  });
});
