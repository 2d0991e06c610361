import type { AgentRecord, ExpiryPayload, StoredAgent } from './agent.js';

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
  /** Every agent in state `alive`, in no particular order (used to rebuild the local scheduler). */
  listAlive(): AsyncIterable<StoredAgent>;
}

export interface ScheduleRequest {
  /** Derived from agentId by scheduleNameFor: one name per agent, whatever happens (I1). */
  name: string;
  /** Epoch ms, whole seconds (EventBridge `at()` has second resolution). */
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
