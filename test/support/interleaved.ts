import type fc from 'fast-check';
import type { MemoryAgentStore } from '../../functions/adapters/memory/agent-store.js';
import type { AgentStore, ExpiryScheduler, MaintenanceStore } from '../../functions/core/ports.js';
import type { RecordingScheduler } from './fakes.js';

/**
 * The store's, the maintenance windows' and the scheduler's calls, each released when
 * fast-check's scheduler says: concurrent operations interleave at every call, in every order it
 * tries. Listings are not interleaved (no operation under test lists).
 */
export function interleaved(scheduler: fc.Scheduler, store: MemoryAgentStore, target: RecordingScheduler) {
  return {
    store: {
      get: scheduler.scheduleFunction((id: string) => store.get(id)),
      create: scheduler.scheduleFunction((record) => store.create(record)),
      replace: scheduler.scheduleFunction((record, version: string) => store.replace(record, version)),
      listByState: (state, page) => store.listByState(state, page),
      listOpen: (page) => store.listOpen(page),
    } satisfies AgentStore,
    maintenance: {
      readWindows: scheduler.scheduleFunction(() => store.readWindows()),
      writeWindows: scheduler.scheduleFunction((windows, version: string | null) =>
        store.writeWindows(windows, version),
      ),
    } satisfies MaintenanceStore,
    scheduler: {
      upsert: scheduler.scheduleFunction((request) => target.upsert(request)),
      delete: scheduler.scheduleFunction((name: string) => target.delete(name)),
    } satisfies ExpiryScheduler,
  };
}
