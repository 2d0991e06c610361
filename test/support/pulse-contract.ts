import { describe, expect, it } from 'vitest';
import { VersionConflictError } from '../../functions/core/errors.js';
import type { AgentDeleter, AgentStore, MassExpiryStore, PulseStore } from '../../functions/core/ports.js';
import { collectPages } from './store-contract.js';
import { makeAgentRecord } from './records.js';

export interface PulseStoreUnderTest {
  store: PulseStore & MassExpiryStore & AgentStore & AgentDeleter;
  /** Whether the store can list (CouchbaseMock cannot: no SQL++). */
  lists: boolean;
  cleanup?: () => Promise<void>;
}

const HOUR = 3_600_000;
// An hour boundary, so that buckets on both sides land in two hours' items.
const T = Date.UTC(2026, 0, 15, 10, 0, 0);

/**
 * The fleet pulse (issue 9) every store keeps: counts per bucket, added atomically by many
 * instances at once, read back by range across hour boundaries, never seen as agents.
 */
export function describePulseContract(name: string, makeStore: () => Promise<PulseStoreUnderTest>): void {
  const withStore = async (test: (subject: PulseStoreUnderTest) => Promise<void>) => {
    const subject = await makeStore();
    try {
      await test(subject);
    } finally {
      await subject.cleanup?.();
    }
  };

  describe(`PulseStore contract: ${name}`, () => {
    it('reads nothing before anything is added', () =>
      withStore(async ({ store }) => {
        expect([...(await store.readPulse(T - HOUR, T + HOUR))]).toEqual([]);
      }));

    it('reads back what was added, by range, across an hour boundary, 1 s and 10 s buckets alike', () =>
      withStore(async ({ store }) => {
        await store.addPulse(T - 10_000, 7);
        await store.addPulse(T - 1_000, 2);
        await store.addPulse(T, 5);
        await store.addPulse(T + 10_000, 1);
        await store.addPulse(T + 10_000, 3);
        await store.addPulse(T + 2 * HOUR, 9);
        const all = await store.readPulse(T - HOUR, T + HOUR);
        expect([...all].sort(([a], [b]) => a - b)).toEqual([
          [T - 10_000, 7],
          [T - 1_000, 2],
          [T, 5],
          [T + 10_000, 4],
        ]);
        // [from, to): the bucket starting at `to` is not in it.
        expect([...(await store.readPulse(T - 1_000, T + 10_000))].sort(([a], [b]) => a - b)).toEqual([
          [T - 1_000, 2],
          [T, 5],
        ]);
      }));

    it('sums adds to one bucket from many writers at once', () =>
      withStore(async ({ store }) => {
        await Promise.all(Array.from({ length: 25 }, (_, i) => store.addPulse(T, i + 1)));
        expect((await store.readPulse(T, T + 1)).get(T)).toBe((25 * 26) / 2);
      }));

    it('is never listed as an agent, nor read as one', () =>
      withStore(async ({ store, lists }) => {
        await store.addPulse(T, 3);
        await store.create(makeAgentRecord({ agentId: 'web-1' }));
        if (lists) {
          const open = await collectPages((cursor) => store.listOpen({ limit: 10, cursor }), 10);
          expect(open.map((record) => record.agentId)).toEqual(['web-1']);
          const alive = await collectPages((cursor) => store.listByState('alive', { limit: 10, cursor }), 10);
          expect(alive.map((record) => record.agentId)).toEqual(['web-1']);
        }
        await expect(store.get('web-1')).resolves.toBeDefined();
      }));

    it('pages through the open agents one at a time past pulse and mass-expiry items', () =>
      withStore(async ({ store, lists }) => {
        if (!lists) return;
        // A page can end on any item the listing evaluates; its cursor must still be accepted.
        for (let hour = 0; hour < 4; hour++) await store.addPulse(T + hour * HOUR, 1);
        await store.countMassExpiry(T);
        await store.countMassExpiry(T + HOUR);
        for (const agentId of ['a-1', 'b-2', 'c-3']) await store.create(makeAgentRecord({ agentId }));
        const open = await collectPages((cursor) => store.listOpen({ limit: 1, cursor }), 50);
        expect(open.map((record) => record.agentId).sort()).toEqual(['a-1', 'b-2', 'c-3']);
      }));
  });

  describe(`MassExpiryStore contract: ${name}`, () => {
    const MINUTE = 60_000;

    it('counts per minute across an hour boundary, many writers at once, and reads by range', () =>
      withStore(async ({ store }) => {
        expect([...(await store.readMassExpiries(T - HOUR, T + HOUR))]).toEqual([]);
        await Promise.all(Array.from({ length: 20 }, () => store.countMassExpiry(T - MINUTE)));
        await store.countMassExpiry(T);
        await store.countMassExpiry(T + 2 * HOUR);
        const minutes = await store.readMassExpiries(T - HOUR, T + HOUR);
        expect([...minutes].sort(([a], [b]) => a - b)).toEqual([
          [T - MINUTE, { count: 20, summarized: false }],
          [T, { count: 1, summarized: false }],
        ]);
        expect([...(await store.readMassExpiries(T - MINUTE, T))]).toEqual([
          [T - MINUTE, { count: 20, summarized: false }],
        ]);
      }));

    it('lets exactly one of many claim a minute summary, and reads it as summarized', () =>
      withStore(async ({ store }) => {
        await store.countMassExpiry(T);
        const claims = await Promise.all(Array.from({ length: 8 }, () => store.claimMassSummary(T)));
        expect(claims.filter(Boolean)).toHaveLength(1);
        await expect(store.claimMassSummary(T)).resolves.toBe(false);
        expect((await store.readMassExpiries(T, T + MINUTE)).get(T)).toEqual({ count: 1, summarized: true });
        // Another minute of the same hour is still unclaimed.
        await store.countMassExpiry(T + MINUTE);
        expect((await store.readMassExpiries(T, T + HOUR)).get(T + MINUTE)?.summarized).toBe(false);
        await expect(store.claimMassSummary(T + MINUTE)).resolves.toBe(true);
      }));
  });

  describe(`AgentDeleter contract: ${name}`, () => {
    it('deletes a record only at the version it was read at; a changed or missing one is a conflict', () =>
      withStore(async ({ store }) => {
        const created = await store.create(makeAgentRecord({ agentId: 'old-1', state: 'expired' }));
        const changed = await store.replace({ ...created.record, seq: 99 }, created.version);
        await expect(store.deleteAgent('old-1', created.version)).rejects.toBeInstanceOf(
          VersionConflictError,
        );
        expect(await store.get('old-1')).toBeDefined();
        await store.deleteAgent('old-1', changed.version);
        expect(await store.get('old-1')).toBeUndefined();
        await expect(store.deleteAgent('old-1', changed.version)).rejects.toBeInstanceOf(
          VersionConflictError,
        );
        // Gone means gone: the next heartbeat would register it afresh.
        await store.create(makeAgentRecord({ agentId: 'old-1' }));
      }));
  });
}
