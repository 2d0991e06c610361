import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryAgentStore } from '../../functions/adapters/memory/agent-store.js';
import { UNLIMITED } from '../../functions/core/budget.js';
import { deregisterAgent } from '../../functions/core/deregister.js';
import { eventSchemaDocuments, schemaFileOf } from '../../functions/core/event-schema-documents.js';
import type { DetailType } from '../../functions/core/event-schemas.js';
import { BackendUnavailableError } from '../../functions/core/errors.js';
import { MAX_OUTBOX, appendEvents, eventIdOf } from '../../functions/core/events.js';
import { handleExpiry } from '../../functions/core/handle-expiry.js';
import { createWindow, endWindow } from '../../functions/core/maintenance-windows.js';
import type { PublishedEvent } from '../../functions/core/ports.js';
import type { OutboxEvent } from '../../functions/core/agent.js';
import { reap } from '../../functions/core/reap.js';
import { reconcile } from '../../functions/core/reconcile.js';
import { recordHeartbeat } from '../../functions/core/record-heartbeat.js';
import {
  FakeClock,
  RecordingLog,
  RecordingPublisher,
  RecordingScheduler,
  coreDeps,
  makeHeartbeat,
} from '../support/fakes.js';

// Events for every transition (issue 10, item 4): published after the transition commits, at
// least once, each valid against the schema committed in docs/events/.

const folder = new URL('../../docs/events/', import.meta.url);
const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats.default(ajv);
const validators = new Map(
  Object.keys(eventSchemaDocuments()).map((file) => [
    file,
    ajv.compile(JSON.parse(readFileSync(new URL(file, folder), 'utf8')) as object),
  ]),
);

function expectValid(event: PublishedEvent): void {
  const validate = validators.get(schemaFileOf(event.detailType));
  expect(validate, event.detailType).toBeDefined();
  const valid = validate?.(JSON.parse(JSON.stringify(event.detail)));
  expect(validate?.errors ?? [], `${event.detailType}: ${JSON.stringify(event.detail)}`).toEqual([]);
  expect(valid).toBe(true);
  expect(event.detail.eventId).toBe(event.id);
}

const TTL = 60;

function setup() {
  const clock = new FakeClock();
  const store = new MemoryAgentStore();
  const scheduler = new RecordingScheduler();
  const log = new RecordingLog();
  const events = new RecordingPublisher();
  const deps = { ...coreDeps({ store, scheduler, clock, log }), events, maintenance: store };
  let requests = 0;
  const beat = (status: 'pass' | 'warn' | 'fail' = 'pass', by = `req-${++requests}`) =>
    recordHeartbeat(
      deps,
      makeHeartbeat({
        agentId: 'web-1',
        ttlSeconds: TTL,
        intervalSeconds: 20,
        checks: [{ name: 'disk', status, output: `disk ${status}` }],
        labels: { rack: 'r1' },
      }),
      UNLIMITED,
      by,
    );
  const reconcileNow = (committedBefore?: number) =>
    reconcile(
      { ...deps, checkpoints: store },
      {
        invocationId: `run-${clock.now()}`,
        budget: UNLIMITED,
        precisionMs: 1000,
        reportGraceMs: 30_000,
        ...(committedBefore === undefined ? {} : { reportCommittedBefore: committedBefore }),
      },
    );
  return { clock, store, log, events, deps, beat, reconcileNow };
}

describe('the committed event schemas', () => {
  it('docs/events/ holds what the schemas generate (run `npm run event-schemas` after changing one)', () => {
    for (const [file, document] of Object.entries(eventSchemaDocuments())) {
      expect(JSON.parse(readFileSync(new URL(file, folder), 'utf8')), file).toEqual(document);
    }
  });

  it('reject what is not an event of theirs: a missing field, a stray one, a time that is not ISO', () => {
    const validate = validators.get(schemaFileOf('Agent Deregistered'));
    const good = {
      eventId: 'e',
      agentId: 'web-1',
      labels: {},
      at: '2026-12-03T10:00:00.000Z',
      previousState: 'alive',
      lastSeen: '2026-12-03T09:59:00.000Z',
      deregisteredBy: 'req-1',
    };
    expect(validate?.(good)).toBe(true);
    expect(validate?.({ ...good, agentId: undefined })).toBe(false);
    expect(validate?.({ ...good, extra: 1 })).toBe(false);
    expect(validate?.({ ...good, at: 'yesterday' })).toBe(false);
  });
});

describe('events for every transition', () => {
  it('publishes exactly the transitions that committed, in order, once each, every one valid against its schema', async () => {
    const s = setup();
    await s.beat('pass'); // registered
    await s.beat('pass'); // nothing changed
    await s.beat('fail'); // disk: pass -> fail
    s.clock.advance(TTL + 1);
    await handleExpiry(s.deps, 'web-1', 'fire-1', UNLIMITED); // expired
    await handleExpiry(s.deps, 'web-1', 'fire-2', UNLIMITED); // a second delivery: nothing
    await s.beat('pass'); // recovered, and disk: fail -> pass
    await deregisterAgent(s.deps, 'web-1', 'op-1', UNLIMITED); // deregistered
    await deregisterAgent(s.deps, 'web-1', 'op-2', UNLIMITED); // again: nothing
    await s.beat('pass'); // registered again
    await deregisterAgent(s.deps, 'web-1', 'op-3', UNLIMITED);
    s.clock.advance(8 * 24 * 3600);
    await reap(
      { ...s.deps, checkpoints: s.store, deleter: s.store },
      {
        reapAfterMs: 7 * 24 * 3_600_000,
        invocationId: 'reap-1',
        budget: UNLIMITED,
      },
    ); // reaped
    const window = await createWindow(
      s.deps,
      {
        selector: { labels: { rack: 'r1' } },
        end: new Date(s.clock.now() + 600_000).toISOString(),
        reason: 'x',
      },
      'oncall',
      UNLIMITED,
    ); // maintenance entered
    if (window.kind === 'created') await endWindow(s.deps, window.window.id, UNLIMITED); // left

    expect(s.events.types()).toEqual([
      'Agent Registered',
      'Check Status Changed',
      'Agent Expired',
      'Agent Recovered',
      'Check Status Changed',
      'Agent Deregistered',
      'Agent Registered',
      'Agent Deregistered',
      'Agent Reaped',
      'Maintenance Entered',
      'Maintenance Left',
    ] satisfies DetailType[]);
    for (const event of s.events.published) expectValid(event);
    expect(new Set(s.events.published.map((event) => event.id)).size).toBe(s.events.published.length);
    expect(s.events.published[1]?.detail).toMatchObject({ check: 'disk', from: 'pass', to: 'fail' });
    expect(s.events.published[6]?.detail).toMatchObject({ reregistered: true });
    // Each event's line, once: the on-call lines are the events' lines.
    expect(s.log.withMessage('agent expired')).toHaveLength(1);
    expect(s.log.withMessage('check status changed')).toHaveLength(2);
  });

  it('a bus that is down fails no heartbeat and no expiry; the reconciler publishes what waited, once, with no second line', async () => {
    const s = setup();
    s.events.failing = true;
    await expect(s.beat('pass')).resolves.toMatchObject({ outcome: 'registered' });
    s.clock.advance(TTL + 1);
    await expect(handleExpiry(s.deps, 'web-1', 'fire-1', UNLIMITED)).resolves.toMatchObject({
      result: { kind: 'expired' },
    });
    expect(s.events.published).toEqual([]);
    expect(s.log.withMessage('events not published')).toHaveLength(2);
    const waiting = (await s.store.get('web-1'))?.record.outbox;
    expect(waiting?.map((event) => [event.type, event.logged])).toEqual([
      ['agent.registered', true],
      ['agent.expired', true],
    ]);

    s.events.failing = false;
    s.clock.advance(31); // past the reconciler's grace: their committers are done
    await s.reconcileNow();
    await s.reconcileNow();
    expect(s.events.types()).toEqual(['Agent Registered', 'Agent Expired']);
    expect(s.log.withMessage('agent registered')).toHaveLength(1);
    expect(s.log.withMessage('agent expired')).toHaveLength(1);
    expect((await s.store.get('web-1'))?.record.outbox).toEqual([]);
  });

  it('a duplicate heartbeat (same boot, an old seq) publishes nothing', async () => {
    const s = setup();
    const beat = (seq: number, status: 'pass' | 'fail') =>
      recordHeartbeat(
        s.deps,
        makeHeartbeat({ agentId: 'web-1', seq, checks: [{ name: 'disk', status }] }),
        UNLIMITED,
        `req-${seq}-${status}`,
      );
    await beat(2, 'pass');
    await beat(1, 'fail'); // late: stale, changes nothing
    expect(s.events.types()).toEqual(['Agent Registered']);
  });
});

describe('events under bus and store faults (property)', () => {
  type Op =
    | { kind: 'beat'; status: 'pass' | 'fail' }
    | { kind: 'silence' }
    | { kind: 'deregister' }
    | { kind: 'bus'; down: boolean }
    | { kind: 'storeFault'; timing: 'before' | 'after' };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      kind: fc.constant('beat' as const),
      status: fc.constantFrom('pass' as const, 'fail' as const),
    }),
    fc.constant({ kind: 'silence' as const }),
    fc.constant({ kind: 'deregister' as const }),
    fc.record({ kind: fc.constant('bus' as const), down: fc.boolean() }),
    fc.record({
      kind: fc.constant('storeFault' as const),
      timing: fc.constantFrom('before' as const, 'after' as const),
    }),
  );

  it('every committed transition is published at least once, and nothing else ever is', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
        const s = setup();
        // An independent model of what commits: the agent's state and its one check's status.
        let model: { state: 'alive' | 'expired' | 'deregistered'; disk: string } | undefined;
        const expected = new Set<string>();
        const expect1 = (key: string) => expected.add(eventIdOf('web-1', key));
        let n = 0;
        for (const step of ops) {
          const by = `inv-${++n}`;
          if (step.kind === 'bus') s.events.failing = step.down;
          if (step.kind === 'storeFault') {
            s.store.failNext('replace', new BackendUnavailableError('store', 'injected'), step.timing);
          }
          if (step.kind === 'beat') {
            const committed = await s.beat(step.status, by).then(
              () => true,
              () => false,
            );
            if (!committed) continue;
            if (model === undefined || model.state === 'deregistered') expect1(`agent.registered/${by}`);
            else {
              if (model.state === 'expired') expect1(`agent.recovered/${by}`);
              if (model.disk !== step.status) expect1(`check.changed/${by}/disk`);
            }
            model = { state: 'alive', disk: step.status };
          }
          if (step.kind === 'silence') {
            s.clock.advance(TTL + 1);
            const outcome = await handleExpiry(s.deps, 'web-1', by, UNLIMITED).catch(() => undefined);
            if (outcome?.result.kind === 'expired' && model !== undefined) {
              expect1(`agent.expired/${by}`);
              model = { ...model, state: 'expired' };
            }
          }
          if (step.kind === 'deregister') {
            const result = await deregisterAgent(s.deps, 'web-1', by, UNLIMITED).catch(() => undefined);
            if (result?.kind === 'deregistered' && !result.already && model !== undefined) {
              expect1(`agent.deregistered/${by}`);
              model = { ...model, state: 'deregistered' };
            }
          }
        }
        // The bus and the store back; a reconciler run at a process start delivers what is left.
        s.events.failing = false;
        s.store.clearFaults();
        s.clock.advance(1);
        const run = await s.reconcileNow(s.clock.now());
        // It may find a due agent whose firing failed: that expiry is its own transition.
        if (run.expired > 0) expect1(`agent.expired/run-${s.clock.now()}`);

        const published = new Set(s.events.published.map((event) => event.id));
        for (const id of expected) expect(published, `missing ${id}`).toContain(id);
        for (const id of published) expect(expected, `invented ${id}`).toContain(id);
        expect((await s.store.get('web-1'))?.record.outbox ?? []).toEqual([]);
      }),
      { numRuns: 300, seed: 20261203 },
    );
  });
});

describe('the outbox bound', () => {
  const event = (n: number, logged: boolean): OutboxEvent => ({
    type: 'check.changed',
    by: `req-${n}`,
    at: n,
    check: `c${n}`,
    from: 'pass',
    to: 'fail',
    ...(logged ? { logged: true as const } : {}),
  });

  it('drops only the oldest events already logged, never one not yet delivered', () => {
    const backlog = Array.from({ length: MAX_OUTBOX }, (_, n) => event(n, true));
    // A heartbeat that recovers an agent and flips 50 checks: all of its events are kept.
    const fresh: OutboxEvent[] = [
      {
        type: 'agent.recovered',
        by: 'req-new',
        at: 100,
        expiredAt: 50,
        deadline: 190,
        bootId: null,
        labels: {},
      },
      ...Array.from({ length: 50 }, (_, n) => event(100 + n, false)),
    ];
    const next = appendEvents(backlog, fresh);
    expect(next.filter((e) => e.logged !== true)).toHaveLength(51);
    expect(next.filter((e) => e.logged === true)).toHaveLength(MAX_OUTBOX);
    const more = appendEvents(next, [event(200, true)]);
    expect(more.filter((e) => e.logged === true).map((e) => e.by)).toEqual([
      ...backlog.slice(1).map((e) => e.by),
      'req-200',
    ]);
    expect(more.some((e) => e.type === 'agent.recovered')).toBe(true);
  });
});
