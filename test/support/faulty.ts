import type { AgentRecord, AgentState, StoredAgent } from '../../functions/core/agent.js';
import { BackendUnavailableError, VersionConflictError } from '../../functions/core/errors.js';
import type {
  AgentPage,
  AgentStore,
  CallOptions,
  CheckpointStore,
  ExpiryScheduler,
  ScheduleRequest,
} from '../../functions/core/ports.js';

/**
 * What the n-th call does: go through, fail before touching anything (the backend was
 * unreachable), or fail after the operation was applied (it committed, but the answer was lost):
 * as an unavailable backend, or, for a store write, as the conflict an SDK retry of a write that
 * had committed runs into.
 */
export type Fault = 'ok' | 'before' | 'after' | 'after-conflict';

/** Plays a finite list of faults, one per call, then lets every call through. */
class FaultPlan {
  private next = 0;
  private quiet = false;
  constructor(private readonly faults: readonly Fault[]) {}
  /** No more faults from now on: the outage is over. */
  end(): void {
    this.quiet = true;
  }
  async run<T>(operation: () => Promise<T>, conflictFor?: string): Promise<T> {
    const fault = this.quiet ? 'ok' : (this.faults[this.next++] ?? 'ok');
    if (fault === 'before') throw new BackendUnavailableError('store', 'injected fault before the call');
    const result = await operation();
    if (fault === 'after-conflict' && conflictFor !== undefined) throw new VersionConflictError(conflictFor);
    if (fault !== 'ok')
      throw new BackendUnavailableError('store', 'injected fault after the call was applied');
    return result;
  }
}

/**
 * Any store, with faults injected from a plan: the same failures on every adapter. Listing and
 * checkpoints pass through (the reconciler's reads are not what these tests break).
 */
export class FaultyStore implements AgentStore, CheckpointStore {
  private readonly plan: FaultPlan;
  constructor(
    readonly inner: AgentStore & CheckpointStore,
    faults: readonly Fault[],
  ) {
    this.plan = new FaultPlan(faults);
  }
  /** The outage is over: every later call goes through. */
  quiet(): void {
    this.plan.end();
  }
  get(agentId: string, options?: CallOptions): Promise<StoredAgent | undefined> {
    return this.plan.run(() => this.inner.get(agentId, options));
  }
  create(record: AgentRecord, options?: CallOptions): Promise<StoredAgent> {
    return this.plan.run(() => this.inner.create(record, options), record.agentId);
  }
  replace(record: AgentRecord, expectedVersion: string, options?: CallOptions): Promise<StoredAgent> {
    return this.plan.run(() => this.inner.replace(record, expectedVersion, options), record.agentId);
  }
  listByState(state: AgentState, page: { limit: number; cursor: string | null }): Promise<AgentPage> {
    return this.inner.listByState(state, page);
  }
  listOpen(page: { limit: number; cursor: string | null }): Promise<AgentPage> {
    return this.inner.listOpen(page);
  }
  loadCheckpoint(name: string): Promise<string | null> {
    return this.inner.loadCheckpoint(name);
  }
  saveCheckpoint(name: string, value: string | null): Promise<void> {
    return this.inner.saveCheckpoint(name, value);
  }
}

/** Holds schedules by name like the real service; injected faults fail a call before or after it applies. */
export class FaultyScheduler implements ExpiryScheduler {
  readonly schedules = new Map<string, ScheduleRequest>();
  private readonly plan: FaultPlan;
  constructor(faults: readonly Fault[]) {
    this.plan = new FaultPlan(faults);
  }
  /** The outage is over: every later call goes through. */
  quiet(): void {
    this.plan.end();
  }
  upsert(request: ScheduleRequest): Promise<void> {
    return this.plan.run(async () => {
      this.schedules.set(request.name, request);
    });
  }
  delete(name: string): Promise<void> {
    return this.plan.run(async () => {
      this.schedules.delete(name);
    });
  }
  /** Fires the schedule: like ActionAfterCompletion DELETE, it is gone once its target is invoked. */
  fire(name: string): ScheduleRequest | undefined {
    const request = this.schedules.get(name);
    this.schedules.delete(name);
    return request;
  }
}
