import type { AgentRecord, AgentState, StoredAgent } from '../../functions/core/agent.js';
import { BackendUnavailableError, VersionConflictError } from '../../functions/core/errors.js';
import type { AgentPage, AgentStore, ExpiryScheduler, ScheduleRequest } from '../../functions/core/ports.js';

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
  constructor(private readonly faults: readonly Fault[]) {}
  async run<T>(operation: () => Promise<T>, conflictFor?: string): Promise<T> {
    const fault = this.faults[this.next++] ?? 'ok';
    if (fault === 'before') throw new BackendUnavailableError('store', 'injected fault before the call');
    const result = await operation();
    if (fault === 'after-conflict' && conflictFor !== undefined) throw new VersionConflictError(conflictFor);
    if (fault !== 'ok')
      throw new BackendUnavailableError('store', 'injected fault after the call was applied');
    return result;
  }
}

/** Any store, with faults injected from a plan: the same failures on every adapter. */
export class FaultyStore implements AgentStore {
  private readonly plan: FaultPlan;
  constructor(
    readonly inner: AgentStore,
    faults: readonly Fault[],
  ) {
    this.plan = new FaultPlan(faults);
  }
  get(agentId: string): Promise<StoredAgent | undefined> {
    return this.plan.run(() => this.inner.get(agentId));
  }
  create(record: AgentRecord): Promise<StoredAgent> {
    return this.plan.run(() => this.inner.create(record), record.agentId);
  }
  replace(record: AgentRecord, expectedVersion: string): Promise<StoredAgent> {
    return this.plan.run(() => this.inner.replace(record, expectedVersion), record.agentId);
  }
  listByState(state: AgentState, page: { limit: number; cursor: string | null }): Promise<AgentPage> {
    return this.plan.run(() => this.inner.listByState(state, page));
  }
}

/** Holds schedules by name like the real service; injected faults fail a call before or after it applies. */
export class FaultyScheduler implements ExpiryScheduler {
  readonly schedules = new Map<string, ScheduleRequest>();
  private readonly plan: FaultPlan;
  constructor(faults: readonly Fault[]) {
    this.plan = new FaultPlan(faults);
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
