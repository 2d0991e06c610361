import type { AgentRecord } from './agent.js';
import type { AgentStore, CallOptions } from './ports.js';

export async function readAgent(
  deps: { store: AgentStore },
  agentId: string,
  options?: CallOptions,
): Promise<AgentRecord | undefined> {
  return (await deps.store.get(agentId, options))?.record;
}
