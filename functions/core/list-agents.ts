import type { AgentRecord, AgentState } from './agent.js';
import type { AgentPage, AgentStore, CallOptions } from './ports.js';

export const MAX_PAGE = 100;

/** One page of agents in a state, for on-call ("which agents are expired?"). */
export function listAgents(
  deps: { store: AgentStore },
  state: AgentState,
  limit: number,
  cursor: string | null,
  options?: CallOptions,
): Promise<AgentPage> {
  return deps.store.listByState(state, { limit: Math.min(Math.max(1, limit), MAX_PAGE), cursor }, options);
}

/** Every open agent (alive, or with undelivered events), page by page: the local scheduler's rebuild. */
export async function* allOpenAgents(store: AgentStore): AsyncGenerator<AgentRecord> {
  let cursor: string | null = null;
  do {
    const page: AgentPage = await store.listOpen({ limit: MAX_PAGE, cursor });
    yield* page.items;
    cursor = page.cursor;
  } while (cursor !== null);
}
