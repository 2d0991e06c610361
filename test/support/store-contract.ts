import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentRecord, AgentState } from '../../functions/core/agent.js';
import { InvalidCursorError, VersionConflictError } from '../../functions/core/errors.js';
import type { AgentPage, AgentStore, CheckpointStore } from '../../functions/core/ports.js';
import { makeAgentRecord } from './records.js';

export interface StoreUnderTest {
  store: AgentStore & CheckpointStore;
  cleanup?: () => Promise<void>;
}

/**
 * The behaviour every AgentStore adapter must share (DESIGN.md §6), registered as vitest tests.
 * `makeStore` is called before each test and must return an empty store.
 */
export function describeAgentStoreContract(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`AgentStore contract: ${name}`, () => {
    let store: AgentStore & CheckpointStore;
    let cleanup: (() => Promise<void>) | undefined;

    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
    });

    afterEach(async () => {
      await cleanup?.();
    });

    it('creates an absent agent and reads back the same record and version', async () => {
      const record = makeAgentRecord();

      const created = await store.create(record);
      const read = await store.get(record.agentId);

      expect(created.record).toStrictEqual(record);
      expect(read).toStrictEqual({ record, version: created.version });
    });

    it('returns undefined for an agent it has never stored', async () => {
      await store.create(makeAgentRecord({ agentId: 'srv-known' }));

      await expect(store.get('srv-unknown')).resolves.toBeUndefined();
    });

    it('refuses to create an agent that already exists and keeps the first record', async () => {
      const first = await store.create(makeAgentRecord({ seq: 1 }));

      await expectConflict(store.create(makeAgentRecord({ seq: 2 })), first.record.agentId);

      await expect(store.get(first.record.agentId)).resolves.toStrictEqual(first);
    });

    it('replaces the record when the expected version matches, issuing a new version', async () => {
      const created = await store.create(makeAgentRecord());
      const next = makeAgentRecord({ seq: 43, lastSeen: created.record.lastSeen + 30_000 });

      const replaced = await store.replace(next, created.version);

      expect(replaced.version).not.toBe(created.version);
      expect(replaced.record).toStrictEqual(next);
      await expect(store.get(next.agentId)).resolves.toStrictEqual({
        record: next,
        version: replaced.version,
      });
    });

    it('accepts a chain of replaces, each presenting the version the previous one returned', async () => {
      let current = await store.create(makeAgentRecord({ seq: 0 }));
      const versions = [current.version];

      for (let seq = 1; seq <= 5; seq++) {
        current = await store.replace(makeAgentRecord({ seq }), current.version);
        versions.push(current.version);
      }

      expect(new Set(versions).size).toBe(versions.length);
      await expect(store.get(current.record.agentId)).resolves.toStrictEqual(current);
    });

    it('refuses a replace with a stale version and keeps the newer record', async () => {
      const created = await store.create(makeAgentRecord({ seq: 1 }));
      const newer = await store.replace(makeAgentRecord({ seq: 2 }), created.version);

      await expectConflict(
        store.replace(makeAgentRecord({ seq: 3 }), created.version),
        created.record.agentId,
      );

      await expect(store.get(created.record.agentId)).resolves.toStrictEqual(newer);
    });

    it('refuses to replace an agent that does not exist, and does not create it', async () => {
      // A version genuinely issued by this store, just for another agent.
      const other = await store.create(makeAgentRecord({ agentId: 'srv-other' }));

      await expectConflict(
        store.replace(makeAgentRecord({ agentId: 'srv-missing' }), other.version),
        'srv-missing',
      );

      await expect(store.get('srv-missing')).resolves.toBeUndefined();
    });

    it('round-trips a large record: 50 checks with 4 KiB of output each', async () => {
      const checks = Array.from({ length: 50 }, (_, i) => ({
        name: `check-${i}`,
        status: i % 7 === 0 ? ('fail' as const) : ('pass' as const),
        output: `${i}:`.padEnd(4096, 'The quick brown fox jumps over the lazy dog. '),
      }));
      const record = makeAgentRecord({ checks });

      const created = await store.create(record);
      const replaced = await store.replace({ ...record, seq: 43 }, created.version);

      expect(checks.every((check) => check.output.length === 4096)).toBe(true);
      await expect(store.get(record.agentId)).resolves.toStrictEqual(replaced);
      expect(replaced.record.checks).toStrictEqual(checks);
    });

    it('keeps unicode agent ids exactly, without normalising them', async () => {
      const ids = ['srv-ünïcødé-日本-🚀', 'rack 12/slot 3 (db)', 'caf\u00e9'];
      for (const agentId of ids) await store.create(makeAgentRecord({ agentId }));

      const read = await Promise.all(ids.map((agentId) => store.get(agentId)));
      // The same text in decomposed form (NFD) is a different agent id.
      const decomposed = await store.get('cafe\u0301');

      expect(read.map((stored) => stored?.record.agentId)).toStrictEqual(ids);
      expect(decomposed).toBeUndefined();
    });

    it('keeps nulls, zeros, empty strings, empty labels and empty arrays exactly as written', async () => {
      const sparse = makeAgentRecord({
        agentId: 'srv-sparse',
        bootId: null,
        seq: null,
        armedFor: null,
        checks: [],
        labels: {},
        transitions: [],
      });
      const expired = makeAgentRecord({
        agentId: 'srv-expired',
        state: 'expired',
        seq: 0,
        armedFor: null,
        expiredAt: Date.UTC(2026, 0, 15, 9, 31, 30),
        detectedAt: Date.UTC(2026, 0, 15, 9, 31, 41, 250),
        // One check with no output at all, one with an empty output: they must stay different.
        checks: [
          { name: 'port-22', status: 'fail' },
          { name: 'disk-root', status: 'pass', output: '' },
        ],
        labels: { 'team.name': 'sre', région: 'eu-west-🇫🇷', empty: '' },
        transitions: [
          { state: 'alive', at: 0 },
          { state: 'expired', at: Date.UTC(2026, 0, 15, 9, 31, 30) },
        ],
      });

      await store.create(sparse);
      await store.create(expired);

      expect((await store.get('srv-sparse'))?.record).toStrictEqual(sparse);
      expect((await store.get('srv-expired'))?.record).toStrictEqual(expired);
    });

    it('hands out copies: mutating a record after writing or reading it changes nothing stored', async () => {
      const record = makeAgentRecord();
      const pristine = structuredClone(record);
      await store.create(record);

      record.labels['role'] = 'changed-after-create';
      record.checks.push({ name: 'injected', status: 'fail' });
      const read = await store.get(pristine.agentId);
      read?.record.transitions.push({ state: 'expired', at: 1 });

      expect((await store.get(pristine.agentId))?.record).toStrictEqual(pristine);
    });

    it('lets exactly one of several concurrent replaces from the same version win', async () => {
      const created = await store.create(makeAgentRecord({ seq: 0 }));
      const attempts = Array.from({ length: 8 }, (_, i) => makeAgentRecord({ seq: i + 1 }));

      const results = await Promise.allSettled(
        attempts.map((record) => store.replace(record, created.version)),
      );

      const winners = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const losers = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      expect(winners).toHaveLength(1);
      expect(losers).toHaveLength(attempts.length - 1);
      for (const loser of losers) expect(loser).toBeInstanceOf(VersionConflictError);
      await expect(store.get(created.record.agentId)).resolves.toStrictEqual(winners[0]);
    });

    it('lets exactly one of several concurrent creates of the same agent win', async () => {
      const attempts = Array.from({ length: 8 }, (_, i) => makeAgentRecord({ seq: i }));

      const results = await Promise.allSettled(attempts.map((record) => store.create(record)));

      const winners = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const losers = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      expect(winners).toHaveLength(1);
      for (const loser of losers) expect(loser).toBeInstanceOf(VersionConflictError);
      await expect(store.get(attempts[0]?.agentId ?? '')).resolves.toStrictEqual(winners[0]);
    });
  });
}

/** Checkpoints (the reconciler's position), which every store keeps beside the agents. */
export function describeCheckpointContract(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`CheckpointStore contract: ${name}`, () => {
    it('has none until one is saved, then the last value saved, null included; agents never see it', async () => {
      const { store, cleanup } = await makeStore();
      try {
        await expect(store.loadCheckpoint('reconciler')).resolves.toBeNull();
        await store.saveCheckpoint('reconciler', 'cursor-1');
        await store.saveCheckpoint('other', 'x');
        await store.saveCheckpoint('reconciler', 'cursor-2');
        await expect(store.loadCheckpoint('reconciler')).resolves.toBe('cursor-2');
        await store.saveCheckpoint('reconciler', null);
        await expect(store.loadCheckpoint('reconciler')).resolves.toBeNull();
        await expect(store.loadCheckpoint('other')).resolves.toBe('x');
        await expect(store.get('reconciler')).resolves.toBeUndefined();
      } finally {
        await cleanup?.();
      }
    });
  });
}

async function expectConflict(write: Promise<unknown>, agentId: string): Promise<void> {
  const error = await write.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VersionConflictError);
  expect(error).toMatchObject({ agentId });
}

/**
 * Listing by state (DESIGN.md §6), kept apart from the contract above because a store may need a
 * server feature for it that its emulator lacks (Couchbase's SQL++ on CouchbaseMock).
 */
export function describeListByStateContract(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`AgentStore listing by state: ${name}`, () => {
    let store: AgentStore & CheckpointStore;
    let cleanup: (() => Promise<void>) | undefined;

    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
    });

    afterEach(async () => {
      await cleanup?.();
    });

    it('lists exactly the agents in the state asked for, as they are now', async () => {
      await store.create(makeAgentRecord({ agentId: 'srv-a' }));
      const b = await store.create(makeAgentRecord({ agentId: 'srv-b', seq: 1 }));
      await store.replace(makeAgentRecord({ agentId: 'srv-b', seq: 2 }), b.version);
      await store.create(makeAgentRecord({ agentId: 'srv-c', state: 'expired', armedFor: null }));
      await store.create(makeAgentRecord({ agentId: 'srv-d', state: 'deregistered', armedFor: null }));
      const e = await store.create(makeAgentRecord({ agentId: 'srv-e' }));
      await store.replace(makeAgentRecord({ agentId: 'srv-e', state: 'expired', armedFor: null }), e.version);

      const alive = await listAll(store, 'alive', 10);
      const expired = await listAll(store, 'expired', 10);

      expect(alive.map((r) => r.agentId).sort()).toStrictEqual(['srv-a', 'srv-b']);
      expect(alive.find((r) => r.agentId === 'srv-b')?.seq).toBe(2);
      expect(expired.map((r) => r.agentId).sort()).toStrictEqual(['srv-c', 'srv-e']);
      expect(expired.every((r) => r.state === 'expired')).toBe(true);
    });

    it('lists nothing, with no cursor, when no agent is in that state', async () => {
      await store.create(makeAgentRecord({ agentId: 'srv-x', state: 'deregistered', armedFor: null }));
      await expect(store.listByState('expired', { limit: 10, cursor: null })).resolves.toStrictEqual({
        items: [],
        cursor: null,
      });
    });

    it('pages through many agents with no loss and no repeats', async () => {
      const ids = Array.from({ length: 37 }, (_, i) => `node-${String(i).padStart(2, '0')}-ü`);
      for (const agentId of ids) await store.create(makeAgentRecord({ agentId }));
      await store.create(makeAgentRecord({ agentId: 'other', state: 'expired', armedFor: null }));

      const seen = await collectPages((cursor) => store.listByState('alive', { limit: 10, cursor }), 10);
      expect(seen.map((r) => r.agentId).sort()).toStrictEqual([...ids].sort());
    });

    it('answers a cursor from another state without error (it is only a position)', async () => {
      for (const agentId of ['a', 'b', 'c']) await store.create(makeAgentRecord({ agentId }));
      await store.create(makeAgentRecord({ agentId: 'x', state: 'expired', armedFor: null }));
      const page = await store.listByState('alive', { limit: 1, cursor: null });
      expect(page.cursor).not.toBeNull();
      await expect(store.listByState('expired', { limit: 10, cursor: page.cursor })).resolves.toBeDefined();
    });

    it('rejects a cursor it did not issue', async () => {
      for (const cursor of [
        'not-a-cursor',
        Buffer.from('{"shard":0,"key":{"foo":"bar"}}').toString('base64url'),
      ]) {
        await expect(store.listByState('alive', { limit: 10, cursor })).rejects.toBeInstanceOf(
          InvalidCursorError,
        );
      }
    });
  });
}

function listAll(store: AgentStore, state: AgentState, limit: number): Promise<AgentRecord[]> {
  return collectPages((cursor) => store.listByState(state, { limit, cursor }), limit);
}

/** Every item of a paged listing, each page no larger than `limit`; at most 100 pages. */
export async function collectPages(
  list: (cursor: string | null) => Promise<AgentPage>,
  limit: number,
): Promise<AgentRecord[]> {
  const all: AgentRecord[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: AgentPage = await list(cursor);
    expect(page.items.length).toBeLessThanOrEqual(limit);
    all.push(...page.items);
    cursor = page.cursor;
    pages++;
  } while (cursor !== null && pages < 100);
  return all;
}

/**
 * Listing the open agents (alive, or with undelivered events), which the reconciler and the local
 * scheduler's rebuild walk; like listing by state, it may need a server feature an emulator lacks.
 */
export function describeListOpenContract(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`AgentStore listing of open agents: ${name}`, () => {
    let store: AgentStore & CheckpointStore;
    let cleanup: (() => Promise<void>) | undefined;

    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
    });

    afterEach(async () => {
      await cleanup?.();
    });

    const pending = { type: 'agent.expired' as const, by: 'inv-1', at: 1, report: reportFor('srv-pending') };

    it('lists every alive agent and every agent with undelivered events, and nothing else', async () => {
      await store.create(makeAgentRecord({ agentId: 'srv-alive' }));
      await store.create(makeAgentRecord({ agentId: 'srv-expired', state: 'expired', armedFor: null }));
      await store.create(
        makeAgentRecord({ agentId: 'srv-pending', state: 'expired', armedFor: null, outbox: [pending] }),
      );
      await store.create(makeAgentRecord({ agentId: 'srv-gone', state: 'deregistered', armedFor: null }));
      await store.saveCheckpoint('reconciler', 'somewhere');

      const open = await listOpenAll(store, 10);

      expect(open.map((r) => r.agentId).sort()).toStrictEqual(['srv-alive', 'srv-pending']);
      expect(open.find((r) => r.agentId === 'srv-pending')?.outbox).toStrictEqual([pending]);
    });

    it('pages through many agents with no loss and no repeats', async () => {
      const ids = Array.from({ length: 43 }, (_, i) => `node-${String(i).padStart(2, '0')}-ü`);
      for (const agentId of ids) await store.create(makeAgentRecord({ agentId }));
      for (let i = 0; i < 9; i++) {
        await store.create(makeAgentRecord({ agentId: `dead-${i}`, state: 'expired', armedFor: null }));
      }

      const seen = await collectPages((cursor) => store.listOpen({ limit: 10, cursor }), 10);
      expect(seen.map((r) => r.agentId).sort()).toStrictEqual([...ids].sort());
    });

    it('rejects a cursor it did not issue', async () => {
      await expect(store.listOpen({ limit: 10, cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(
        InvalidCursorError,
      );
    });
  });
}

function reportFor(agentId: string) {
  return {
    agentId,
    lastSeen: 0,
    ttlSeconds: 90,
    expiredAt: 90_000,
    detectedAt: 91_000,
    detectedBy: 'schedule' as const,
    bootId: null,
    failingChecks: [],
    labels: {},
  };
}

function listOpenAll(store: AgentStore, limit: number): Promise<AgentRecord[]> {
  return collectPages((cursor) => store.listOpen({ limit, cursor }), limit);
}
