import { randomUUID } from 'node:crypto';
import type { AgentRecord, ExpiryPayload } from '../../core/agent.js';
import { BackendUnavailableError } from '../../core/errors.js';
import type { Clock, ExpiryScheduler, ScheduleRequest } from '../../core/ports.js';
import { scheduleNameFor } from '../../core/schedule-name.js';
import { toIso } from '../../core/time.js';
import { type ExpiryTiming, expiresAt } from '../../core/timing.js';
import { KeyedMinHeap } from './keyed-min-heap.js';

/** The timer functions the scheduler uses; injectable so a benchmark can run in virtual time. */
export interface Timers {
  set(callback: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
}

export const realTimers: Timers = {
  set: (callback, delayMs) => setTimeout(callback, delayMs).unref(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface LocalSchedulerOptions {
  clock: Clock;
  /**
   * Invokes the expiry handler, as EventBridge Scheduler invokes the expiry Lambda. Retries of a
   * failed firing keep its `deliveryId`, as Lambda's retries keep the request id.
   */
  fire: (payload: ExpiryPayload, deliveryId: string) => Promise<void>;
  /** Called when a firing failed on every attempt: the local stand-in for the dead-letter queue. */
  deadLetter: (payload: ExpiryPayload, error: unknown) => void;
  maxAttempts?: number;
  retryDelayMs?: number;
  timers?: Timers;
  /**
   * While this says so, writes and deletes fail as an unreachable Scheduler API does (schedules
   * already written still fire). For game-day drills (`npm run drill -- scheduler-down`).
   */
  unavailable?: () => boolean;
}

// setTimeout holds at most a signed 32-bit delay; a longer wait just wakes up and re-checks.
const MAX_DELAY_MS = 2 ** 31 - 1;

interface Entry {
  payload: ExpiryPayload;
  attempt: number;
  /** Set on the first firing and kept by its retries. */
  deliveryId?: string;
}

/**
 * EventBridge Scheduler's behaviour for the local runner: one-time schedules by name that delete
 * themselves after firing, delivered at least once with retries. It keeps ONE timer for the whole
 * process, over a min-heap keyed by schedule name, so the number of timers never depends on the
 * number of agents or restarts. State lives in memory and is rebuilt from the store at start.
 */
export class LocalExpiryScheduler implements ExpiryScheduler {
  private readonly heap = new KeyedMinHeap<Entry>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly timers: Timers;
  private timer: { handle: unknown; at: number } | undefined;
  private stopped = false;
  invocations = 0;

  constructor(private readonly options: LocalSchedulerOptions) {
    this.timers = options.timers ?? realTimers;
  }

  get size(): number {
    return this.heap.size;
  }

  has(name: string): boolean {
    return this.heap.has(name);
  }

  fireTimeOf(name: string): number | undefined {
    return this.heap.get(name)?.at;
  }

  async upsert(request: ScheduleRequest): Promise<void> {
    this.#failIfUnavailable();
    this.heap.set(request.name, request.fireAt, { payload: request.payload, attempt: 0 });
    this.rearmTimer();
  }

  async delete(name: string): Promise<void> {
    this.#failIfUnavailable();
    this.heap.delete(name);
    this.rearmTimer();
  }

  /**
   * Re-creates the schedule of every alive agent from the store, as AWS would still hold them
   * after a restart. An agent whose deadline passed while the runner was down fires at once.
   */
  async rebuild(records: AsyncIterable<AgentRecord>, timing: ExpiryTiming): Promise<number> {
    let count = 0;
    for await (const record of records) {
      if (record.state !== 'alive') continue;
      const fireAt = record.armedFor ?? expiresAt(record, timing);
      const name = scheduleNameFor(record.agentId);
      if (!this.heap.has(name)) {
        this.heap.set(name, fireAt, {
          payload: { agentId: record.agentId, armedFor: toIso(fireAt) },
          attempt: 0,
        });
        count++;
      }
    }
    this.rearmTimer();
    return count;
  }

  /** Waits until no invocation is running (retries it schedules are not waited for). */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  #failIfUnavailable(): void {
    if (this.options.unavailable?.() === true) {
      throw new BackendUnavailableError('scheduler', 'the local scheduler is switched unavailable (a drill)');
    }
  }

  /** Stops firing and waits for invocations already running. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clear(this.timer.handle);
    this.timer = undefined;
    await Promise.allSettled([...this.inFlight]);
  }

  private rearmTimer(): void {
    const next = this.heap.peek();
    if (this.stopped || next?.at === this.timer?.at) return;
    if (this.timer !== undefined) this.timers.clear(this.timer.handle);
    this.timer = undefined;
    if (next === undefined) return;
    const delay = Math.min(MAX_DELAY_MS, Math.max(0, next.at - this.options.clock.now()));
    this.timer = { handle: this.timers.set(() => this.onTimer(), delay), at: next.at };
  }

  private onTimer(): void {
    this.timer = undefined;
    if (this.stopped) return;
    const now = this.options.clock.now();
    for (let due = this.heap.popDue(now); due !== undefined; due = this.heap.popDue(now)) {
      this.invoke(due.key, due.value);
    }
    this.rearmTimer();
  }

  private invoke(name: string, entry: Entry): void {
    this.invocations++;
    const delivery = { ...entry, deliveryId: entry.deliveryId ?? randomUUID() };
    const run = this.options
      .fire(delivery.payload, delivery.deliveryId)
      .catch((error: unknown) => this.retryOrDeadLetter(name, delivery, error));
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
  }

  private retryOrDeadLetter(name: string, entry: Entry, error: unknown): void {
    const attempt = entry.attempt + 1;
    if (attempt >= (this.options.maxAttempts ?? 5)) {
      this.options.deadLetter(entry.payload, error);
      return;
    }
    // A schedule written since this firing replaces the retry, as a newer schedule would on AWS.
    if (this.heap.has(name) || this.stopped) return;
    const delay = (this.options.retryDelayMs ?? 500) * 2 ** (attempt - 1);
    this.heap.set(name, this.options.clock.now() + delay, { ...entry, attempt });
    this.rearmTimer();
  }
}
