import { BackendUnavailableError } from '../core/errors.js';
import type { Clock } from '../core/ports.js';

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
 * Fails calls to a backend at once while it is known to be down, so that during an outage every
 * request does not spend seconds waiting for it (with thousands per second that is thousands of
 * Lambda executions held open, enough to exhaust the account's concurrency). For backends whose
 * failure never fails a request: the scheduler (a schedule is a hint, DESIGN.md I6) and the event
 * bus (an event stays in its record's outbox). Per process, with no timer: after `failures`
 * consecutive BackendUnavailableErrors, calls fail for `openMs`; then one call goes out, and its
 * answer closes or reopens the circuit. Other errors (a misconfiguration) pass through and do not
 * count: they need fixing, not waiting out.
 *
 * Written here rather than taken from a package: the usual ones (opossum and the like) keep
 * timers per breaker and read the real clock, where this needs twenty lines and the injected one.
 */
export class CircuitBreaker {
  private consecutive = 0;
  private openUntil = 0;
  private probing = false;
  private readonly failures: number;
  private readonly openMs: number;

  constructor(
    private readonly backend: BackendUnavailableError['backend'],
    private readonly options: CircuitBreakerOptions,
  ) {
    this.failures = options.failures ?? 5;
    this.openMs = options.openMs ?? 10_000;
  }

  async call<T>(send: () => Promise<T>): Promise<T> {
    const now = this.options.clock.now();
    const open = this.consecutive >= this.failures;
    if (open && (now < this.openUntil || this.probing)) {
      throw new BackendUnavailableError(
        this.backend,
        `the ${this.backend} is failing; calls paused for a few seconds`,
      );
    }
    this.probing = open;
    try {
      const result = await send();
      this.consecutive = 0;
      return result;
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
