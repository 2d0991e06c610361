import type { AgentRecord, AgentState, ExpiryPayload, StoredAgent } from './agent.js';

/**
 * Persistence port. Versions are opaque strings (a counter in DynamoDB, a CAS in Couchbase).
 * Conflicts throw VersionConflictError; an unreachable store throws BackendUnavailableError.
 */
export interface AgentStore {
  get(agentId: string): Promise<StoredAgent | undefined>;
  /** Create-if-absent. Throws VersionConflictError when the agent already exists. */
  create(record: AgentRecord): Promise<StoredAgent>;
  /** Replace only if the stored version still equals `expectedVersion`. */
  replace(record: AgentRecord, expectedVersion: string): Promise<StoredAgent>;
  /**
   * One page of the agents in `state`, in an order that is stable across pages. `cursor` is the
   * opaque value the previous page returned (null for the first page, and after the last page);
   * a cursor the store cannot have issued throws InvalidCursorError.
   */
  listByState(state: AgentState, page: { limit: number; cursor: string | null }): Promise<AgentPage>;
}

export interface AgentPage {
  items: AgentRecord[];
  cursor: string | null;
}

export interface ScheduleRequest {
  /** Derived from agentId by scheduleNameFor: one name per agent, whatever happens (I1). */
  name: string;
  /**
   * Epoch ms: the deadline itself. An adapter with coarser resolution rounds up, never down
   * (EventBridge `at()` takes whole seconds), so a schedule never fires before its deadline.
   */
  fireAt: number;
  payload: ExpiryPayload;
}

/** Scheduler port: one named one-time schedule per agent. Failures throw BackendUnavailableError. */
export interface ExpiryScheduler {
  /** Create the named schedule or replace it whole; idempotent. */
  upsert(request: ScheduleRequest): Promise<void>;
  /** Delete the named schedule; deleting one that does not exist is not an error. */
  delete(name: string): Promise<void>;
}
