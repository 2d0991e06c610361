import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createMockBucket } from '../support/couchbase-mock.js';
import { type RunnerProcess, client, sleep, startRunner, waitFor } from '../support/runner-process.js';
import { LOCAL_TIMING } from '../../functions/core/timing.js';

// `npm start` with the Couchbase variables set, against CouchbaseMock (a bucket of its own).
const TOKEN = 'e2e-couchbase-token';
let runner: RunnerProcess;

beforeAll(async () => {
  const bucket = await createMockBucket(inject('couchbaseMock').httpPort, 'e2e-local-runner');
  runner = await startRunner({
    HEARTBEAT_TOKEN: TOKEN,
    MIN_TTL_SECONDS: '1',
    COUCHBASE_CONNSTR: bucket.connectionString,
    COUCHBASE_USERNAME: bucket.username,
    COUCHBASE_PASSWORD: bucket.password,
    COUCHBASE_BUCKET: bucket.bucket,
  });
});

afterAll(async () => {
  await runner?.stop();
});

describe('local runner on Couchbase (CouchbaseMock), end to end', () => {
  it('stores in Couchbase and expires a silent agent within TTL + grace + 1 s with exactly one log line', async () => {
    const listening = runner.lines.find((line) => line.message === 'heartbeat service listening');
    expect(String(listening?.store)).toMatch(/^couchbase /);
    const api = client(runner.url, TOKEN);

    const sent = await api.heartbeat({ agentId: 'cb-1', ttlSeconds: 2 });
    expect(sent.status).toBe(200);
    const lastSeen = Date.parse(String(sent.body.lastSeen));
    const expired = await waitFor(
      async () => {
        const { body } = await api.agent('cb-1');
        return body.state === 'expired' ? body : undefined;
      },
      4_000 + LOCAL_TIMING.graceMs,
      'cb-1 to expire',
    );
    expect(Date.parse(String(expired.expiredAt))).toBe(lastSeen + 2_000);
    expect(Date.now() - lastSeen).toBeLessThanOrEqual(3_000 + LOCAL_TIMING.graceMs + 250);

    await sleep(1_000);
    const lines = runner.lines.filter((line) => line.message === 'agent expired');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ agentId: 'cb-1', expiredAt: expired.expiredAt });
  });
});
