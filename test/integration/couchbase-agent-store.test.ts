import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { AmbiguousTimeoutError, type Collection, QueryScanConsistency } from 'couchbase';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  AGENT_KEY_PREFIX,
  CouchbaseAgentStore,
  agentKey,
} from '../../functions/adapters/couchbase/agent-store.js';
import {
  type CouchbaseConnector,
  type CouchbaseConnectorOptions,
  createCouchbaseConnector,
} from '../../functions/adapters/couchbase/connection.js';
import { ensureCouchbaseIndexes, keyspacePath } from '../../functions/adapters/couchbase/indexes.js';
import type { AgentRecord } from '../../functions/core/agent.js';
import { BackendUnavailableError, InvalidCursorError } from '../../functions/core/errors.js';
import { type ExpiryResult, handleExpiry } from '../../functions/core/handle-expiry.js';
import type { Heartbeat } from '../../functions/core/heartbeat.js';
import { type HeartbeatResult, recordHeartbeat } from '../../functions/core/record-heartbeat.js';
import { scheduleNameFor } from '../../functions/core/schedule-name.js';
import { type CouchbaseMockBucket, createMockBucket, flushMockBucket } from '../support/couchbase-mock.js';
import { UNLIMITED } from '../../functions/core/budget.js';
import { FakeClock, RecordingScheduler, coreDeps, makeHeartbeat } from '../support/fakes.js';
import { withKvListing } from '../support/kv-listing.js';
import { describeRaces } from '../support/races.js';
import { describeReconciler } from '../support/reconciler-suite.js';
import { makeAgentRecord } from '../support/records.js';
import {
  describeAgentStoreContract,
  describeCheckpointContract,
  describeListByStateContract,
  describeListOpenContract,
} from '../support/store-contract.js';
import { describePulseContract } from '../support/pulse-contract.js';
import { describeMaintenanceContract } from '../support/maintenance-contract.js';

// One bucket of the shared CouchbaseMock for this file (other files use buckets of their own), and
// one connection to it, as a Lambda would hold. Each store starts empty: the bucket is flushed.
let bucket: CouchbaseMockBucket;
let connector: CouchbaseConnector;

beforeAll(async () => {
  bucket = await createMockBucket(inject('couchbaseMock').httpPort, `store-${randomUUID().slice(0, 8)}`);
  connector = createCouchbaseConnector(bucket);
});

afterAll(async () => {
  await connector?.close();
});

async function emptyStore(): Promise<CouchbaseAgentStore> {
  await flushMockBucket(bucket);
  return new CouchbaseAgentStore(connector);
}

describeAgentStoreContract('CouchbaseAgentStore on CouchbaseMock', async () => ({
  store: await emptyStore(),
}));

describeCheckpointContract('CouchbaseAgentStore on CouchbaseMock', async () => ({
  store: await emptyStore(),
}));

describePulseContract('CouchbaseAgentStore on CouchbaseMock', async () => ({
  store: await emptyStore(),
  lists: false,
}));

describeMaintenanceContract('CouchbaseAgentStore on CouchbaseMock', async () => ({
  store: await emptyStore(),
  lists: false,
}));

// The mock has no SQL++: here the reconciler lists its few agents over KV (its SQL++ listing runs
// in the real-server suite below).
describeReconciler('CouchbaseAgentStore on CouchbaseMock', async () =>
  withKvListing(await emptyStore(), [
    'healthy',
    'firing-now',
    'overdue',
    'unarmed',
    'late-schedule',
    'stale-schedule',
    'expired',
    ...Array.from({ length: 30 }, (_, i) => `agent-${String(i).padStart(2, '0')}`),
  ]),
);

// The mock has no SQL++: the reconciler in the fault property lists its one agent over KV.
describeRaces(
  'CouchbaseAgentStore on CouchbaseMock',
  async () => withKvListing(await emptyStore(), ['web-1']),
  40,
);

describe('CouchbaseAgentStore document format', () => {
  it('stores exactly the record under agent::<agentId>, and the version is its CAS', async () => {
    const store = await emptyStore();
    const record = makeAgentRecord({ agentId: 'srv-ünïcødé' });

    const created = await store.create(record);
    const raw = await (await connector.collection()).get(`agent::${record.agentId}`);

    expect(raw.content).toStrictEqual(record);
    expect(created.version).toBe(raw.cas.toString());
    expect(created.version).toMatch(/^[1-9][0-9]*$/);
  });

  it('keys an agentId too long for a Couchbase key by its hash, and still round-trips it', async () => {
    const store = await emptyStore();
    // 128 CJK letters is a valid agentId, and 391 bytes with the prefix: over the 250-byte key limit.
    const agentId = '日'.repeat(128);
    const record = makeAgentRecord({ agentId });

    const created = await store.create(record);
    const replaced = await store.replace({ ...record, seq: 43 }, created.version);

    expect(agentKey(agentId)).toMatch(/^agent#sha256:[0-9a-f]{64}$/);
    expect(agentKey('srv-1')).toBe(`${AGENT_KEY_PREFIX}srv-1`);
    await expect(store.get(agentId)).resolves.toStrictEqual(replaced);
    await expect(store.get('日'.repeat(127))).resolves.toBeUndefined();
  });

  it('refuses to read a document of a schema version it does not know', async () => {
    const store = await emptyStore();
    await (
      await connector.collection()
    ).insert('agent::srv-future', {
      ...makeAgentRecord({ agentId: 'srv-future' }),
      schemaVersion: 3,
    });

    const error = await store.get('srv-future').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(BackendUnavailableError);
    expect(String(error)).toMatch(/schemaVersion 3/);
  });

  it('reads a version-1 document (before the outbox) as a record with an empty outbox', async () => {
    const store = await emptyStore();
    const { outbox: _outbox, ...v1 } = { ...makeAgentRecord({ agentId: 'srv-old' }), schemaVersion: 1 };
    await (await connector.collection()).insert('agent::srv-old', v1);

    const read = await store.get('srv-old');

    expect(read?.record).toStrictEqual(makeAgentRecord({ agentId: 'srv-old' }));
  });

  it('rejects a version it could never have issued as a caller bug, and changes nothing', async () => {
    const store = await emptyStore();
    const created = await store.create(makeAgentRecord({ seq: 1 }));

    // "0" and "" would mean "no CAS check" to Couchbase; the others would abort the native layer.
    for (const bogus of ['', '0', '01', '-1', '1.5', 'abc', '18446744073709551616', '9'.repeat(30)]) {
      await expect(store.replace(makeAgentRecord({ seq: 2 }), bogus)).rejects.toBeInstanceOf(TypeError);
    }
    await expect(store.get(created.record.agentId)).resolves.toStrictEqual(created);
  });
});

describe('CouchbaseAgentStore errors', () => {
  it('reports an unreachable cluster as BackendUnavailableError for every operation', async () => {
    const dead = createCouchbaseConnector({
      ...bucket,
      connectionString: `couchbase://127.0.0.1:${await closedPort()}`,
      timeouts: { bootstrapMs: 500, connectMs: 200, kvMs: 300, queryMs: 500 },
    });
    const store = new CouchbaseAgentStore(dead);
    const record = makeAgentRecord();

    const outcomes = await Promise.allSettled([
      store.get(record.agentId),
      store.create(record),
      store.replace(record, '1'),
      store.listByState('alive', { limit: 10, cursor: null }),
    ]);
    await dead.close();

    expect(outcomes.map((o) => o.status)).toStrictEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    for (const outcome of outcomes) {
      const error = outcome.status === 'rejected' ? (outcome.reason as unknown) : undefined;
      expect(error).toBeInstanceOf(BackendUnavailableError);
      expect(error).toMatchObject({
        backend: 'store',
        cause: expect.objectContaining({ name: 'UnambiguousTimeoutError' }),
      });
    }
  });

  it('reports a listing the server cannot run (no SQL++ on the mock) as a plain error, not as unavailable', async () => {
    const store = await emptyStore();

    const error = await store.listByState('expired', { limit: 10, cursor: null }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(BackendUnavailableError);
    expect(error).toMatchObject({ cause: expect.any(Error) });
  });

  it('rejects a listing cursor it did not issue before asking the server', async () => {
    const store = await emptyStore();
    const foreign = Buffer.from(JSON.stringify({ shard: 3 })).toString('base64url');

    for (const cursor of ['not-a-cursor', foreign]) {
      await expect(store.listByState('alive', { limit: 10, cursor })).rejects.toBeInstanceOf(
        InvalidCursorError,
      );
      await expect(store.listOpen({ limit: 10, cursor })).rejects.toBeInstanceOf(InvalidCursorError);
    }
  });

  it('refuses bucket, scope or collection names that are not Couchbase names', () => {
    for (const bad of [{ bucket: 'a`b' }, { scope: 'x y' }, { collection: '' }, { bucket: 'a;DROP' }]) {
      const options: CouchbaseConnectorOptions = { ...bucket, ...bad };
      expect(() => new CouchbaseAgentStore(createCouchbaseConnector(options))).toThrow(
        /not a valid Couchbase name/,
      );
    }
  });
});

/**
 * Ambiguous timeouts on writes, injected around the real collection: the write really is sent to
 * the mock (or not), then the call fails as if its answer had been lost.
 */
describe('CouchbaseAgentStore after an ambiguous write timeout', () => {
  type Mode = 'applied' | 'not-applied' | 'applied-then-overwritten';

  async function storeWithLostAnswer(mode: Mode) {
    const store = await emptyStore();
    const real = await connector.collection();
    const lose = (write: () => Promise<unknown>) => async () => {
      if (mode !== 'not-applied') await write();
      if (mode === 'applied-then-overwritten') {
        const current = await real.get(agentKey('srv-0001'));
        await real.replace(
          agentKey('srv-0001'),
          { ...(current.content as AgentRecord), seq: 99 },
          { cas: current.cas },
        );
      }
      throw new AmbiguousTimeoutError(new Error('injected: the answer was lost'));
    };
    const flaky = new Proxy(real, {
      get(target, property, receiver) {
        if (property === 'insert') {
          return (key: string, value: unknown) => lose(() => target.insert(key, value))();
        }
        if (property === 'replace') {
          return (key: string, value: unknown, options: { cas: string }) =>
            lose(() => target.replace(key, value, { cas: options.cas }))();
        }
        return Reflect.get(target, property, receiver) as unknown;
      },
    }) satisfies Collection;
    const flakyConnector: CouchbaseConnector = {
      ...connector,
      keyspace: connector.keyspace,
      collection: async () => flaky,
    };
    return { store, flaky: new CouchbaseAgentStore(flakyConnector) };
  }

  const beat = (seq: number) => makeHeartbeat({ agentId: 'srv-0001', bootId: 'boot-1', seq });
  const core = (store: CouchbaseAgentStore) =>
    coreDeps({ store, scheduler: new RecordingScheduler(), clock: new FakeClock() });

  it('is reported as unavailable by the adapter, whatever happened on the server', async () => {
    for (const mode of ['applied', 'not-applied'] as const) {
      const { store, flaky } = await storeWithLostAnswer(mode);
      const created = await store.create(makeAgentRecord({ seq: 1 }));
      await expect(flaky.replace(makeAgentRecord({ seq: 2 }), created.version)).rejects.toBeInstanceOf(
        BackendUnavailableError,
      );
    }
  });

  it('counts as done when it did apply: the write protocol reads back and recognises its own write', async () => {
    const { store, flaky } = await storeWithLostAnswer('applied');
    await recordHeartbeat(core(store), beat(1), UNLIMITED);
    const result = await recordHeartbeat(core(flaky), beat(2), UNLIMITED);
    expect((await store.get('srv-0001'))?.record).toStrictEqual(result.record);
    expect(result.record.seq).toBe(2);
  });

  it('fails (a 503 for the agent to retry) when it did not apply, or another writer came after it', async () => {
    for (const mode of ['not-applied', 'applied-then-overwritten'] as const) {
      const { store, flaky } = await storeWithLostAnswer(mode);
      await recordHeartbeat(core(store), beat(1), UNLIMITED);
      await expect(recordHeartbeat(core(flaky), beat(2), UNLIMITED)).rejects.toBeInstanceOf(
        BackendUnavailableError,
      );
      expect((await store.get('srv-0001'))?.record.seq).toBe(mode === 'not-applied' ? 1 : 99);
    }
  });

  it('settles an ambiguous insert the same way', async () => {
    const applied = await storeWithLostAnswer('applied');
    const created = await recordHeartbeat(core(applied.flaky), beat(1), UNLIMITED);
    // As committed, less its registration event, delivered (and removed) after the commit.
    expect(created.record.outbox.map((event) => event.type)).toEqual(['agent.registered']);
    expect((await applied.store.get('srv-0001'))?.record).toStrictEqual({ ...created.record, outbox: [] });

    const lost = await storeWithLostAnswer('not-applied');
    await expect(recordHeartbeat(core(lost.flaky), beat(1), UNLIMITED)).rejects.toBeInstanceOf(
      BackendUnavailableError,
    );
    await expect(lost.store.get('srv-0001')).resolves.toBeUndefined();
  });
});

/**
 * Many concurrent heartbeats, client retries and expiry deliveries for a few agents, through the
 * core use cases on this store, with the clock jumping forward between rounds (sometimes past
 * the TTL). Every call is carried through to an answer, retrying on 503 as agents and the
 * scheduler do. Afterwards and after every round: I2, I4, I5, and no accepted update lost.
 */
describe('CouchbaseAgentStore under a concurrent mix of heartbeats, retries and expiries', () => {
  const AGENTS = ['agent-a', 'agent-b', 'agent-c'];
  const TTL = 60;
  const INTERVAL = 20;

  type Op =
    | { kind: 'beat'; agent: number }
    | { kind: 'retry'; agent: number; pick: number }
    | { kind: 'expire'; agent: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({ kind: fc.constant('beat' as const), agent: fc.nat(AGENTS.length - 1) }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('retry' as const),
        agent: fc.nat(AGENTS.length - 1),
        pick: fc.nat(),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({ kind: fc.constant('expire' as const), agent: fc.nat(AGENTS.length - 1) }),
    },
  );
  const rounds = fc.array(
    fc.record({ advanceMs: fc.nat(45_000), ops: fc.array(op, { minLength: 1, maxLength: 10 }) }),
    { minLength: 1, maxLength: 10 },
  );

  /** Calls until it answers; a 503 (lost too many races, or a store hiccup) is retried as a client would. */
  async function untilAnswered<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (!(error instanceof BackendUnavailableError) || attempt >= 20) throw error;
      }
    }
  }

  it('keeps I2, I4 and I5 and loses no accepted heartbeat', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(rounds, async (plan) => {
        const clock = new FakeClock();
        const scheduler = new RecordingScheduler();
        const core = coreDeps({ store: await emptyStore(), scheduler, clock });
        const sent = new Map<string, Heartbeat[]>(AGENTS.map((id) => [id, []]));
        const lastSeen = new Map<string, number>();
        const expiries: Array<Extract<ExpiryResult, { kind: 'expired' }>> = [];

        for (const round of plan) {
          clock.ms += round.advanceMs;
          const now = clock.now();
          const accepted = new Set<string>();
          await Promise.all(
            round.ops.map(async (o) => {
              const agentId = AGENTS[o.agent] ?? 'agent-a';
              const history = sent.get(agentId) ?? [];
              if (o.kind === 'expire') {
                const { result } = await untilAnswered(() =>
                  handleExpiry(core, agentId, randomUUID(), UNLIMITED),
                );
                if (result.kind === 'expired') expiries.push(result);
                return;
              }
              let heartbeat: Heartbeat | undefined;
              if (o.kind === 'retry') heartbeat = history[o.pick % Math.max(1, history.length)];
              if (heartbeat === undefined) {
                heartbeat = makeHeartbeat({
                  agentId,
                  seq: history.length,
                  ttlSeconds: TTL,
                  intervalSeconds: INTERVAL,
                  checks: [{ name: 'seq', status: 'pass', output: `seq ${history.length}` }],
                });
                history.push(heartbeat);
              }
              const beat = heartbeat;
              const result: HeartbeatResult = await untilAnswered(() =>
                recordHeartbeat(core, beat, UNLIMITED),
              );
              if (result.outcome !== 'stale') accepted.add(agentId);
            }),
          );

          for (const agentId of AGENTS) {
            const record = (await core.store.get(agentId))?.record;
            const history = sent.get(agentId) ?? [];
            if (record === undefined) {
              expect(history).toHaveLength(0);
              continue;
            }
            // No accepted heartbeat lost, even one racing an expiry in the same round (I2).
            if (accepted.has(agentId)) {
              expect(record.state).toBe('alive');
              expect(record.lastSeen).toBe(now);
            }
            // I4: lastSeen never moves back, and the newest report's fields are the ones stored.
            expect(record.lastSeen).toBeGreaterThanOrEqual(lastSeen.get(agentId) ?? 0);
            lastSeen.set(agentId, record.lastSeen);
            expect(record.seq).toBe(history.length - 1);
            expect(record.checks).toStrictEqual([
              { name: 'seq', status: 'pass', output: `seq ${history.length - 1}` },
            ]);
            expect(record.deadline).toBe(record.lastSeen + TTL * 1000);
            // I2: expired only once lastSeen + ttl has passed, and dated by that deadline.
            if (record.state === 'expired') {
              expect(record.expiredAt).toBe(record.deadline);
              expect(now).toBeGreaterThanOrEqual(record.deadline);
            } else {
              // An alive agent has its one schedule, exactly the one its record names, due no
              // later than its deadline (I1, I3, I6).
              const fireAt = scheduler.schedules.get(scheduleNameFor(agentId))?.fireAt;
              expect(fireAt).toBe(record.armedFor);
              expect(fireAt).toBeLessThanOrEqual(record.deadline);
            }
          }
        }

        // I5: each deadline is declared expired once, however many deliveries raced for it.
        const declared = expiries.map((e) => `${e.record.agentId}@${e.record.expiredAt}`);
        expect(new Set(declared).size).toBe(declared.length);
        for (const e of expiries)
          expect(e.record.detectedAt).toBeGreaterThanOrEqual(e.record.expiredAt ?? Infinity);
      }),
      { seed: 20_261_126, numRuns: 25 },
    );
  });
});

// Listing (by state, and the open agents the reconciler walks) needs SQL++ and GSI indexes, which
// CouchbaseMock lacks: these suites run only against a real server named by COUCHBASE_TEST_CONNSTR
// (with _USERNAME, _PASSWORD, _BUCKET; optionally _SCOPE and _COLLECTION). WARNING: they delete
// every agent document in that collection.
const real = realServerFromEnv(process.env);
const REAL_SERVER_SUITES = [
  'AgentStore contract: CouchbaseAgentStore on a real Couchbase server',
  'AgentStore listing by state: CouchbaseAgentStore on a real Couchbase server',
  'AgentStore listing of open agents: CouchbaseAgentStore on a real Couchbase server',
  'reconciler (CouchbaseAgentStore on a real Couchbase server)',
];
if (real === undefined) {
  for (const suite of REAL_SERVER_SUITES) {
    process.stderr.write(
      `NOT RUN: "${suite}" — COUCHBASE_TEST_CONNSTR (with COUCHBASE_TEST_USERNAME, _PASSWORD, _BUCKET) ` +
        'does not name a real Couchbase server, and CouchbaseMock cannot run SQL++.\n',
    );
  }
}

describe.runIf(real !== undefined)('CouchbaseAgentStore on a real Couchbase server', () => {
  let realConnector: CouchbaseConnector;

  beforeAll(async () => {
    realConnector = createCouchbaseConnector({
      ...(real as CouchbaseConnectorOptions),
      timeouts: { queryMs: 30_000 },
    });
    await ensureCouchbaseIndexes(await realConnector.cluster(), realConnector.keyspace);
  });

  afterAll(async () => {
    await realConnector?.close();
  });

  async function emptyRealStore() {
    const cluster = await realConnector.cluster();
    await cluster.query(
      // `state IS NOT MISSING` lets the agents_by_state index drive the delete (no primary index needed).
      `DELETE FROM ${keyspacePath(realConnector.keyspace)} AS d WHERE d.\`state\` IS NOT MISSING ` +
        `AND (META(d).id LIKE 'agent::%' OR META(d).id LIKE 'agent#%')`,
      { scanConsistency: QueryScanConsistency.RequestPlus },
    );
    return { store: new CouchbaseAgentStore(realConnector) };
  }

  describeAgentStoreContract('CouchbaseAgentStore on a real Couchbase server', emptyRealStore);
  describeListByStateContract('CouchbaseAgentStore on a real Couchbase server', emptyRealStore);
  describeListOpenContract('CouchbaseAgentStore on a real Couchbase server', emptyRealStore);
  describeReconciler(
    'CouchbaseAgentStore on a real Couchbase server',
    async () => (await emptyRealStore()).store,
  );
});

function realServerFromEnv(env: NodeJS.ProcessEnv): CouchbaseConnectorOptions | undefined {
  const { COUCHBASE_TEST_CONNSTR, COUCHBASE_TEST_USERNAME, COUCHBASE_TEST_PASSWORD, COUCHBASE_TEST_BUCKET } =
    env;
  if (
    !COUCHBASE_TEST_CONNSTR ||
    !COUCHBASE_TEST_USERNAME ||
    !COUCHBASE_TEST_PASSWORD ||
    !COUCHBASE_TEST_BUCKET
  ) {
    return undefined;
  }
  return {
    connectionString: COUCHBASE_TEST_CONNSTR,
    username: COUCHBASE_TEST_USERNAME,
    password: COUCHBASE_TEST_PASSWORD,
    bucket: COUCHBASE_TEST_BUCKET,
    ...(env.COUCHBASE_TEST_SCOPE ? { scope: env.COUCHBASE_TEST_SCOPE } : {}),
    ...(env.COUCHBASE_TEST_COLLECTION ? { collection: env.COUCHBASE_TEST_COLLECTION } : {}),
  };
}

/** A loopback port nothing listens on: bound once to get a free number, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
