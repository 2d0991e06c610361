import type { AgentRecord } from './agent.js';
import type { AgentStore } from './ports.js';

export async function readAgent(
  deps: { store: AgentStore },
  agentId: string,
): Promise<AgentRecord | undefined> {
  return (await deps.store.get(agentId))?.record;
}
