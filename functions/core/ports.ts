import type { AgentRecord, AgentState, ExpiryPayload, StoredAgent } from './agent.js';
import type { DetailType, EventDetail } from './event-schemas.js';
import type { MaintenanceWindow } from './maintenance.js';
import type { ExpiryTiming } from './timing.js';

// Every port of the domain core, in one place. Adapters (functions/adapters) implement them;
// composition code (functions/entrypoints, functions/local) picks the adapters.

/** The core never reads the clock itself; time is passed in so tests can move it. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

/**
 * How long the current invocation may still spend. Every retry, backoff and recovery step asks
 * before it starts, and every backend call is cut off when it runs out (DESIGN.md I10).
 */
export interface Budget {
  /** Milliseconds left; zero or less means none. */
  remainingMs(): number;
}

/** Per call: give up (and throw BackendUnavailableError) after this long, retries included. */
export interface CallOptions {
  timeoutMs?: number;
}

/**
 * Persistence port. Versions are opaque strings (a counter in DynamoDB, a CAS in Couchbase).
 * Conflicts throw VersionConflictError; an unreachable store, or a call that timed out (whose
 * write may or may not have been applied), throws BackendUnavailableError.
 */
export interface AgentStore {
  get(agentId: string, options?: CallOptions): Promise<StoredAgent | undefined>;
  /** Create-if-absent. Throws VersionConflictError when the agent already exists. */
  create(record: AgentRecord, options?: CallOptions): Promise<StoredAgent>;
  /** Replace only if the stored version still equals `expectedVersion`. */
  replace(record: AgentRecord, expectedVersion: string, options?: CallOptions): Promise<StoredAgent>;
  /**
   * One page of the agents in `state`, in an order that is stable across pages. `cursor` is the
   * opaque value the previous page returned (null for the first page, and after the last page);
   * a cursor the store cannot have issued throws InvalidCursorError.
   */
  listByState(
    state: AgentState,
    page: { limit: number; cursor: string | null },
    options?: CallOptions,
  ): Promise<AgentPage>;
  /**
   * One page of the *open* agents: every alive agent, and every agent with undelivered events
   * (a non-empty outbox), read from the records themselves rather than from an index that could
   * lag or, after a crash of an embedded store, miss an entry. What the reconciler and the local
   * scheduler's rebuild walk. Same cursor rules as listByState; a page may hold fewer than
   * `limit` items (even none) before the last page.
   */
  listOpen(page: { limit: number; cursor: string | null }, options?: CallOptions): Promise<AgentPage>;
}

/** Deletes agent records: reaping, the one way a record ever goes (core/reap.ts). */
export interface AgentDeleter {
  /**
   * Deletes the record only while its version is still `expectedVersion`; throws
   * VersionConflictError when it changed (a heartbeat came) or is gone.
   */
  deleteAgent(agentId: string, expectedVersion: string, options?: CallOptions): Promise<void>;
}

export interface AgentPage {
  items: AgentRecord[];
  cursor: string | null;
  /**
   * Records on this page that could not be read (an unknown schemaVersion, a bad manual edit):
   * left out, so that one bad record cannot stop a listing for good. Only listOpen reports them.
   */
  unreadable?: number;
}

/** Small named values that survive between invocations (the reconciler's position). */
export interface CheckpointStore {
  loadCheckpoint(name: string, options?: CallOptions): Promise<string | null>;
  saveCheckpoint(name: string, value: string | null, options?: CallOptions): Promise<void>;
}

/**
 * The fleet pulse (issue 9): how many heartbeats the service accepted in each time bucket, summed
 * over every function instance, so that an expiry can tell a silent agent from a deaf service.
 * Buckets start at multiples of their length since the epoch; the length divides an hour.
 */
export interface PulseStore {
  /** Adds `count` to the bucket starting at `bucketStart` (epoch ms). */
  addPulse(bucketStart: number, count: number, options?: CallOptions): Promise<void>;
  /** The counts of the buckets starting in [from, to); a bucket nobody added to is absent. */
  readPulse(from: number, to: number, options?: CallOptions): Promise<Map<number, number>>;
}

/**
 * The maintenance windows (issue 10, core/maintenance.ts). They are few (a bounded number open at
 * once), so one document holds them all: read whole, replaced whole under a version check.
 */
export interface MaintenanceStore {
  /** The stored windows, with the version a write must present (null: none stored yet). */
  readWindows(options?: CallOptions): Promise<StoredWindows>;
  /**
   * Replaces the windows if their version is still `expectedVersion` (null: only if none are
   * stored); throws VersionConflictError otherwise.
   */
  writeWindows(
    windows: readonly MaintenanceWindow[],
    expectedVersion: string | null,
    options?: CallOptions,
  ): Promise<void>;
}

export interface StoredWindows {
  windows: MaintenanceWindow[];
  version: string | null;
}

/**
 * Mass expiries (issue 9), counted per minute over every function instance, so that one summary
 * line per minute says how many agents expired together. Minutes start at multiples of 60 s.
 */
export interface MassExpiryStore {
  /** Adds one to the mass expiries of the minute starting at `minuteStart`. */
  countMassExpiry(minuteStart: number, options?: CallOptions): Promise<void>;
  /** The minutes starting in [from, to) that counted any: their count, and whether summarized. */
  readMassExpiries(from: number, to: number, options?: CallOptions): Promise<Map<number, MassMinute>>;
  /**
   * Claims the minute's summary: resolves true for exactly one caller ever, false for the rest.
   * After a failure the claim may or may not have been made (the summary is then at most once).
   */
  claimMassSummary(minuteStart: number, options?: CallOptions): Promise<boolean>;
}

export interface MassMinute {
  count: number;
  summarized: boolean;
}

export interface ScheduleRequest {
  /** Derived from agentId by scheduleNameFor: one name per agent, whatever happens (I1). */
  name: string;
  /**
   * Epoch ms: when the agent may be declared expired (its deadline plus the expiry grace). An
   * adapter with coarser resolution rounds up, never down (EventBridge `at()` takes whole
   * seconds), so a schedule never fires before that.
   */
  fireAt: number;
  payload: ExpiryPayload;
}

/**
 * Scheduler port: one named one-time schedule per agent, deleted once it has fired. Failures
 * throw BackendUnavailableError; after one the schedule may or may not have been written.
 */
export interface ExpiryScheduler {
  /** Create the named schedule or replace it whole; idempotent. */
  upsert(request: ScheduleRequest, options?: CallOptions): Promise<void>;
  /** Delete the named schedule; deleting one that does not exist is not an error. */
  delete(name: string, options?: CallOptions): Promise<void>;
}

/** One event as published (EventBridge PutEvents, the local log and webhook): core/events.ts. */
export interface PublishedEvent<T extends DetailType = DetailType> {
  /** Also in the detail as eventId: the same for every delivery of one transition. */
  id: string;
  detailType: T;
  /** When the transition committed. */
  time: number;
  detail: EventDetail<T>;
}

/**
 * Publishes events (issue 10): EventBridge PutEvents in AWS, log lines and an optional webhook
 * locally. Resolves once every event was accepted; throws BackendUnavailableError otherwise (some
 * may have been published: delivery is at least once, and consumers drop repeated event ids).
 */
export interface EventPublisher {
  publish(events: readonly PublishedEvent[], options?: CallOptions): Promise<void>;
}

/** The logging the core and handlers need; Powertools' Logger satisfies it, tests pass a recorder. */
export interface Log {
  info(message: string, ...attributes: Record<string, unknown>[]): void;
  warn(message: string, ...attributes: Record<string, unknown>[]): void;
  error(message: string, ...attributes: Record<string, unknown>[]): void;
}

/** The service's own metrics (CloudWatch EMF in AWS); the dashboard and alarms use these names. */
export type MetricName =
  | 'Heartbeats'
  | 'AgentsExpired'
  | 'AgentsRecovered'
  | 'ScheduleWrites'
  | 'ScheduleWriteFailures'
  | 'SchedulerThrottles'
  | 'StoreThrottles'
  | 'ExpiryInvocations'
  | 'ReconcileChecked'
  | 'ReconcileOverdue'
  | 'ReconcileRearmed'
  | 'ReconcileExpired'
  | 'ReconcileReported'
  | 'ReconcileErrors'
  | 'PulseFlushes'
  | 'PulseFlushFailures'
  | 'PulseReadFailures'
  | 'ExpiriesDeferred'
  | 'AgentsDeregistered'
  | 'AgentsReaped'
  | 'MassExpiries'
  | 'MassExpiryCountFailures'
  | 'AgentsRegistered'
  | 'ChecksChanged'
  | 'EventsPublished'
  | 'EventPublishFailures'
  | 'MaintenanceHolds';

export interface Metrics {
  count(name: MetricName, value?: number): void;
}

/** The expiry guard's thresholds (core/expiry-guard.ts). */
export interface GuardSettings {
  bucketMs: number;
  /** Deaf: the silence heard less than this share of the baseline per bucket (default 0.5). */
  degradedShare: number;
  /** The baseline is the median bucket of this long before the silence (default an hour). */
  baselineMs: number;
  /**
   * A baseline of fewer heartbeats per bucket cannot tell one agent's death from deafness (a
   * fleet of three, a laptop demo): not judged, the agent expires as without the guard.
   */
  minBaselinePerBucket: number;
  /** A deferred agent expires anyway this long after its deadline (default 600 s). */
  maxDeferMs: number;
  /** A deferred agent is looked at again after this long (the scheduler's precision in AWS). */
  recheckMs: number;
  /**
   * An expiry is marked massExpiry when the agents silent with it outnumber this share of those
   * still heard (default 0.2; core/expiry-guard.ts).
   */
  massShare: number;
}

/** The expiry guard's pulse and thresholds (core/expiry-guard.ts). */
export interface ExpiryGuardDeps {
  reader: { counts(budget: Budget): Promise<ReadonlyMap<number, number>> };
  /** Counts mass expiries and writes each minute's summary line (core/mass-expiry.ts). */
  tally: { counted(budget: Budget): Promise<void>; summarize(budget: Budget): Promise<void> };
  settings: GuardSettings;
}

/** What every use case that writes an agent needs; log and metrics carry the on-call lines. */
export interface CoreDeps {
  store: AgentStore;
  scheduler: ExpiryScheduler;
  clock: Clock;
  log: Log;
  metrics: Metrics;
  /** The commit window and expiry grace (core/timing.ts). */
  timing: ExpiryTiming;
  /** Defers expiries while the service itself seems deaf (issue 9); none: expire at the deadline. */
  guard?: ExpiryGuardDeps;
  /** Where events go once their transition committed; none: their on-call lines only. */
  events?: EventPublisher;
  /**
   * The maintenance windows an agent falling due is checked against (core/maintenance.ts); none:
   * no agent is ever covered.
   */
  maintenance?: MaintenanceStore;
}
