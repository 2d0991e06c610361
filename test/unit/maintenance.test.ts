import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryAgentStore } from '../../functions/adapters/memory/agent-store.js';
import { UNLIMITED } from '../../functions/core/budget.js';
import { BackendUnavailableError } from '../../functions/core/errors.js';
import { type ExpiryOutcome, HELD_MESSAGE, handleExpiry } from '../../functions/core/handle-expiry.js';
import { MAINTENANCE_LIMITS } from '../../functions/core/maintenance.js';
import {
  announceWindows,
  createWindow,
  endWindow,
  listOpenWindows,
  prune,
} from '../../functions/core/maintenance-windows.js';
import { reconcile } from '../../functions/core/reconcile.js';
import { recordHeartbeat } from '../../functions/core/record-heartbeat.js';
import { scheduleNameFor } from '../../functions/core/schedule-name.js';
import { expiresAt } from '../../functions/core/timing.js';
import {
  FakeClock,
  RecordingLog,
  RecordingPublisher,
  RecordingScheduler,
  coreDeps,
  makeHeartbeat,
} from '../support/fakes.js';
import { interleaved } from '../support/interleaved.js';
import { makeWindow } from '../support/maintenance-contract.js';

const TTL = 60;
const iso = (ms: number) => new Date(ms).toISOString();

function setup() {
  const clock = new FakeClock();
  const store = new MemoryAgentStore();
  const scheduler = new RecordingScheduler();
  const log = new RecordingLog();
  const events = new RecordingPublisher();
  const deps = { ...coreDeps({ store, scheduler, clock, log }), events, maintenance: store };
  const beat = (agentId: string, labels: Record<string, string> = {}) =>
    recordHeartbeat(
      deps,
      makeHeartbeat({ agentId, ttlSeconds: TTL, intervalSeconds: 20, labels }),
      UNLIMITED,
    );
  /** Fires every schedule that is due now, as the scheduler would (each deleted after it fires). */
  const fireDue = async () => {
    for (const [name, request] of [...scheduler.schedules]) {
      if (request.fireAt > clock.now()) continue;
      scheduler.schedules.delete(name);
      await handleExpiry(deps, request.payload.agentId, `fire-${name}-${clock.now()}`, UNLIMITED);
    }
  };
  /** Moves time on a second at a time, firing what falls due. */
  const runFor = async (seconds: number) => {
    for (let i = 0; i < seconds; i++) {
      clock.advance(1);
      await fireDue();
    }
  };
  const state = async (agentId: string) => (await store.get(agentId))?.record;
  const window = (body: Parameters<typeof createWindow>[1]) => createWindow(deps, body, 'oncall', UNLIMITED);
  const reconcileNow = () =>
    reconcile(
      { ...deps, checkpoints: store },
      { invocationId: `run-${clock.now()}`, budget: UNLIMITED, precisionMs: 1000, reportGraceMs: 30_000 },
    );
  return { clock, store, scheduler, log, events, deps, beat, runFor, state, window, reconcileNow };
}

describe('an agent silent through a maintenance window', () => {
  it('is never expired during it, and expires at the end plus its TTL if still silent', async () => {
    const s = setup();
    await s.beat('web-1');
    const lastSeen = s.clock.now();
    const end = lastSeen + 600_000;
    const created = await s.window({
      selector: { agentIds: ['web-1'] },
      end: iso(end),
      reason: 'kernel update',
    });
    expect(created.kind).toBe('created');

    await s.runFor(600 + TTL - 1); // through the window, and all but the last second of the TTL after
    expect((await s.state('web-1'))?.state).toBe('alive');
    expect(s.log.withMessage(HELD_MESSAGE)).toEqual([
      expect.objectContaining({
        attributes: expect.objectContaining({ agentId: 'web-1', deadline: iso(end + TTL * 1000) }),
      }),
    ]);
    expect((await s.state('web-1'))?.maintenance).toEqual({
      windowId: created.kind === 'created' ? created.window.id : '',
      until: end,
    });

    await s.runFor(2);
    const expired = await s.state('web-1');
    expect(expired).toMatchObject({ state: 'expired', expiredAt: end + TTL * 1000 });
    expect(expired?.maintenance).toBeUndefined();
    expect(s.log.withMessage('agent expired')).toHaveLength(1);
  });

  it('still has what it reports recorded, and a heartbeat ends its hold', async () => {
    const s = setup();
    await s.beat('web-1');
    await s.window({ selector: { agentIds: ['web-1'] }, end: iso(s.clock.now() + 600_000), reason: 'patch' });
    await s.runFor(TTL + 5);
    expect((await s.state('web-1'))?.maintenance).toBeDefined();

    await s.beat('web-1');
    const record = await s.state('web-1');
    expect(record).toMatchObject({ state: 'alive', lastSeen: s.clock.now() });
    expect(record?.maintenance).toBeUndefined();
    expect(record?.deadline).toBe(s.clock.now() + TTL * 1000);
  });

  it('expires at its own deadline when that falls after the window', async () => {
    const s = setup();
    await s.beat('web-1');
    const deadline = s.clock.now() + TTL * 1000;
    await s.window({ selector: { agentIds: ['web-1'] }, end: iso(s.clock.now() + 10_000), reason: 'short' });
    await s.runFor(TTL + 1);
    expect(await s.state('web-1')).toMatchObject({ state: 'expired', expiredAt: deadline });
    expect(s.log.withMessage(HELD_MESSAGE)).toEqual([]);
  });

  it('a window by labels covers exactly the agents whose reported labels all match', async () => {
    const s = setup();
    await s.beat('r12-a', { rack: 'r12', role: 'web' });
    await s.beat('r12-b', { rack: 'r12', role: 'db' });
    await s.beat('r13-a', { rack: 'r13', role: 'web' });
    await s.beat('bare');
    await s.window({
      selector: { labels: { rack: 'r12', role: 'web' } },
      end: iso(s.clock.now() + 600_000),
      reason: 'rack r12 web tier',
    });
    await s.runFor(TTL + 5);
    const states = Object.fromEntries(
      await Promise.all(
        ['r12-a', 'r12-b', 'r13-a', 'bare'].map(async (id) => [id, (await s.state(id))?.state]),
      ),
    );
    expect(states).toEqual({ 'r12-a': 'alive', 'r12-b': 'expired', 'r13-a': 'expired', bare: 'expired' });
  });

  it('a window that has not started yet covers nothing', async () => {
    const s = setup();
    await s.beat('web-1');
    const start = s.clock.now() + 120_000;
    await s.window({
      selector: { agentIds: ['web-1'] },
      start: iso(start),
      end: iso(start + 600_000),
      reason: 'later',
    });
    await s.runFor(TTL + 5);
    expect((await s.state('web-1'))?.state).toBe('expired');
  });

  it('ended early: a held agent expires at the actual end plus its TTL, once the reconciler has looked', async () => {
    const s = setup();
    await s.beat('web-1');
    const created = await s.window({
      selector: { agentIds: ['web-1'] },
      end: iso(s.clock.now() + 3_600_000),
      reason: 'long',
    });
    if (created.kind !== 'created') throw new Error('not created');
    await s.runFor(TTL + 30);
    expect((await s.state('web-1'))?.state).toBe('alive');

    const endedAt = s.clock.now();
    expect(await endWindow(s.deps, created.window.id, UNLIMITED)).toMatchObject({
      kind: 'ended',
      already: false,
    });
    await s.reconcileNow(); // moves its deadline back to the actual end plus the TTL
    expect((await s.state('web-1'))?.deadline).toBe(endedAt + TTL * 1000);

    await s.runFor(TTL + 5);
    expect(await s.state('web-1')).toMatchObject({ state: 'expired', expiredAt: endedAt + TTL * 1000 });
  });

  it('a firing that comes only after the window (its timer lost): the end plus the TTL, never the deadline inside it', async () => {
    const s = setup();
    await s.beat('web-1');
    const deadline = s.clock.now() + TTL * 1000;
    const end = s.clock.now() + 30_000 + TTL * 1000; // the deadline falls inside the window
    await s.window({ selector: { agentIds: ['web-1'] }, end: iso(end), reason: 'reboot' });
    s.scheduler.schedules.clear(); // the schedule is lost: nothing fires during the window
    s.clock.ms = end + 5 * TTL * 1000; // the reconciler, long after
    await s.reconcileNow();
    const record = await s.state('web-1');
    expect(record).toMatchObject({ state: 'expired', expiredAt: end + TTL * 1000 });
    expect(record?.expiredAt).not.toBe(deadline);

    // And one whose late look comes within the end plus the TTL is held until then.
    await s.beat('web-2');
    const end2 = s.clock.now() + 30_000 + TTL * 1000;
    await s.window({ selector: { agentIds: ['web-2'] }, end: iso(end2), reason: 'reboot' });
    s.scheduler.schedules.clear();
    s.clock.ms = end2 + 10_000;
    await s.reconcileNow();
    expect(await s.state('web-2')).toMatchObject({ state: 'alive', deadline: end2 + TTL * 1000 });
  });

  it('two agents, one covered: only the other expires on time', async () => {
    const s = setup();
    await s.beat('web-1');
    await s.beat('web-2');
    await s.window({ selector: { agentIds: ['web-1'] }, end: iso(s.clock.now() + 600_000), reason: 'one' });
    await s.runFor(TTL + 5);
    expect((await s.state('web-1'))?.state).toBe('alive');
    expect((await s.state('web-2'))?.state).toBe('expired');
  });

  it('an unreadable window document fails the firing rather than expiring on a guess', async () => {
    const s = setup();
    await s.beat('web-1');
    s.clock.advance(TTL + 1);
    s.store.failNext('readWindows', new BackendUnavailableError('store', 'down'));
    await expect(handleExpiry(s.deps, 'web-1', 'fire-1', UNLIMITED)).rejects.toBeInstanceOf(
      BackendUnavailableError,
    );
    expect((await s.state('web-1'))?.state).toBe('alive');
  });
});

describe('creating, listing and ending windows', () => {
  it('starts a window without a start (or with one in the past) now, and lists active and upcoming ones', async () => {
    const s = setup();
    const now = s.clock.now();
    const a = await s.window({ selector: { agentIds: ['web-1'] }, end: iso(now + 60_000), reason: 'a' });
    const b = await s.window({
      selector: { labels: { rack: 'r1' } },
      start: iso(now - 3_600_000),
      end: iso(now + 60_000),
      reason: 'b',
    });
    const c = await s.window({
      selector: { labels: { rack: 'r2' } },
      start: iso(now + 600_000),
      end: iso(now + 900_000),
      reason: 'c',
    });
    expect([a, b, c].map((r) => r.kind)).toEqual(['created', 'created', 'created']);
    if (b.kind === 'created') expect(b.window.start).toBe(now);
    expect((await listOpenWindows(s.deps, UNLIMITED)).map((w) => w.reason)).toEqual(['a', 'b', 'c']);

    s.clock.advance(120);
    expect((await listOpenWindows(s.deps, UNLIMITED)).map((w) => w.reason)).toEqual(['c']);
  });

  it('refuses an end before the start, a window over 7 days, and a start over 90 days ahead, by field', async () => {
    const s = setup();
    const now = s.clock.now();
    const sel = { agentIds: ['web-1'] };
    expect(await s.window({ selector: sel, end: iso(now - 1000), reason: 'x' })).toMatchObject({
      kind: 'invalid',
      problems: [{ pointer: '/end' }],
    });
    expect(await s.window({ selector: sel, end: iso(now + 8 * 24 * 3_600_000), reason: 'x' })).toMatchObject({
      kind: 'invalid',
      problems: [{ pointer: '/end', detail: 'a window lasts at most 7 days (end - start)' }],
    });
    const far = now + 91 * 24 * 3_600_000;
    expect(
      await s.window({ selector: sel, start: iso(far), end: iso(far + 1000), reason: 'x' }),
    ).toMatchObject({
      kind: 'invalid',
      problems: [{ pointer: '/start' }],
    });
    expect((await s.store.readWindows()).windows).toEqual([]);
  });

  it(`refuses a window past ${MAINTENANCE_LIMITS.openWindows} open ones, and accepts one again when one ends`, async () => {
    const s = setup();
    const end = iso(s.clock.now() + 600_000);
    const ids: string[] = [];
    for (let i = 0; i < MAINTENANCE_LIMITS.openWindows; i++) {
      const r = await s.window({ selector: { agentIds: [`a-${i}`] }, end, reason: `w${i}` });
      if (r.kind === 'created') ids.push(r.window.id);
    }
    expect(ids).toHaveLength(MAINTENANCE_LIMITS.openWindows);
    const refused = await s.window({ selector: { agentIds: ['x'] }, end, reason: 'one too many' });
    expect(refused).toMatchObject({ kind: 'limit', detail: expect.stringContaining('at most 20') });

    await endWindow(s.deps, ids[0] ?? '', UNLIMITED);
    expect((await s.window({ selector: { agentIds: ['x'] }, end, reason: 'room again' })).kind).toBe(
      'created',
    );
  });

  it('a write that landed though its answer was lost makes one window, not two', async () => {
    const s = setup();
    s.store.failNext('writeWindows', new BackendUnavailableError('store', 'timed out'), 'after');
    const r = await s.window({
      selector: { agentIds: ['web-1'] },
      end: iso(s.clock.now() + 600_000),
      reason: 'x',
    });
    expect(r.kind).toBe('created');
    expect((await s.store.readWindows()).windows).toHaveLength(1);
  });

  it('a window stored but not yet announceable is still created (the reconciler announces it)', async () => {
    const s = setup();
    let reads = 0;
    const flaky = {
      readWindows: async () => {
        if (++reads === 2) throw new BackendUnavailableError('store', 'down a moment');
        return s.store.readWindows();
      },
      writeWindows: (windows: Parameters<typeof s.store.writeWindows>[0], version: string | null) =>
        s.store.writeWindows(windows, version),
    };
    const r = await createWindow(
      { ...s.deps, maintenance: flaky },
      { selector: { agentIds: ['web-1'] }, end: iso(s.clock.now() + 600_000), reason: 'x' },
      'oncall',
      UNLIMITED,
    );
    expect(r.kind).toBe('created');
    expect(s.events.types()).toEqual([]);
    await s.reconcileNow();
    expect(s.events.types()).toEqual(['Maintenance Entered']);
  });

  it('ends a window idempotently, and answers unknown for an id it never had', async () => {
    const s = setup();
    const r = await s.window({
      selector: { agentIds: ['web-1'] },
      end: iso(s.clock.now() + 600_000),
      reason: 'x',
    });
    if (r.kind !== 'created') throw new Error('not created');
    expect(await endWindow(s.deps, r.window.id, UNLIMITED)).toMatchObject({ kind: 'ended', already: false });
    s.clock.advance(5);
    expect(await endWindow(s.deps, r.window.id, UNLIMITED)).toMatchObject({
      kind: 'ended',
      already: true,
      window: { endedAt: s.clock.now() - 5000 },
    });
    expect(await endWindow(s.deps, 'no-such-window', UNLIMITED)).toEqual({ kind: 'unknown' });
  });

  it('keeps ended windows for a week and a day, without their agent lists once their end is announced', () => {
    const now = Date.UTC(2026, 5, 1);
    const recent = makeWindow({
      id: 'recent',
      end: now - 3_600_000,
      entered: 'published',
      left: 'published',
    });
    const old = makeWindow({
      id: 'old',
      end: now - MAINTENANCE_LIMITS.retainEndedMs - 1,
      entered: 'published',
      left: 'published',
    });
    const unannounced = makeWindow({ id: 'unannounced', end: now - MAINTENANCE_LIMITS.retainEndedMs - 1 });
    const open = makeWindow({ id: 'open', start: now - 1000, end: now + 3_600_000 });
    const kept = prune([recent, old, unannounced, open], now);
    expect(kept.map((w) => w.id)).toEqual(['recent', 'unannounced', 'open']);
    expect(kept[0]?.selector).toEqual({ labels: recent.selector.labels });
    expect(kept[1]?.selector).toEqual(unannounced.selector);
    expect(kept[2]?.selector).toEqual(open.selector);
  });
});

describe('maintenance events', () => {
  it('announces a window entered when it starts and left when it ends, each once', async () => {
    const s = setup();
    const now = s.clock.now();
    const r = await s.window({
      selector: { labels: { rack: 'r12' } },
      start: iso(now + 60_000),
      end: iso(now + 120_000),
      reason: 'rack',
    });
    expect(s.events.types()).toEqual([]);
    await s.runFor(60);
    await s.reconcileNow();
    expect(s.events.types()).toEqual(['Maintenance Entered']);
    await s.reconcileNow();
    await s.runFor(60);
    await s.reconcileNow();
    await s.reconcileNow();
    expect(s.events.types()).toEqual(['Maintenance Entered', 'Maintenance Left']);
    expect(s.events.published[1]?.detail).toMatchObject({
      windowId: r.kind === 'created' ? r.window.id : '',
      endedEarly: false,
      at: iso(now + 120_000),
      selector: { labels: { rack: 'r12' } },
    });
    expect(s.log.withMessage('maintenance window started')).toHaveLength(1);
    expect(s.log.withMessage('maintenance window ended')).toHaveLength(1);
  });

  it('announces at once a window that starts now, and its early end; a cancelled one never', async () => {
    const s = setup();
    const r = await s.window({
      selector: { agentIds: ['web-1'] },
      end: iso(s.clock.now() + 600_000),
      reason: 'x',
    });
    expect(s.events.types()).toEqual(['Maintenance Entered']);
    if (r.kind === 'created') await endWindow(s.deps, r.window.id, UNLIMITED);
    expect(s.events.types()).toEqual(['Maintenance Entered', 'Maintenance Left']);
    expect(s.events.published[1]?.detail).toMatchObject({ endedEarly: true });

    const later = await s.window({
      selector: { agentIds: ['web-1'] },
      start: iso(s.clock.now() + 60_000),
      end: iso(s.clock.now() + 600_000),
      reason: 'y',
    });
    if (later.kind === 'created') await endWindow(s.deps, later.window.id, UNLIMITED);
    await s.runFor(700);
    await s.reconcileNow();
    expect(s.events.types()).toEqual(['Maintenance Entered', 'Maintenance Left']);
  });

  it('a bus that is down: the line is written once, and the event published once the bus is back', async () => {
    const s = setup();
    s.events.failing = true;
    await s.window({ selector: { agentIds: ['web-1'] }, end: iso(s.clock.now() + 600_000), reason: 'x' });
    await s.reconcileNow();
    expect(s.events.published).toEqual([]);
    expect((await s.store.readWindows()).windows[0]?.entered).toBe('logged');
    s.events.failing = false;
    await s.reconcileNow();
    await s.reconcileNow();
    expect(s.events.types()).toEqual(['Maintenance Entered']);
    expect(s.log.withMessage('maintenance window started')).toHaveLength(1);
    expect(await announceWindows(s.deps, UNLIMITED)).toBe(0);
  });
});

describe('windows racing heartbeats and firings (property)', () => {
  it('a firing that starts after a covering window was created never expires the agent; every interleaving ends consistent', async () => {
    const operation = fc.constantFrom('beat', 'fire', 'fireAfterWindow', 'end');
    await fc.assert(
      fc.asyncProperty(
        fc.array(operation, { minLength: 1, maxLength: 7 }),
        fc.scheduler(),
        async (ops, scheduler) => {
          const s = setup();
          await s.beat('web-1');
          s.clock.advance(TTL + 1); // due: a firing now would expire it, but for the window
          const store = s.store;
          // Every store, windows and scheduler call of every operation is interleaved by fast-check.
          const gated = { ...s.deps, ...interleaved(scheduler, store, s.scheduler) };
          const end = s.clock.now() + 600_000;
          const created = createWindow(
            gated,
            { selector: { agentIds: ['web-1'] }, end: iso(end), reason: 'race' },
            'oncall',
            UNLIMITED,
          );
          const ended = ops.includes('end');
          const afterWindow: Promise<ExpiryOutcome>[] = [];
          const running = ops.map((op, i) => {
            if (op === 'beat') {
              return recordHeartbeat(
                gated,
                makeHeartbeat({ agentId: 'web-1', ttlSeconds: TTL }),
                UNLIMITED,
                `b${i}`,
              );
            }
            if (op === 'fire') return handleExpiry(gated, 'web-1', `f${i}`, UNLIMITED);
            if (op === 'end') {
              return created.then((r) =>
                r.kind === 'created' ? endWindow(gated, r.window.id, UNLIMITED) : undefined,
              );
            }
            const firing = created.then(() => handleExpiry(gated, 'web-1', `w${i}`, UNLIMITED));
            afterWindow.push(firing);
            return firing;
          });
          await scheduler.waitFor(Promise.all([created, ...running]));

          // Covered from its creation on: a firing after it holds or re-arms, never expires.
          if (!ended) {
            for (const outcome of await Promise.all(afterWindow))
              expect(outcome.result.kind).not.toBe('expired');
          }
          const final = (await store.get('web-1'))?.record;
          if (final === undefined) throw new Error('the agent is gone');
          if (final.state === 'expired') {
            // Only ever on a deadline that had passed, reported once.
            expect(final.expiredAt).toBeLessThanOrEqual(s.clock.now());
            expect(s.log.withMessage('agent expired')).toHaveLength(1);
          } else {
            if (final.maintenance !== undefined) {
              expect(final.deadline).toBe(final.maintenance.until + TTL * 1000);
            }
            // The record vouches only for a schedule the scheduler holds, firing in time.
            if (final.armedFor !== null) {
              expect(s.scheduler.schedules.get(scheduleNameFor('web-1'))?.fireAt).toBeLessThanOrEqual(
                expiresAt(final, s.deps.timing),
              );
            }
          }
          // And then, whatever happened: still covered, a firing never expires it; once the
          // window is over (planned or early) and its TTL has passed, the next firing does.
          if (final.state === 'alive' && !ended) {
            const now = await handleExpiry(s.deps, 'web-1', 'later', UNLIMITED);
            expect(now.result.kind).not.toBe('expired');
          }
          await s.reconcileNow();
          s.clock.ms = end + TTL * 1000 + 1;
          await handleExpiry(s.deps, 'web-1', 'last', UNLIMITED);
          expect((await store.get('web-1'))?.record.state).toBe('expired');
        },
      ),
      { numRuns: 200, seed: 20261203 },
    );
  });
});
