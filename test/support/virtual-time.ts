import type { Timers } from '../../functions/adapters/scheduler/local-scheduler.js';
import type { Clock } from '../../functions/core/ports.js';

/** A clock and timers that move only when told to: hours of scheduling run in milliseconds. */
export class VirtualTime implements Clock, Timers {
  private pending = new Map<number, { at: number; callback: () => void }>();
  private nextId = 1;
  timersCreated = 0;

  readonly ms0: number;

  constructor(public ms = Date.UTC(2026, 10, 26, 12, 0, 0)) {
    this.ms0 = ms;
  }

  now(): number {
    return this.ms;
  }

  get liveTimers(): number {
    return this.pending.size;
  }

  set(callback: () => void, delayMs: number): unknown {
    const id = this.nextId++;
    this.timersCreated++;
    this.pending.set(id, { at: this.ms + delayMs, callback });
    return id;
  }

  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** Moves time forward to `target`, running each timer at its own time, in order. */
  async advanceTo(target: number, settle: () => Promise<void> = async () => undefined): Promise<void> {
    for (;;) {
      let next: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.pending) if (next === undefined || entry[1].at < next[1].at) next = entry;
      if (next === undefined || next[1].at > target) break;
      this.pending.delete(next[0]);
      this.ms = Math.max(this.ms, next[1].at);
      next[1].callback();
      await settle();
    }
    this.ms = Math.max(this.ms, target);
  }
}
