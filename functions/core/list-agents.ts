import type { AgentRecord, AgentState } from './agent.js';
import type { AgentPage, AgentStore } from './ports.js';

export const MAX_PAGE = 100;

/** One page of agents in a state, for on-call ("which agents are expired?"). */
export function listAgents(
  deps: { store: AgentStore },
  state: AgentState,
  limit: number,
  cursor: string | null,
): Promise<AgentPage> {
  return deps.store.listByState(state, { limit: Math.min(Math.max(1, limit), MAX_PAGE), cursor });
}

/** Every agent in a state, page by page (used to rebuild the local scheduler at start). */
export async function* allAgentsInState(store: AgentStore, state: AgentState): AsyncGenerator<AgentRecord> {
  let cursor: string | null = null;
  do {
    const page: AgentPage = await store.listByState(state, { limit: MAX_PAGE, cursor });
    yield* page.items;
    cursor = page.cursor;
  } while (cursor !== null);
}
