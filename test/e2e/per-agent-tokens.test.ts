import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalApp } from '../../functions/local/app.js';
import { startTestApp } from '../support/local-app.js';

// Per-agent tokens end to end: the provisioning script prints a token, and the runner (with
// AGENT_AUTH=per-agent, HEARTBEAT_TOKEN the secret) accepts it for that agent only.
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const SECRET = 'per-agent-secret';
let app: LocalApp;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ app, stop } = await startTestApp({
    token: SECRET,
    agentAuth: 'per-agent',
    policy: { minTtlSeconds: 1 },
  }));
});
afterAll(async () => {
  await stop();
});

async function provision(...agentIds: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'scripts/agent-token.ts', ...agentIds],
    { cwd: repoRoot, env: { ...process.env, AGENT_TOKEN_SECRET: SECRET } },
  );
  return stdout.trim();
}

const report = (agentId: string, token: string) =>
  fetch(`${app.url}/v1/heartbeats`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ agentId, ttlSeconds: 60 }),
  });

describe('per-agent tokens through the local runner', () => {
  it('the token `npm run agent-token` prints reports for its agent, and for no other', async () => {
    const token = await provision('rack7-web-1');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await report('rack7-web-1', token)).status).toBe(200);
    expect((await report('rack7-web-2', token)).status).toBe(401);
    expect((await report('rack7-web-1', SECRET)).status).toBe(401);
    // Several at once, one per line, for provisioning a rack.
    const lines = (await provision('a-1', 'a-2')).split('\n');
    expect(lines.map((line) => line.split('\t')[0])).toEqual(['a-1', 'a-2']);
    expect((await report('a-2', lines[1]?.split('\t')[1] ?? '')).status).toBe(200);
  });
});
