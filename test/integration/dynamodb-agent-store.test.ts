import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type DynamoDBClient,
  DescribeTableCommand,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { DynamoDbAgentStore, createDocumentClient } from '../../functions/adapters/dynamodb/agent-store.js';
import {
  agentTableDefinition,
  ensureAgentTable,
  ensureChecksTable,
} from '../../functions/adapters/dynamodb/table.js';
import { systemClock } from '../../functions/adapters/system-clock.js';
import type { Clock } from '../../functions/core/ports.js';
import { BackendUnavailableError, VersionConflictError } from '../../functions/core/errors.js';
import { type LocalDynamo, createLocalDynamoClient, startDynalite } from '../../functions/local/dynalite.js';
import { makeReconcileHandler } from '../../functions/handlers/reconcile.js';
import {
  FakeClock,
  RecordingLog,
  RecordingMetrics,
  RecordingScheduler,
  ampleContext,
  coreDeps,
} from '../support/fakes.js';
import { makeAgentRecord } from '../support/records.js';
import { describeRaces } from '../support/races.js';
import { describeOutages } from '../support/outage-scenarios.js';
import { describeReconciler } from '../support/reconciler-suite.js';
import {
  describeAgentStoreContract,
  describeCheckpointContract,
  describeListByStateContract,
  describeListOpenContract,
} from '../support/store-contract.js';
import { describePulseContract } from '../support/pulse-contract.js';
import { describeMaintenanceContract } from '../support/maintenance-contract.js';

// One in-memory dynalite for this file; every test gets its own table so it starts empty.
let dynalite: LocalDynamo;
let client: DynamoDBClient;
let tables = 0;

beforeAll(async () => {
  dynalite = await startDynalite();
  client = createLocalDynamoClient(dynalite.endpoint);
});

afterAll(async () => {
  client?.destroy();
  await dynalite?.close();
});

/** A store as deployed: its agent table and a table for checks kept apart, both new. */
async function freshStore(
  clock: Clock = systemClock,
): Promise<{ store: DynamoDbAgentStore; tableName: string }> {
  const tableName = `agents-dynamodb-store-${++tables}`;
  await ensureAgentTable(client, tableName);
  await ensureChecksTable(client, `${tableName}-checks`);
  const store = new DynamoDbAgentStore(createDocumentClient(client), {
    tableName,
    checks: { tableName: `${tableName}-checks`, clock },
  });
  return { store, tableName };
}

describeAgentStoreContract('DynamoDbAgentStore on dynalite', async () => ({
  store: (await freshStore()).store,
}));

describeListByStateContract('DynamoDbAgentStore on dynalite', async () => ({
  store: (await freshStore()).store,
}));

describeListOpenContract('DynamoDbAgentStore on dynalite', async () => ({
  store: (await freshStore()).store,
}));

describeCheckpointContract('DynamoDbAgentStore on dynalite', async () => ({
  store: (await freshStore()).store,
}));

describePulseContract('DynamoDbAgentStore on dynalite', async () => ({
  store: (await freshStore()).store,
  lists: true,
}));

describeMaintenanceContract('DynamoDbAgentStore on dynalite', async () => ({
  store: (await freshStore()).store,
  lists: true,
}));

describeRaces('DynamoDbAgentStore on dynalite', async () => (await freshStore()).store, 40);

describeOutages('DynamoDbAgentStore on dynalite', async () => (await freshStore()).store, 40);

describeReconciler('DynamoDbAgentStore on dynalite', async () => (await freshStore()).store);

describe('the reconciler on dynalite with a record it cannot read', () => {
  it('skips and counts it, repairs every other agent, and the run fails so the alarm sees it', async () => {
    const { store, tableName } = await freshStore();
    const now = Date.UTC(2030, 0, 1);
    for (let i = 0; i < 30; i++) {
      await store.create(
        makeAgentRecord({ agentId: `srv-${String(i).padStart(2, '0')}`, lastSeen: now - 600_000 }),
      );
    }
    // A document from a newer version (after a rollback), in the middle of the table.
    await createDocumentClient(client).send(
      new PutCommand({
        TableName: tableName,
        Item: {
          ...makeAgentRecord({ agentId: 'srv-15x', lastSeen: now - 600_000 }),
          schemaVersion: 3,
          version: 1,
        },
      }),
    );
    const log = new RecordingLog();
    const metrics = new RecordingMetrics();
    const handler = makeReconcileHandler({
      core: {
        ...coreDeps({ store, scheduler: new RecordingScheduler(), clock: new FakeClock(now), log, metrics }),
        checkpoints: store,
      },
      settings: { precisionMs: 60_000, reportGraceMs: 300_000, fallbackMs: 60_000 },
    });

    await expect(handler(undefined, ampleContext('run-1'))).rejects.toThrow(/1 records could not be read/);

    for (let i = 0; i < 30; i++) {
      expect((await store.get(`srv-${String(i).padStart(2, '0')}`))?.record.state).toBe('expired');
    }
    expect(log.withMessage('reconciler run')[0]?.attributes).toMatchObject({
      unreadable: 1,
      expired: 30,
      passComplete: true,
    });
    expect(metrics.counts.get('ReconcileErrors')).toBe(1);
  });
});

describe('DynamoDbAgentStore stored format', () => {
  it('reads a version-1 item (before the outbox) as a record with an empty outbox, and refuses unknown versions', async () => {
    const { store, tableName } = await freshStore();
    const documents = createDocumentClient(client);
    const { outbox: _outbox, ...v1 } = { ...makeAgentRecord({ agentId: 'srv-old' }), schemaVersion: 1 };
    await documents.send(new PutCommand({ TableName: tableName, Item: { ...v1, version: 3 } }));
    await documents.send(
      new PutCommand({
        TableName: tableName,
        Item: { ...makeAgentRecord({ agentId: 'srv-new' }), schemaVersion: 3, version: 1 },
      }),
    );

    await expect(store.get('srv-old')).resolves.toStrictEqual({
      record: makeAgentRecord({ agentId: 'srv-old' }),
      version: '3',
    });
    await expect(store.get('srv-new')).rejects.toThrow(/schemaVersion 3/);
  });
});

describe('DynamoDbAgentStore errors', () => {
  it('reports an unreachable endpoint as BackendUnavailableError for every operation', async () => {
    const deadClient = createLocalDynamoClient(`http://127.0.0.1:${await closedPort()}`, {
      maxAttempts: 1,
      requestTimeoutMs: 1_000,
    });
    onTestFinished(() => deadClient.destroy());
    const store = new DynamoDbAgentStore(createDocumentClient(deadClient), {
      tableName: 'agents-unreachable',
    });
    const record = makeAgentRecord();

    const outcomes = await Promise.allSettled([
      store.get(record.agentId),
      store.create(record),
      store.replace(record, '1'),
      store.listByState('alive', { limit: 10, cursor: null }),
    ]);

    expect(outcomes.map((o) => o.status)).toStrictEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    for (const outcome of outcomes) {
      const error = outcome.status === 'rejected' ? (outcome.reason as unknown) : undefined;
      expect(error).toBeInstanceOf(BackendUnavailableError);
      expect(error).toMatchObject({
        backend: 'store',
        cause: expect.objectContaining({ code: 'ECONNREFUSED' }),
      });
    }
  });

  it('reports throttling as BackendUnavailableError, keeping the cause', async () => {
    const documentClient = createDocumentClient(client);
    const throttled = new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
    mockClient(documentClient).on(GetCommand).rejects(throttled);
    const store = new DynamoDbAgentStore(documentClient, { tableName: 'agents-throttled' });

    const error = await store.get('srv-0001').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect(error).toMatchObject({ backend: 'store', cause: throttled });
  });

  it('reports an item over the 400 KB limit as a plain error, not as an unavailable backend', async () => {
    const { store } = await freshStore();
    const huge = makeAgentRecord({
      checks: [{ name: 'log-tail', status: 'fail', output: 'x'.repeat(410 * 1024) }],
    });

    const error = await store.create(huge).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(BackendUnavailableError);
    expect(error).not.toBeInstanceOf(VersionConflictError);
    expect(error).toMatchObject({ cause: expect.objectContaining({ name: 'ValidationException' }) });
    await expect(store.get(huge.agentId)).resolves.toBeUndefined();
  });

  it('reports a missing table as a plain error: a misconfiguration no retry fixes', async () => {
    const store = new DynamoDbAgentStore(createDocumentClient(client), { tableName: 'agents-never-created' });

    const error = await store.get('srv-0001').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(BackendUnavailableError);
    expect(error).toMatchObject({ cause: expect.objectContaining({ name: 'ResourceNotFoundException' }) });
  });

  it('rejects a version it could never have issued as a caller bug, not a conflict', async () => {
    const { store } = await freshStore();
    const created = await store.create(makeAgentRecord({ seq: 1 }));

    for (const bogus of ['', '0', '01', '1.5', 'abc', '99999999999999999999']) {
      await expect(store.replace(makeAgentRecord({ seq: 2 }), bogus)).rejects.toBeInstanceOf(TypeError);
    }
    await expect(store.get(created.record.agentId)).resolves.toStrictEqual(created);
  });

  it('refuses to read an item whose version attribute is missing', async () => {
    const { store, tableName } = await freshStore();
    await createDocumentClient(client).send(
      new PutCommand({ TableName: tableName, Item: makeAgentRecord() }),
    );

    await expect(store.get('srv-0001')).rejects.toThrow(/no valid version/);
  });

  it('stores the version as a number and does not return it inside the record', async () => {
    const { store, tableName } = await freshStore();
    const created = await store.create(makeAgentRecord());
    const replaced = await store.replace(makeAgentRecord({ seq: 43 }), created.version);

    const raw = await createDocumentClient(client).send(
      new GetCommand({ TableName: tableName, Key: { agentId: 'srv-0001' }, ConsistentRead: true }),
    );

    expect([created.version, replaced.version]).toStrictEqual(['1', '2']);
    expect(raw.Item?.['version']).toBe(2);
    expect(replaced.record).not.toHaveProperty('version');
    expect((await store.get('srv-0001'))?.record).not.toHaveProperty('version');
  });
});

describe('ensureAgentTable', () => {
  it('is idempotent: a second call leaves the table and its items alone', async () => {
    const { store, tableName } = await freshStore();
    const created = await store.create(makeAgentRecord());

    await ensureAgentTable(client, tableName);

    await expect(store.get(created.record.agentId)).resolves.toStrictEqual(created);
  });

  it('creates the table from agentTableDefinition when it is missing', async () => {
    const tableName = `agents-ensure-${++tables}`;

    await ensureAgentTable(client, tableName);

    // DescribeTable, not ListTables: the latter pages at 100 and this file creates many tables.
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.KeySchema).toStrictEqual(agentTableDefinition(tableName).KeySchema);
    expect(Table?.GlobalSecondaryIndexes?.map((index) => [index.IndexName, index.KeySchema])).toStrictEqual([
      [
        'byState',
        [
          { AttributeName: 'stateShard', KeyType: 'HASH' },
          { AttributeName: 'agentId', KeyType: 'RANGE' },
        ],
      ],
    ]);
  });
});

describe('startDynalite with a data directory', () => {
  it('keeps every agent across close and reopen of the same directory', async () => {
    const dir = await tempDir();
    const tableName = 'agents';
    const record = makeAgentRecord({ agentId: 'srv-ünïcødé-日本-🚀' });
    const created = await withStore(dir, tableName, (store) => store.create(record));

    const reread = await withStore(dir, tableName, async (store) => ({
      read: await store.get(record.agentId),
      next: await store.replace({ ...record, seq: 43 }, created.version),
    }));

    expect(reread.read).toStrictEqual(created);
    expect(reread.next.version).not.toBe(created.version);
  });

  it('closes the LevelDB iterator of every Query and Scan (dynalite 4.0.0 leaks them otherwise)', async () => {
    // dynalite's streams close an iterator only through iterator.return(), which abstract-level
    // lacks; startDynalite adds it (npm run bench shows the heap under 10,000 list pages).
    const fromDynalite = createRequire(createRequire(import.meta.url).resolve('dynalite'));
    const backends = [
      createRequire(fromDynalite.resolve('level')).resolve('classic-level'),
      fromDynalite.resolve('memory-level'),
    ];
    for (const backend of backends) {
      const { AbstractValueIterator, AbstractKeyIterator } = createRequire(backend)(
        'abstract-level',
      ) as Record<string, { prototype: { return?: unknown } }>;
      expect(typeof AbstractValueIterator?.prototype.return).toBe('function');
      expect(typeof AbstractKeyIterator?.prototype.return).toBe('function');
    }
  });

  it('refuses to open a directory another dynalite holds, instead of crashing later', async () => {
    const dir = await tempDir();
    const holder = await startDynalite({ path: dir });
    onTestFinished(() => holder.close());

    await expect(startDynalite({ path: dir })).rejects.toThrow(/another local runner/);
  });
});

/** Starts dynalite on `dir`, runs `use` against a store there, then shuts everything down. */
async function withStore<T>(dir: string, tableName: string, use: (store: DynamoDbAgentStore) => Promise<T>) {
  const local = await startDynalite({ path: dir });
  const localClient = createLocalDynamoClient(local.endpoint);
  try {
    await ensureAgentTable(localClient, tableName);
    return await use(new DynamoDbAgentStore(createDocumentClient(localClient), { tableName }));
  } finally {
    localClient.destroy();
    await local.close();
  }
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dynalite-test-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A loopback port nothing listens on: bound once to get a free number, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('checks kept apart (issue 11): a heartbeat whose checks did not change writes one small item', () => {
  // Write units as dynalite bills them (ReturnConsumedCapacity on every write this client sends).
  function meteredClient() {
    const units: { table: string; units: number }[] = [];
    // A client of its own: a document client shares its base client's middleware.
    const own = createLocalDynamoClient(dynalite.endpoint);
    onTestFinished(() => own.destroy());
    const documents = createDocumentClient(own);
    documents.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { ReturnConsumedCapacity?: string; TableName?: string };
        input.ReturnConsumedCapacity = 'TOTAL';
        const result = await next(args);
        const consumed = (result.output as { ConsumedCapacity?: { CapacityUnits?: number } })
          .ConsumedCapacity;
        if (consumed?.CapacityUnits !== undefined && input.TableName !== undefined) {
          units.push({ table: input.TableName, units: consumed.CapacityUnits });
        }
        return result;
      },
      { step: 'initialize', name: 'meterCapacity' },
    );
    return { documents, units };
  }
  const bigChecks = Array.from({ length: 5 }, (_, i) => ({
    name: `check-${i}`,
    status: 'pass' as const,
    output: 'x'.repeat(200),
  }));

  async function setup(clock = new FakeClock()) {
    const tableName = `agents-dynamodb-store-${++tables}`;
    await ensureAgentTable(client, tableName);
    await ensureChecksTable(client, `${tableName}-checks`);
    const { documents, units } = meteredClient();
    const store = new DynamoDbAgentStore(documents, {
      tableName,
      checks: { tableName: `${tableName}-checks`, clock },
    });
    const raw = async (agentId: string) =>
      (await createDocumentClient(client).send(new GetCommand({ TableName: tableName, Key: { agentId } })))
        .Item;
    return { store, units, raw, clock, tableName };
  }

  /** Creates the agent, then writes it `repeats` times more with the same checks. */
  async function steady(s: Awaited<ReturnType<typeof setup>>, repeats: number, checks = bigChecks) {
    let stored = await s.store.create(makeAgentRecord({ checks, seq: 1 }));
    for (let i = 0; i < repeats; i++) {
      stored = await s.store.replace(makeAgentRecord({ checks, seq: 2 + i }), stored.version);
    }
    return stored;
  }

  it('keeps the checks apart once they repeat twice, then writes only the small item (1 unit instead of 2); reads give the whole record', async () => {
    const s = await setup();
    await s.store.create(makeAgentRecord({ checks: bigChecks, seq: 1 }));
    expect((await s.raw('srv-0001'))?.['checks']).toHaveLength(5); // a new agent: inline
    s.units.length = 0;
    // Repeated once: still inline (turning an inline item small costs its whole size once more).
    let stored = await s.store.replace(makeAgentRecord({ checks: bigChecks, seq: 2 }), '1');
    expect(s.units).toEqual([{ table: s.tableName, units: 2 }]);
    s.units.length = 0;
    // Repeated twice: the checks item, then the agent item naming it.
    stored = await s.store.replace(makeAgentRecord({ checks: bigChecks, seq: 3 }), stored.version);
    expect(s.units.map((u) => u.table)).toEqual([`${s.tableName}-checks`, s.tableName]);
    const item = await s.raw('srv-0001');
    expect(item?.['checks']).toBeUndefined();
    expect(item?.['checksRef']).toMatch(/^[A-Za-z0-9_-]{32}$/);
    s.units.length = 0;

    stored = await s.store.replace(makeAgentRecord({ checks: bigChecks, seq: 4 }), stored.version);
    expect(s.units).toEqual([{ table: s.tableName, units: 1 }]);
    expect(stored.version).toBe('4');

    // Every read gives the record whole: get, and both listings.
    const expected = makeAgentRecord({ checks: bigChecks, seq: 4 });
    expect((await s.store.get('srv-0001'))?.record).toStrictEqual(expected);
    expect((await s.store.listOpen({ limit: 10, cursor: null })).items).toStrictEqual([expected]);
    expect((await s.store.listByState('alive', { limit: 10, cursor: null })).items).toStrictEqual([expected]);
  });

  it('a change of steady checks gets a checks item of its own; checks that change write after write, and an agent not alive, go inline', async () => {
    const s = await setup();
    let stored = await steady(s, 3);
    expect((await s.raw('srv-0001'))?.['checksRef']).toBeDefined();
    s.units.length = 0;

    const changed = (n: number) =>
      bigChecks.map((check, i) => (i === 0 ? { ...check, output: `${'z'.repeat(190)}${n}` } : check));
    stored = await s.store.replace(makeAgentRecord({ checks: changed(1), seq: 10 }), stored.version);
    expect(s.units.map((u) => [u.table, u.units])).toEqual([
      [`${s.tableName}-checks`, 2],
      [s.tableName, 1],
    ]);
    expect((await s.store.get('srv-0001'))?.record.checks).toStrictEqual(changed(1));
    s.units.length = 0;

    // Changed again at once: outputs that change at every heartbeat are cheapest inline.
    stored = await s.store.replace(makeAgentRecord({ checks: changed(2), seq: 11 }), stored.version);
    expect(s.units).toEqual([{ table: s.tableName, units: 2 }]);
    expect((await s.raw('srv-0001'))?.['checks']).toHaveLength(5);
    stored = await s.store.replace(makeAgentRecord({ checks: changed(3), seq: 12 }), stored.version);
    expect((await s.raw('srv-0001'))?.['checksRef']).toBeUndefined();

    stored = await s.store.replace(makeAgentRecord({ checks: changed(3), seq: 13 }), stored.version);
    stored = await s.store.replace(makeAgentRecord({ checks: changed(3), seq: 14 }), stored.version);
    expect((await s.raw('srv-0001'))?.['checksRef']).toBeDefined();
    await s.store.replace(makeAgentRecord({ checks: changed(3), seq: 15, state: 'expired' }), stored.version);
    const expired = await s.raw('srv-0001');
    expect(expired?.['checks']).toHaveLength(5);
    expect(expired?.['checksRef']).toBeUndefined();
  });

  it('writes the checks item again before its expiry draws near, and keeps small checks inline', async () => {
    const s = await setup();
    let stored = await steady(s, 2);
    const expiresAt = (await s.raw('srv-0001'))?.['checksExpiresAt'];
    expect(expiresAt).toBeDefined();
    s.clock.advance(13 * 86_400); // 17 days left: still far enough
    stored = await s.store.replace(makeAgentRecord({ checks: bigChecks, seq: 10 }), stored.version);
    expect((await s.raw('srv-0001'))?.['checksExpiresAt']).toBe(expiresAt);
    s.clock.advance(2 * 86_400); // 15 days left: written again
    s.units.length = 0;
    await s.store.replace(makeAgentRecord({ checks: bigChecks, seq: 11 }), stored.version);
    expect(s.units.map((u) => u.table)).toEqual([`${s.tableName}-checks`, s.tableName]);
    expect(Number((await s.raw('srv-0001'))?.['checksExpiresAt'])).toBeGreaterThan(Number(expiresAt));

    // The default record's two short checks: apart they would save nothing.
    let small = await s.store.create(makeAgentRecord({ agentId: 'srv-small' }));
    for (const seq of [2, 3, 4])
      small = await s.store.replace(makeAgentRecord({ agentId: 'srv-small', seq }), small.version);
    expect((await s.raw('srv-small'))?.['checksRef']).toBeUndefined();
  });

  it('checks that are gone (one table restored without the other) read as none, and the next write stores them again', async () => {
    const s = await setup();
    const apart = await steady(s, 2);
    const ref = String((await s.raw('srv-0001'))?.['checksRef']);
    await createDocumentClient(client).send(
      new DeleteCommand({ TableName: `${s.tableName}-checks`, Key: { id: `srv-0001#${ref}` } }),
    );
    const read = await s.store.get('srv-0001');
    expect(read).toMatchObject({ version: apart.version, record: { seq: 3, checks: [] } });
    expect((await s.store.listOpen({ limit: 10, cursor: null })).items[0]?.checks).toEqual([]);
    await s.store.replace(makeAgentRecord({ checks: bigChecks, seq: 4 }), read?.version ?? '');
    expect((await s.store.get('srv-0001'))?.record.checks).toStrictEqual(bigChecks);
  });

  it('a checks item that cannot be written costs the write a unit more, never the write itself', async () => {
    const s = await setup();
    const broken = new DynamoDbAgentStore(createDocumentClient(client), {
      tableName: s.tableName,
      checks: { tableName: `${s.tableName}-no-such-table`, clock: s.clock },
    });
    let stored = await broken.create(makeAgentRecord({ checks: bigChecks }));
    for (const seq of [2, 3, 4])
      stored = await broken.replace(makeAgentRecord({ checks: bigChecks, seq }), stored.version);
    expect(stored.version).toBe('4');
    const item = await s.raw('srv-0001');
    expect(item?.['checks']).toHaveLength(5);
    expect(item?.['checksRef']).toBeUndefined();
  });

  it('a version this store did not read or write keeps them inline (another instance wrote it)', async () => {
    const s = await setup();
    await s.store.create(makeAgentRecord({ checks: bigChecks }));
    const other = new DynamoDbAgentStore(createDocumentClient(client), {
      tableName: s.tableName,
      checks: { tableName: `${s.tableName}-checks`, clock: s.clock },
    });
    const read = await other.get('srv-0001');
    const written = await other.replace(makeAgentRecord({ checks: bigChecks, seq: 43 }), read?.version ?? '');
    await other.replace(makeAgentRecord({ checks: bigChecks, seq: 44 }), written.version);
    expect((await s.raw('srv-0001'))?.['checksRef']).toBeDefined();
    // The first store last knew version 1: it writes inline, and the result reads back the same.
    await expect(
      s.store.replace(makeAgentRecord({ checks: bigChecks, seq: 45 }), '1'),
    ).rejects.toBeInstanceOf(VersionConflictError);
    const fresh = await s.store.get('srv-0001');
    await s.store.replace(makeAgentRecord({ checks: bigChecks, seq: 45 }), fresh?.version ?? '');
    expect((await s.store.get('srv-0001'))?.record.seq).toBe(45);
  });
});
