/** The domain model: one record per agent (DESIGN.md §3). Times are epoch milliseconds. */

export type AgentState = 'alive' | 'expired' | 'deregistered';
export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  output?: string;
}

export interface Transition {
  state: AgentState;
  at: number;
  /** For an expiry: the invocation that declared it (kept after a recovery clears expiredBy). */
  by?: string;
}

export interface AgentRecord {
  /** Bumped when the stored shape changes, so old documents can be migrated on read. */
  schemaVersion: 1;
  agentId: string;
  state: AgentState;
  bootId: string | null;
  seq: number | null;
  /** Server receive time of the latest accepted heartbeat, never the agent's clock. */
  lastSeen: number;
  ttlSeconds: number;
  intervalSeconds: number;
  /** lastSeen + ttl: the agent expires when this passes without a newer heartbeat. */
  deadline: number;
  /** Fire time of the schedule currently armed for this agent, or null when none is. */
  armedFor: number | null;
  /** The deadline that passed (not when that was noticed), while expired. */
  expiredAt: number | null;
  /** When the expiry was noticed. */
  detectedAt: number | null;
  /**
   * The expiry invocation that declared it (the Lambda request id): correlates the record with
   * its log line, and lets that invocation recognise its own write when the answer was lost.
   */
  expiredBy: string | null;
  checks: CheckResult[];
  labels: Record<string, string>;
  transitions: Transition[];
}

/** A record as read from a store, with the opaque token a conditional write must present. */
export interface StoredAgent {
  record: AgentRecord;
  version: string;
}

/** What the scheduler delivers to the expiry handler: enough to recognise a stale firing. */
export interface ExpiryPayload {
  agentId: string;
  /** ISO-8601 UTC fire time the schedule was armed for. */
  armedFor: string;
}

export const MAX_TRANSITIONS = 10;

export function deadlineOf(record: Pick<AgentRecord, 'lastSeen' | 'ttlSeconds'>): number {
  return record.lastSeen + record.ttlSeconds * 1000;
}
