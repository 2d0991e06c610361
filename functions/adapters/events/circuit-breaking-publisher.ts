import type { CallOptions, EventPublisher, PublishedEvent } from '../../core/ports.js';
import { CircuitBreaker, type CircuitBreakerOptions } from '../circuit-breaker.js';

/**
 * The event bus behind a circuit breaker (../circuit-breaker.ts): while it is down, a heartbeat
 * that commits a transition does not wait seconds for it. Safe because an unpublished event stays
 * in its record's outbox for the reconciler (core/deliver-events.ts).
 */
export class CircuitBreakingPublisher implements EventPublisher {
  private readonly breaker: CircuitBreaker;

  constructor(
    private readonly inner: EventPublisher,
    options: CircuitBreakerOptions,
  ) {
    this.breaker = new CircuitBreaker('events', options);
  }

  publish(events: readonly PublishedEvent[], options?: CallOptions): Promise<void> {
    return this.breaker.call(() => this.inner.publish(events, options));
  }
}
