import { describe, expect, it } from 'vitest';
import { MemoryAgentStore } from '../../functions/adapters/memory/agent-store.js';
import { UNLIMITED } from '../../functions/core/budget.js';
import { decideExpiry } from '../../functions/core/decide-expiry.js';
import { BackendUnavailableError } from '../../functions/core/errors.js';
import { reconcile } from '../../functions/core/reconcile.js';
import { recordHeartbeat } from '../../functions/core/record-heartbeat.js';
import { MalformedExpiryEventError, makeExpiryHandler } from '../../functions/handlers/expiry.js';
import {
  FakeClock,
  RecordingLog,
  RecordingMetrics,
  RecordingScheduler,
  ampleContext,
  NO_GRACE,
  coreDeps,
  makeHeartbeat,
} from '../support/fakes.js';
import { FaultyStore } from '../support/faulty.js';

const EXPIRED = 'agent expired';

function setup() {
  const clock = new FakeClock();
  const store = new MemoryAgentStore();
  const scheduler = new RecordingScheduler();
  const log = new RecordingLog();
  const metrics = new RecordingMetrics();
  const core = coreDeps({ store, scheduler, clock, log, metrics });
  const expire = makeExpiryHandler({ core });
  const reconcileNow = (reportGraceMs: number) =>
    reconcile(
      { ...core, checkpoints: store },
      { invocationId: 'reconcile-1', budget: UNLIMITED, precisionMs: 1000, reportGraceMs },
    );
  return { clock, store, scheduler, log, metrics, core, expire, reconcileNow };
}

/** An agent whose deadline has just passed. */
async function silentAgent(s: ReturnType<typeof setup>) {
  await recordHeartbeat(s.core, makeHeartbeat({ ttlSeconds: 60, intervalSeconds: 20 }), UNLIMITED);
  s.clock.advance(61);
}

describe('every expiry reported, once (I5, I9)', () => {
  it('a retry with the same request id, after its first attempt committed the expiry and failed, writes the one line', async () => {
    const s = setup();
    await silentAgent(s);
    // The first attempt reads, commits (its answer lost), and cannot read back: it throws.
    const flaky = new FaultyStore(s.store, ['ok', 'after', 'before']);
    const firstAttempt = makeExpiryHandler({ core: { ...s.core, store: flaky } });
    const payload = { agentId: 'web-1' };
    await expect(firstAttempt(payload, ampleContext('req-1'))).rejects.toBeInstanceOf(
      BackendUnavailableError,
    );
    expect((await s.store.get('web-1'))?.record.state).toBe('expired');
    expect(s.log.withMessage(EXPIRED)).toHaveLength(0);

    // Lambda retries the invocation with the same request id: it finds its own expiry and reports it.
    await s.expire(payload, ampleContext('req-1'));
    await s.expire(payload, ampleContext('req-1')); // and once only
    expect(s.log.withMessage(EXPIRED)).toHaveLength(1);
    expect(s.log.withMessage(EXPIRED)[0]?.attributes).toMatchObject({
      expiredBy: 'req-1',
      detectedBy: 'schedule',
    });
    expect(s.metrics.counts.get('AgentsExpired')).toBe(1);
    expect((await s.store.get('web-1'))?.record.outbox).toEqual([]);
  });

  it('two deliveries of one firing, with different request ids, write exactly one line', async () => {
    const s = setup();
    await silentAgent(s);
    await Promise.all([
      s.expire({ agentId: 'web-1' }, ampleContext('a')),
      s.expire({ agentId: 'web-1' }, ampleContext('b')),
    ]);
    await s.expire({ agentId: 'web-1' }, ampleContext('c'));
    expect(s.log.withMessage(EXPIRED)).toHaveLength(1);
  });

  it('an expiry whose process died between the commit and the line is reported by the reconciler, once its committer must be done', async () => {
    const s = setup();
    await silentAgent(s);
    const decision = await commitWithoutDelivering(s);

    await s.reconcileNow(5 * 60_000); // too fresh: its committer may still be writing the line
    expect(s.log.withMessage(EXPIRED)).toHaveLength(0);
    s.clock.advance(5 * 60);
    const report = await s.reconcileNow(5 * 60_000);
    expect(report.reported).toBe(1);
    expect(s.log.withMessage(EXPIRED)[0]?.attributes).toMatchObject({
      agentId: 'web-1',
      expiredBy: 'dead-invocation',
      expiredAt: new Date(decision.next.expiredAt ?? 0).toISOString(),
    });
    await s.reconcileNow(0);
    expect(s.log.withMessage(EXPIRED)).toHaveLength(1);
  });

  it('an undelivered expiry survives the agent recovering, and is still reported', async () => {
    const s = setup();
    await silentAgent(s);
    await commitWithoutDelivering(s);
    const recovered = await recordHeartbeat(
      s.core,
      makeHeartbeat({ ttlSeconds: 60, intervalSeconds: 20 }),
      UNLIMITED,
    );
    expect(recovered.outcome).toBe('recovered');
    // Its own event (recovered) delivered at once; the expiry's left to whoever committed it.
    expect((await s.store.get('web-1'))?.record.outbox.map((event) => event.type)).toEqual(['agent.expired']);

    await s.reconcileNow(0); // a process start: nothing else can be delivering it
    expect(s.log.withMessage(EXPIRED)).toHaveLength(1);
    expect((await s.store.get('web-1'))?.record).toMatchObject({ state: 'alive', outbox: [] });
  });

  it('writes the line with what on-call needs', async () => {
    const s = setup();
    await recordHeartbeat(
      s.core,
      makeHeartbeat({
        ttlSeconds: 60,
        intervalSeconds: 20,
        checks: [
          { name: 'disk', status: 'fail', output: '97% used' },
          { name: 'port-443', status: 'pass' },
        ],
        labels: { rack: 'r12' },
      }),
      UNLIMITED,
    );
    const lastSeen = s.clock.now();
    s.clock.advance(62.5);
    await s.expire(
      { agentId: 'web-1', armedFor: new Date(lastSeen + 60_000).toISOString() },
      ampleContext('req-9'),
    );
    const [line] = s.log.withMessage(EXPIRED);
    expect(line?.level).toBe('warn');
    expect(line?.attributes).toEqual({
      eventId: expect.stringMatching(/^[0-9a-f]{32}$/),
      agentId: 'web-1',
      lastSeen: new Date(lastSeen).toISOString(),
      ttlSeconds: 60,
      expiredAt: new Date(lastSeen + 60_000).toISOString(),
      detectedAt: new Date(lastSeen + 62_500).toISOString(),
      lateBySeconds: 2.5,
      detectedBy: 'schedule',
      bootId: 'boot-1',
      failingChecks: [{ name: 'disk', status: 'fail', output: '97% used' }],
      labels: { rack: 'r12' },
      expiredBy: 'req-9',
      suspectedPipelineOutage: false,
      massExpiry: false,
    });
  });
});

describe('a malformed expiry event', () => {
  it('is an error (Lambda retries it, then dead-letters it where the alarm sees it), not a silent success', async () => {
    const s = setup();
    for (const event of [{}, { agentId: '' }, { agentId: 42 }, 'web-1', null]) {
      await expect(s.expire(event, ampleContext('req-1'))).rejects.toBeInstanceOf(MalformedExpiryEventError);
    }
    expect(s.log.withMessage('malformed expiry event')).toHaveLength(5);
  });

  it('needs only the agentId', async () => {
    const s = setup();
    await silentAgent(s);
    await s.expire({ agentId: 'web-1' }, ampleContext('req-1'));
    expect((await s.store.get('web-1'))?.record.state).toBe('expired');
  });
});

/**
 * What a process killed right after committing an expiry leaves: the expiry stored with its
 * undelivered event, and no line.
 */
async function commitWithoutDelivering(s: ReturnType<typeof setup>) {
  const stored = await s.store.get('web-1');
  const decision = decideExpiry(
    stored?.record ?? never(),
    s.clock.now(),
    'dead-invocation',
    'schedule',
    NO_GRACE,
  );
  if (decision.kind !== 'expire') throw new Error('expected an expiry');
  await s.store.replace(decision.next, stored?.version ?? never());
  return decision;
}

function never(): never {
  throw new Error('unreachable in this test');
}
