import type { StoredAgent } from '../../functions/core/agent.js';
import type { AgentPage, AgentStore, CheckpointStore } from '../../functions/core/ports.js';

/**
 * For a store whose listing needs what its test server lacks (SQL++ on CouchbaseMock): the open
 * agents among `agentIds`, read one by one over KV, so the reconciler's repairs still run against
 * the real store. The listing itself is tested where it can run (the gated real-server suite).
 */
export function withKvListing(
  store: AgentStore & CheckpointStore,
  agentIds: readonly string[],
): AgentStore & CheckpointStore {
  return {
    get: (agentId, options) => store.get(agentId, options),
    create: (record, options) => store.create(record, options),
    replace: (record, version, options) => store.replace(record, version, options),
    listByState: (state, page, options) => store.listByState(state, page, options),
    loadCheckpoint: (name, options) => store.loadCheckpoint(name, options),
    saveCheckpoint: (name, value, options) => store.saveCheckpoint(name, value, options),
    async listOpen(page): Promise<AgentPage> {
      const sorted = [...agentIds].sort();
      const from = page.cursor === null ? 0 : Number(page.cursor);
      const ids = sorted.slice(from, from + page.limit);
      const found = await Promise.all(ids.map((agentId) => store.get(agentId)));
      return {
        items: found
          .filter((stored): stored is StoredAgent => stored !== undefined)
          .map((stored) => stored.record)
          .filter((record) => record.state === 'alive' || record.outbox.length > 0),
        cursor: from + page.limit < sorted.length ? String(from + page.limit) : null,
      };
    },
  };
}
