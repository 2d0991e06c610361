import { describe, expect, it } from 'vitest';
import { VersionConflictError } from '../../functions/core/errors.js';
import type { MaintenanceWindow } from '../../functions/core/maintenance.js';
import type { AgentStore, MaintenanceStore } from '../../functions/core/ports.js';
import { collectPages } from './store-contract.js';
import { makeAgentRecord } from './records.js';

export interface MaintenanceStoreUnderTest {
  store: MaintenanceStore & AgentStore;
  /** Whether the store can list (CouchbaseMock cannot: no SQL++). */
  lists: boolean;
  cleanup?: () => Promise<void>;
}

const T = Date.UTC(2026, 0, 15, 10, 0, 0);

export function makeWindow(overrides: Partial<MaintenanceWindow> = {}): MaintenanceWindow {
  return {
    id: 'w-1',
    selector: { agentIds: ['web-1', 'wéb-2'], labels: { rack: 'r12', zone: '' } },
    start: T,
    end: T + 3_600_000,
    reason: 'rack r12 firmware',
    createdAt: T - 60_000,
    createdBy: 'arn:aws:iam::123456789012:role/oncall',
    ...overrides,
  };
}

/**
 * The maintenance windows (issue 10) every store keeps: one document, read whole with its version,
 * replaced whole only from the version read, never listed as an agent.
 */
export function describeMaintenanceContract(
  name: string,
  makeStore: () => Promise<MaintenanceStoreUnderTest>,
): void {
  const withStore = async (test: (subject: MaintenanceStoreUnderTest) => Promise<void>) => {
    const subject = await makeStore();
    try {
      await test(subject);
    } finally {
      await subject.cleanup?.();
    }
  };

  describe(`MaintenanceStore contract: ${name}`, () => {
    it('reads no windows and no version before any are written', () =>
      withStore(async ({ store }) => {
        await expect(store.readWindows()).resolves.toEqual({ windows: [], version: null });
      }));

    it('reads back exactly what was written, with a version that changes on every write', () =>
      withStore(async ({ store }) => {
        const first = [makeWindow()];
        await store.writeWindows(first, null);
        const read = await store.readWindows();
        expect(read.windows).toStrictEqual(first);
        expect(read.version).not.toBeNull();

        const second = [
          makeWindow({ endedAt: T + 60_000, entered: 'published', left: 'logged' }),
          makeWindow({ id: 'w-2', selector: { labels: { role: 'db' } } }),
        ];
        await store.writeWindows(second, read.version);
        const again = await store.readWindows();
        expect(again.windows).toStrictEqual(second);
        expect(again.version).not.toBe(read.version);
      }));

    it('refuses a first write when windows exist, and a write from a stale version, keeping the newer', () =>
      withStore(async ({ store }) => {
        await store.writeWindows([makeWindow()], null);
        const read = await store.readWindows();
        await store.writeWindows([makeWindow({ id: 'w-2' })], read.version);

        await expect(store.writeWindows([makeWindow({ id: 'w-3' })], null)).rejects.toBeInstanceOf(
          VersionConflictError,
        );
        await expect(store.writeWindows([makeWindow({ id: 'w-4' })], read.version)).rejects.toBeInstanceOf(
          VersionConflictError,
        );
        expect((await store.readWindows()).windows.map((w) => w.id)).toEqual(['w-2']);
      }));

    it('lets exactly one of several concurrent writes from the same version win', () =>
      withStore(async ({ store }) => {
        await store.writeWindows([], null);
        const { version } = await store.readWindows();
        const outcomes = await Promise.allSettled(
          ['a', 'b', 'c', 'd'].map((id) => store.writeWindows([makeWindow({ id })], version)),
        );
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        for (const outcome of outcomes.filter((o) => o.status === 'rejected')) {
          expect(outcome.reason).toBeInstanceOf(VersionConflictError);
        }
        expect((await store.readWindows()).windows).toHaveLength(1);
      }));

    it('is never seen as an agent', () =>
      withStore(async ({ store, lists }) => {
        await store.create(makeAgentRecord({ agentId: 'web-1' }));
        await store.writeWindows([makeWindow()], null);
        if (!lists) return;
        const open = await collectPages((cursor) => store.listOpen({ limit: 1, cursor }), 1);
        expect(open.map((record) => record.agentId)).toEqual(['web-1']);
        for (const state of ['alive', 'expired', 'deregistered'] as const) {
          const listed = await collectPages((cursor) => store.listByState(state, { limit: 1, cursor }), 1);
          expect(listed.every((record) => record.agentId === 'web-1')).toBe(true);
        }
      }));
  });
}
