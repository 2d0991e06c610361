import { BackendUnavailableError } from '../../core/errors.js';
import type { CallOptions, Clock, ExpiryScheduler, ScheduleRequest } from '../../core/ports.js';

export interface CircuitBreakerOptions {
  clock: Clock;
  /** Consecutive unavailable answers after which calls stop going out. */
  failures?: number;
  /** How long calls then fail at once, before one is let through to probe. */
  openMs?: number;
  /** Told when the circuit opens, with the error that opened it. */
  onOpen?: (error: unknown) => void;
}

/**
 * Fails scheduler calls at once while the scheduler is known to be down, so that during an outage
 * every heartbeat does not spend seconds waiting for it (with thousands per second that is
 * thousands of Lambda executions held open, enough to exhaust the account's concurrency). Safe
 * because a failed schedule write never fails a request: the record keeps a schedule that fires in
 * time or says none is known, and the reconciler repairs it (DESIGN.md I6). Per process, with no
 * timer: after `failures` consecutive BackendUnavailableErrors, calls fail for `openMs`; then one
 * call goes out, and its answer closes or reopens the circuit. Other errors (a misconfiguration)
 * pass through and do not count: they need fixing, not waiting out.
 *
 * Written here rather than taken from a package: the usual ones (opossum and the like) keep
 * timers per breaker and read the real clock, where this needs twenty lines and the injected one.
 */
export class CircuitBreakingScheduler implements ExpiryScheduler {
  private consecutive = 0;
  private openUntil = 0;
  private probing = false;
  private readonly failures: number;
  private readonly openMs: number;

  constructor(
    private readonly inner: ExpiryScheduler,
    private readonly options: CircuitBreakerOptions,
  ) {
    this.failures = options.failures ?? 5;
    this.openMs = options.openMs ?? 10_000;
  }

  upsert(request: ScheduleRequest, options?: CallOptions): Promise<void> {
    return this.call(() => this.inner.upsert(request, options));
  }

  delete(name: string, options?: CallOptions): Promise<void> {
    return this.call(() => this.inner.delete(name, options));
  }

  private async call(send: () => Promise<void>): Promise<void> {
    const now = this.options.clock.now();
    const open = this.consecutive >= this.failures;
    if (open && (now < this.openUntil || this.probing)) {
      throw new BackendUnavailableError(
        'scheduler',
        'the scheduler is failing; calls paused for a few seconds',
      );
    }
    this.probing = open;
    try {
      await send();
      this.consecutive = 0;
    } catch (error) {
      if (error instanceof BackendUnavailableError) {
        this.consecutive++;
        if (this.consecutive >= this.failures) {
          if (this.consecutive === this.failures) this.options.onOpen?.(error);
          this.openUntil = this.options.clock.now() + this.openMs;
        }
      }
      throw error;
    } finally {
      this.probing = false;
    }
  }
}
