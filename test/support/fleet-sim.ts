import { KeyedMinHeap } from '../../functions/adapters/scheduler/keyed-min-heap.js';
import type { ExpiryPayload } from '../../functions/core/agent.js';
import { BackendUnavailableError } from '../../functions/core/errors.js';
import { makeExpiryGuard } from '../../functions/core/expiry-guard.js';
import type {
  AgentStore,
  CallOptions,
  CheckpointStore,
  Clock,
  ExpiryScheduler,
  GuardSettings,
  Log,
  MassExpiryStore,
  PulseStore,
  ScheduleRequest,
} from '../../functions/core/ports.js';
import { PulseRecorder } from '../../functions/core/pulse.js';
import { AWS_TIMING } from '../../functions/core/timing.js';
import { makeExpiryHandler } from '../../functions/handlers/expiry.js';
import { makeIngestHandler } from '../../functions/handlers/ingest.js';
import { makeReconcileHandler } from '../../functions/handlers/reconcile.js';
import { makeBearerAuth } from '../../functions/http/auth.js';
import { noMetrics } from '../../functions/observability/null-metrics.js';
import { TOKEN, heartbeatEvent } from './api-events.js';
import { RecordingLog, ampleContext } from './fakes.js';

/**
 * A fleet and the deployed pipeline's behaviour in virtual time, for outage scenarios that take
 * hours of TTLs: agents heartbeating through the real ingest handler, an EventBridge-like
 * scheduler (one-time schedules by name, deleted after firing, with a choice of when), Lambda's
 * async invocation of the expiry handler (retried twice with the same request id, then
 * dead-lettered), and the reconciler on a rate. Every event runs to completion, in time order.
 */
export interface FleetOptions {
  store: AgentStore & CheckpointStore & PulseStore & MassExpiryStore;
  agents: number;
  intervalSeconds: number;
  ttlSeconds: number;
  reconcileMinutes: number;
  /** EventBridge's at() precision: the reconciler's lost-timer margin. */
  precisionMs?: number;
  /**
   * When the scheduler deletes a schedule that fired: before invoking its target, or after the
   * invocation returned (the worst ordering: it deletes the re-arm the handler just wrote).
   */
  deleteAfterFire?: 'before-invoke' | 'after-return';
  /** Every scheduler call fails while this is true (a Scheduler API brownout). */
  schedulerDown?: (now: number) => boolean;
  /** The HTTP front answers 503 (the heartbeat never reaches ingest) while this is true. */
  ingestDown?: (now: number) => boolean;
  /**
   * The whole service stopped: no heartbeat is answered, and every firing, retry and reconciler
   * run due meanwhile happens when it resumes, all at once.
   */
  freeze?: { from: number; to: number };
  /** The expiry guard and the fleet pulse it reads, as deployed (none: expiries unguarded). */
  guard?: GuardSettings;
  /** A firing this says true for is never delivered (Scheduler's dead-letter queue). */
  dropFiring?: (now: number, agentId: string) => boolean;
  /** When each agent stops reporting (Infinity: never). */
  silentFrom?: (agent: number) => number;
  start?: number;
}

export interface FleetReport {
  heartbeats: { ok: number; failed: number; worstStatus: number };
  /** Expiry lines for agents that had heartbeated within their TTL. */
  falseExpiries: number;
  /** Silent agents (silent for more than TTL + precision + a reconciler period) with no line. */
  missedExpiries: number;
  expired: number;
  /** Worst detectedAt - (last acknowledged lastSeen + ttl) over the silent agents, in seconds. */
  worstLateSeconds: number;
  scheduleCalls: number;
  scheduleFailures: number;
  expiryInvocations: number;
  deadLettered: number;
  reconcilerRuns: number;
}

export class SimulatedFleet {
  readonly log = new RecordingLog();
  readonly clock: Clock;
  private now: number;
  private readonly events = new KeyedMinHeap<() => Promise<void>>();
  private readonly scheduler: SimulatedScheduler;
  private readonly ingest;
  private readonly expire;
  private readonly reconcile;
  private readonly lastAck = new Map<string, number>();
  private readonly counts = {
    ok: 0,
    failed: 0,
    worstStatus: 200,
    invocations: 0,
    deadLettered: 0,
    reconcilerRuns: 0,
  };
  private nextId = 0;

  constructor(private readonly options: FleetOptions) {
    this.now = options.start ?? Date.UTC(2030, 0, 1);
    this.clock = { now: () => this.now };
    this.scheduler = new SimulatedScheduler(this, options);
    const quiet: Log = this.log;
    // The deployed timing: expiries come the grace after the deadline (core/timing.ts).
    const core = {
      store: options.store,
      scheduler: this.scheduler,
      clock: this.clock,
      log: quiet,
      metrics: noMetrics,
      timing: AWS_TIMING,
      ...(options.guard === undefined
        ? {}
        : {
            guard: makeExpiryGuard(
              { store: options.store, clock: this.clock, log: quiet, metrics: noMetrics },
              options.guard,
            ),
          }),
    };
    this.ingest = makeIngestHandler({
      core,
      policy: {
        defaultTtlSeconds: options.ttlSeconds,
        defaultIntervalSeconds: options.intervalSeconds,
        minTtlSeconds: 1,
      },
      authenticate: makeBearerAuth([TOKEN]),
      ...(options.guard === undefined
        ? {}
        : {
            pulse: new PulseRecorder({
              store: options.store,
              bucketMs: options.guard.bucketMs,
              log: quiet,
              metrics: noMetrics,
            }),
          }),
    });
    this.expire = makeExpiryHandler({ core });
    this.reconcile = makeReconcileHandler({
      core: { ...core, checkpoints: options.store },
      settings: { precisionMs: this.precisionMs, reportGraceMs: 5 * 60_000, fallbackMs: 60_000 },
    });
  }

  get precisionMs(): number {
    return this.options.precisionMs ?? 60_000;
  }

  agentId(agent: number): string {
    return `sim-${String(agent).padStart(5, '0')}`;
  }

  /** Schedules `run` at `at` (virtual ms) under `key`; a later `at` for the same key replaces it. */
  at(at: number, key: string, run: () => Promise<void>): void {
    this.events.set(key, Math.max(at, this.now), run);
  }

  cancel(key: string): void {
    this.events.delete(key);
  }

  /**
   * Lambda's async invocation: the same request id on each retry (1 and 2 minutes later), then
   * the dead-letter queue. `returned` runs when the first attempt has returned.
   */
  invokeExpiry(payload: ExpiryPayload, returned: () => void = () => undefined): void {
    const requestId = `expiry-${this.nextId++}`;
    const attempt = async (n: number): Promise<void> => {
      this.counts.invocations++;
      try {
        await this.expire(payload, ampleContext(requestId));
      } catch {
        if (n >= 3) this.counts.deadLettered++;
        else this.at(this.now + n * 60_000, `retry:${requestId}`, () => attempt(n + 1));
      } finally {
        if (n === 1) returned();
      }
    };
    this.at(this.now, `invoke:${requestId}`, () => attempt(1));
  }

  async run(untilMs: number): Promise<FleetReport> {
    const { agents, intervalSeconds } = this.options;
    const start = this.now;
    for (let agent = 0; agent < agents; agent++) {
      const offset = Math.floor((agent * intervalSeconds * 1000) / agents);
      this.at(start + offset, `beat:${agent}`, () => this.beat(agent));
    }
    const periodMs = this.options.reconcileMinutes * 60_000;
    const runReconciler = async () => {
      this.counts.reconcilerRuns++;
      await this.reconcile(undefined, ampleContext(`reconcile-${this.counts.reconcilerRuns}`)).catch(
        () => undefined,
      );
      this.at(this.now + periodMs, 'reconcile', runReconciler);
    };
    this.at(start + periodMs, 'reconcile', runReconciler);

    const { freeze } = this.options;
    for (let next = this.events.peek(); next !== undefined && next.at <= untilMs; next = this.events.peek()) {
      this.events.delete(next.key);
      if (
        freeze !== undefined &&
        !next.key.startsWith('beat:') &&
        next.at >= freeze.from &&
        next.at < freeze.to
      ) {
        this.events.set(next.key, freeze.to, next.value); // late, at the resume
        continue;
      }
      this.now = next.at;
      await next.value();
    }
    this.now = untilMs;
    return this.report(untilMs);
  }

  private async beat(agent: number): Promise<void> {
    const silentFrom = this.options.silentFrom?.(agent) ?? Number.POSITIVE_INFINITY;
    if (this.now >= silentFrom) return;
    const agentId = this.agentId(agent);
    const frozen =
      this.options.freeze !== undefined &&
      this.now >= this.options.freeze.from &&
      this.now < this.options.freeze.to;
    if (frozen || this.options.ingestDown?.(this.now) === true) {
      this.counts.failed++;
      this.counts.worstStatus = Math.max(this.counts.worstStatus, 503);
      this.at(this.now + this.options.intervalSeconds * 1000, `beat:${agent}`, () => this.beat(agent));
      return;
    }
    const response = await this.ingest(heartbeatEvent({ agentId }), ampleContext());
    if (response.statusCode === 200) {
      this.counts.ok++;
      this.lastAck.set(agentId, Date.parse((JSON.parse(response.body) as { lastSeen: string }).lastSeen));
    } else {
      this.counts.failed++;
      this.counts.worstStatus = Math.max(this.counts.worstStatus, response.statusCode);
    }
    this.at(this.now + this.options.intervalSeconds * 1000, `beat:${agent}`, () => this.beat(agent));
  }

  private report(untilMs: number): FleetReport {
    const ttlMs = this.options.ttlSeconds * 1000;
    const bound = this.precisionMs + this.options.reconcileMinutes * 60_000;
    const lines = this.log.withMessage('agent expired').map((line) => ({
      agentId: String(line.attributes.agentId),
      lastSeen: Date.parse(String(line.attributes.lastSeen)),
      detectedAt: Date.parse(String(line.attributes.detectedAt)),
    }));
    let falseExpiries = 0;
    let missed = 0;
    let worstLate = 0;
    for (let agent = 0; agent < this.options.agents; agent++) {
      const agentId = this.agentId(agent);
      const last = this.lastAck.get(agentId);
      const mine = lines.filter((line) => line.agentId === agentId);
      // False: declared on an older lastSeen than a heartbeat already answered by then.
      falseExpiries += mine.filter(
        (line) => last !== undefined && line.lastSeen < last && line.detectedAt >= last,
      ).length;
      if (last === undefined) continue;
      const due = last + ttlMs;
      const final = mine.find((line) => line.lastSeen === last);
      if (final === undefined) {
        if (untilMs > due + bound) missed++;
        continue;
      }
      worstLate = Math.max(worstLate, final.detectedAt - due);
    }
    return {
      heartbeats: { ok: this.counts.ok, failed: this.counts.failed, worstStatus: this.counts.worstStatus },
      falseExpiries,
      missedExpiries: missed,
      expired: new Set(lines.map((line) => line.agentId)).size,
      worstLateSeconds: worstLate / 1000,
      scheduleCalls: this.scheduler.calls,
      scheduleFailures: this.scheduler.failures,
      expiryInvocations: this.counts.invocations,
      deadLettered: this.counts.deadLettered,
      reconcilerRuns: this.counts.reconcilerRuns,
    };
  }
}

/** EventBridge Scheduler as the fleet sees it: named one-time schedules that delete themselves after firing. */
class SimulatedScheduler implements ExpiryScheduler {
  calls = 0;
  failures = 0;
  private readonly schedules = new Map<string, ScheduleRequest>();

  constructor(
    private readonly fleet: SimulatedFleet,
    private readonly options: FleetOptions,
  ) {}

  async upsert(request: ScheduleRequest, _options?: CallOptions): Promise<void> {
    this.call();
    this.schedules.set(request.name, request);
    // at() takes whole seconds; a time already due fires a few seconds from now.
    const fireAt = Math.max(Math.ceil(request.fireAt / 1000) * 1000, this.fleet.clock.now() + 5_000);
    this.fleet.at(fireAt, `fire:${request.name}`, () => this.fire(request.name));
  }

  async delete(name: string, _options?: CallOptions): Promise<void> {
    this.call();
    this.schedules.delete(name);
    this.fleet.cancel(`fire:${name}`);
  }

  private call(): void {
    this.calls++;
    if (this.options.schedulerDown?.(this.fleet.clock.now()) === true) {
      this.failures++;
      throw new BackendUnavailableError('scheduler', 'simulated Scheduler API brownout');
    }
  }

  private async fire(name: string): Promise<void> {
    const request = this.schedules.get(name);
    if (request === undefined) return;
    const afterReturn = this.options.deleteAfterFire === 'after-return';
    if (!afterReturn) this.schedules.delete(name);
    if (this.options.dropFiring?.(this.fleet.clock.now(), request.payload.agentId) === true) {
      this.schedules.delete(name);
      return;
    }
    // Deleted once the invocation has returned, if so configured: whatever the handler wrote
    // under this name meanwhile goes with it.
    this.fleet.invokeExpiry(request.payload, () => {
      if (!afterReturn) return;
      this.schedules.delete(name);
      this.fleet.cancel(`fire:${name}`);
    });
  }
}
