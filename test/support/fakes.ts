import type { Heartbeat } from '../../functions/core/heartbeat.js';
import { BackendUnavailableError } from '../../functions/core/errors.js';
import type {
  AgentStore,
  EventPublisher,
  PublishedEvent,
  Clock,
  CoreDeps,
  ExpiryGuardDeps,
  ExpiryScheduler,
  Log,
  MetricName,
  Metrics,
  ScheduleRequest,
} from '../../functions/core/ports.js';
import type { ExpiryTiming } from '../../functions/core/timing.js';
import { noMetrics } from '../../functions/observability/null-metrics.js';

export class FakeClock implements Clock {
  constructor(public ms = Date.UTC(2026, 10, 26, 12, 0, 0)) {}
  now(): number {
    return this.ms;
  }
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

/** Holds schedules by name, like the real service, and records every call. */
export class RecordingScheduler implements ExpiryScheduler {
  readonly schedules = new Map<string, ScheduleRequest>();
  upserts: ScheduleRequest[] = [];
  deletes: string[] = [];
  private failures: Error[] = [];

  failNext(error: Error, times = 1): void {
    for (let i = 0; i < times; i++) this.failures.push(error);
  }

  async upsert(request: ScheduleRequest): Promise<void> {
    const failure = this.failures.shift();
    if (failure) throw failure;
    this.upserts.push(request);
    this.schedules.set(request.name, request);
  }

  async delete(name: string): Promise<void> {
    const failure = this.failures.shift();
    if (failure) throw failure;
    this.deletes.push(name);
    this.schedules.delete(name);
  }
}

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  message: string;
  attributes: Record<string, unknown>;
}

export class RecordingLog implements Log {
  readonly lines: LogLine[] = [];
  info(message: string, ...attributes: Record<string, unknown>[]): void {
    this.lines.push({ level: 'info', message, attributes: Object.assign({}, ...attributes) });
  }
  warn(message: string, ...attributes: Record<string, unknown>[]): void {
    this.lines.push({ level: 'warn', message, attributes: Object.assign({}, ...attributes) });
  }
  error(message: string, ...attributes: Record<string, unknown>[]): void {
    this.lines.push({ level: 'error', message, attributes: Object.assign({}, ...attributes) });
  }
  withMessage(message: string): LogLine[] {
    return this.lines.filter((line) => line.message === message);
  }
}

export function makeHeartbeat(overrides: Partial<Heartbeat> = {}): Heartbeat {
  return {
    agentId: 'web-1',
    bootId: 'boot-1',
    seq: null,
    ttlSeconds: 90,
    intervalSeconds: 30,
    checks: [],
    labels: {},
    ...overrides,
  };
}

export class RecordingMetrics implements Metrics {
  readonly counts = new Map<MetricName, number>();
  count(name: MetricName, value = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + value);
  }
}

/**
 * Timing off: no commit window and no grace, so an agent expires at its very deadline. For tests
 * of anything but the timing itself; the timing's own tests, the races and the outage scenarios
 * use the deployed values.
 */
export const NO_GRACE: ExpiryTiming = { commitWindowMs: Number.POSITIVE_INFINITY, graceMs: 0 };

/** CoreDeps from the parts a test cares about; the rest silent. */
export function coreDeps(parts: {
  store: AgentStore;
  scheduler: ExpiryScheduler;
  clock: Clock;
  log?: Log;
  metrics?: Metrics;
  timing?: ExpiryTiming;
  guard?: ExpiryGuardDeps;
}): CoreDeps {
  return { log: new RecordingLog(), metrics: noMetrics, timing: NO_GRACE, ...parts };
}

/**
 * A Lambda context with time to spare, for tests whose fake clock jumps ahead while an
 * invocation is in flight (concurrent operations each advance it): the budget is not under test.
 */
export function ampleContext(awsRequestId?: string) {
  return {
    getRemainingTimeInMillis: () => 24 * 3600_000,
    ...(awsRequestId === undefined ? {} : { awsRequestId }),
  };
}

/** Keeps what is published; fails every call while `failing` (an event bus that is down). */
export class RecordingPublisher implements EventPublisher {
  readonly published: PublishedEvent[] = [];
  failing = false;
  calls = 0;
  async publish(events: readonly PublishedEvent[]): Promise<void> {
    this.calls++;
    if (this.failing) throw new BackendUnavailableError('events', 'the event bus is down (test)');
    this.published.push(...events);
  }
  types(): string[] {
    return this.published.map((event) => event.detailType);
  }
}
