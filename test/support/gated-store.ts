import type { AgentRecord, AgentState, StoredAgent } from '../../functions/core/agent.js';
import type { AgentPage, AgentStore } from '../../functions/core/ports.js';

/**
 * Wraps a store so a test can freeze one caller between its read and its write, and run another
 * caller in that gap: the interleaving that decides races, made deterministic.
 */
export class GatedStore implements AgentStore {
  private gate: { reached: () => void; released: Promise<void> } | undefined;
  writes = 0;
  reads = 0;

  constructor(private readonly inner: AgentStore) {}

  /** The next get() resolves, then the caller's next write waits until `release()`. */
  pauseNextWrite(): { reached: Promise<void>; release: () => void } {
    let reached!: () => void;
    let release!: () => void;
    const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.gate = { reached, released };
    return { reached: reachedPromise, release };
  }

  async get(agentId: string): Promise<StoredAgent | undefined> {
    this.reads++;
    return this.inner.get(agentId);
  }

  async create(record: AgentRecord): Promise<StoredAgent> {
    await this.waitAtGate();
    this.writes++;
    return this.inner.create(record);
  }

  async replace(record: AgentRecord, expectedVersion: string): Promise<StoredAgent> {
    await this.waitAtGate();
    this.writes++;
    return this.inner.replace(record, expectedVersion);
  }

  listByState(state: AgentState, page: { limit: number; cursor: string | null }): Promise<AgentPage> {
    return this.inner.listByState(state, page);
  }

  listOpen(page: { limit: number; cursor: string | null }): Promise<AgentPage> {
    return this.inner.listOpen(page);
  }

  private async waitAtGate(): Promise<void> {
    const gate = this.gate;
    if (gate === undefined) return;
    this.gate = undefined;
    gate.reached();
    await gate.released;
  }
}
