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
  /** The invocation that made it: for an expiry, the one that declared it (kept after a recovery clears expiredBy); for a deregistration, its request. */
  by?: string;
}

/** Who noticed an expiry: the agent's own schedule firing, or the reconciler's sweep. */
export type DetectedBy = 'schedule' | 'reconciler';

/** What on-call is told about one expiry: the `agent expired` line, and later the event. */
export interface ExpiryReport {
  agentId: string;
  lastSeen: number;
  ttlSeconds: number;
  /** The deadline that passed. */
  expiredAt: number;
  detectedAt: number;
  detectedBy: DetectedBy;
  bootId: string | null;
  /** Checks not passing at the last heartbeat, outputs cut to a few hundred characters. */
  failingChecks: CheckResult[];
  labels: Record<string, string>;
  /**
   * Expired at the end of a deferral (core/expiry-guard.ts): the service heard too little during
   * the agent's silence to tell its own outage from the agent's, so this may be either.
   */
  suspectedPipelineOutage?: true;
  /**
   * Part of a mass expiry (core/expiry-guard.ts): more of the fleet fell silent with the agent
   * than the configured share of what is still heard, so this reads as one event, not many.
   */
  massExpiry?: true;
}

/**
 * An event committed with the transition it reports (a transactional outbox inside the record):
 * it is delivered after the commit (its on-call line, then its publication: core/events.ts) and
 * then removed, so a process that dies in between leaves it here for a retry of the same
 * invocation, or the reconciler, to deliver (I9). `by`, the invocation that committed it, is
 * unique per agent, so with the type (and a check's name) it identifies the event.
 */
export type OutboxEvent = {
  /** The invocation that committed it. */
  by: string;
  /** When it was committed. */
  at: number;
  /**
   * Its line was written but its publication failed: kept so the reconciler publishes it, and
   * writes no second line.
   */
  logged?: true;
} & (
  | { type: 'agent.expired'; report: ExpiryReport }
  | ({
      type: 'agent.registered';
      /** It had been deregistered: a heartbeat registered it again. */
      reregistered: boolean;
      ttlSeconds: number;
    } & HeartbeatSnapshot)
  | ({
      type: 'agent.recovered';
      /** The deadline that had passed. */
      expiredAt: number | null;
    } & HeartbeatSnapshot)
  | { type: 'agent.deregistered'; previousState: AgentState }
  | { type: 'check.changed'; check: string; from: CheckStatus; to: CheckStatus; output?: string }
);

/**
 * What the heartbeat that made a transition said, kept with its event: a later heartbeat may have
 * changed the record by the time the event is published (by the reconciler, after an outage).
 */
export interface HeartbeatSnapshot {
  deadline: number;
  bootId: string | null;
  labels: Record<string, string>;
}

/**
 * Held past its deadline by a maintenance window (issue 10): the deadline was moved to the
 * window's end plus the TTL. If the window is ended early, the reconciler moves it back to the
 * actual end plus the TTL.
 */
export interface MaintenanceHold {
  windowId: string;
  /** The window's end when the hold was made: the deadline is this plus the TTL. */
  until: number;
}

export interface AgentRecord {
  /** Bumped when the stored shape changes; readers upgrade older documents (upgradeRecord). */
  schemaVersion: 2;
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
  /**
   * Fire time of the schedule this record vouches for, or null when none is known. A hint, never
   * a promise (DESIGN.md I6): when set, the agent's schedule fires no later than its expiry time
   * (`deadline` plus the expiry grace, core/timing.ts; a failed write may have left one firing
   * even earlier, which is always safe); when null, the next heartbeat, firing or reconciler run
   * arms one.
   */
  armedFor: number | null;
  /** The deadline that passed (not when that was noticed), while expired. */
  expiredAt: number | null;
  /** When the expiry was noticed. */
  detectedAt: number | null;
  /**
   * The invocation that declared the expiry (a Lambda request id): correlates the record with
   * its log line, and lets that invocation, or its retry, recognise its own write.
   */
  expiredBy: string | null;
  checks: CheckResult[];
  labels: Record<string, string>;
  transitions: Transition[];
  /** Events committed but not yet delivered; normally empty. */
  outbox: OutboxEvent[];
  /** Held by a maintenance window while silent; absent otherwise (a heartbeat clears it). */
  maintenance?: MaintenanceHold;
}

/** A record as read from a store, with the opaque token a conditional write must present. */
export interface StoredAgent {
  record: AgentRecord;
  version: string;
}

/**
 * What the scheduler delivers to the expiry handler. Only agentId matters: the handler re-reads
 * the record and decides from it; armedFor says which schedule fired, for the log.
 */
export interface ExpiryPayload {
  agentId: string;
  /** ISO-8601 UTC fire time the schedule was armed for. */
  armedFor?: string;
}

export const MAX_TRANSITIONS = 10;
export const SCHEMA_VERSION = 2;

export function deadlineOf(record: Pick<AgentRecord, 'lastSeen' | 'ttlSeconds'>): number {
  return record.lastSeen + record.ttlSeconds * 1000;
}

/**
 * Turns a stored document into the current record shape. Version 1 lacked the outbox. Any other
 * version is refused rather than read with fields dropped (a newer writer, or a bad manual edit).
 * Beyond the version the shape is trusted: only the adapters write these documents, from records.
 */
export function upgradeRecord(fields: Record<string, unknown>, where: string): AgentRecord {
  if (fields['schemaVersion'] === 1) {
    return { ...(fields as unknown as Omit<AgentRecord, 'schemaVersion'>), schemaVersion: 2, outbox: [] };
  }
  if (fields['schemaVersion'] !== SCHEMA_VERSION) {
    throw new Error(
      `${where} has schemaVersion ${String(fields['schemaVersion'])}; only 1 and 2 are understood`,
    );
  }
  return fields as unknown as AgentRecord;
}
