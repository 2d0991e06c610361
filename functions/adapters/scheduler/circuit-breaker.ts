import type { CallOptions, ExpiryScheduler, ScheduleRequest } from '../../core/ports.js';
import { CircuitBreaker, type CircuitBreakerOptions } from '../circuit-breaker.js';

export type { CircuitBreakerOptions } from '../circuit-breaker.js';

/**
 * The scheduler behind a circuit breaker (../circuit-breaker.ts). Safe because a failed schedule
 * write never fails a request: the record keeps a schedule that fires in time or says none is
 * known, and the reconciler repairs it (DESIGN.md I6).
 */
export class CircuitBreakingScheduler implements ExpiryScheduler {
  private readonly breaker: CircuitBreaker;

  constructor(
    private readonly inner: ExpiryScheduler,
    options: CircuitBreakerOptions,
  ) {
    this.breaker = new CircuitBreaker('scheduler', options);
  }

  upsert(request: ScheduleRequest, options?: CallOptions): Promise<void> {
    return this.breaker.call(() => this.inner.upsert(request, options));
  }

  delete(name: string, options?: CallOptions): Promise<void> {
    return this.breaker.call(() => this.inner.delete(name, options));
  }
}
