import { describe, expect, it } from 'vitest';
import { MemoryAgentStore } from '../../functions/adapters/memory/agent-store.js';
import { UNLIMITED, budgetFor } from '../../functions/core/budget.js';
import { BackendUnavailableError } from '../../functions/core/errors.js';
import { RECONCILER_CHECKPOINT, reconcile } from '../../functions/core/reconcile.js';
import { ReconcileIncompleteError, makeReconcileHandler } from '../../functions/handlers/reconcile.js';
import {
  FakeClock,
  RecordingLog,
  RecordingMetrics,
  RecordingScheduler,
  ampleContext,
  coreDeps,
} from '../support/fakes.js';
import { describeReconciler } from '../support/reconciler-suite.js';
import { makeAgentRecord } from '../support/records.js';

describeReconciler('memory store', async () => new MemoryAgentStore());

describe('the reconcile handler', () => {
  const NOW = Date.UTC(2030, 0, 1);
  async function setup() {
    const store = new MemoryAgentStore();
    const clock = new FakeClock(NOW);
    const log = new RecordingLog();
    const metrics = new RecordingMetrics();
    const core = {
      ...coreDeps({ store, scheduler: new RecordingScheduler(), clock, log, metrics }),
      checkpoints: store,
    };
    const handler = makeReconcileHandler({
      core,
      settings: { precisionMs: 60_000, reportGraceMs: 300_000, fallbackMs: 60_000 },
    });
    return { store, log, metrics, handler };
  }

  it('counts what it did and writes one summary line', async () => {
    const s = await setup();
    await s.store.create(makeAgentRecord({ agentId: 'overdue', lastSeen: NOW - 600_000 }));
    await s.store.create(makeAgentRecord({ agentId: 'healthy', lastSeen: NOW - 10_000 }));
    await s.handler(undefined, ampleContext('run-1'));
    expect(Object.fromEntries(s.metrics.counts)).toMatchObject({
      ReconcileChecked: 2,
      ReconcileOverdue: 1,
      ReconcileExpired: 1,
      AgentsExpired: 1,
    });
    const [summary] = s.log.withMessage('reconciler run');
    expect(summary?.attributes).toMatchObject({ checked: 2, overdue: 1, expired: 1, passComplete: true });
  });

  it('fails the invocation when an agent could not be repaired, after finishing the rest (the Errors alarm sees it)', async () => {
    const s = await setup();
    await s.store.create(makeAgentRecord({ agentId: 'a-overdue', lastSeen: NOW - 600_000 }));
    await s.store.create(makeAgentRecord({ agentId: 'b-overdue', lastSeen: NOW - 600_000 }));
    s.store.failNext('get', new BackendUnavailableError('store', 'down'));
    await expect(s.handler(undefined, ampleContext('run-1'))).rejects.toBeInstanceOf(
      ReconcileIncompleteError,
    );
    expect(s.metrics.counts.get('ReconcileErrors')).toBe(1);
    expect(s.metrics.counts.get('ReconcileExpired')).toBe(1);
  });

  it('fails, and says so, when it cannot list at all', async () => {
    const s = await setup();
    s.store.failNext('listOpen', new BackendUnavailableError('store', 'down'));
    await expect(s.handler(undefined, ampleContext('run-1'))).rejects.toBeInstanceOf(BackendUnavailableError);
    expect(s.log.withMessage('reconciler run failed')).toHaveLength(1);
  });
});

describe('the reconciler under pressure', () => {
  const NOW = Date.UTC(2030, 0, 1);
  const overdue = (id: string) => makeAgentRecord({ agentId: id, lastSeen: NOW - 600_000 });
  const unarmed = (id: string) => makeAgentRecord({ agentId: id, lastSeen: NOW - 10_000, armedFor: null });

  it('with the scheduler down, still expires every overdue agent, and stops trying re-arms after a few failures', async () => {
    const store = new MemoryAgentStore();
    for (let i = 0; i < 10; i++) await store.create(unarmed(`a-unarmed-${i}`));
    for (let i = 0; i < 3; i++) await store.create(overdue(`z-overdue-${i}`));
    const scheduler = new RecordingScheduler();
    scheduler.failNext(new BackendUnavailableError('scheduler', 'down'), 1_000);
    const core = coreDeps({ store, scheduler, clock: new FakeClock(NOW) });
    const report = await reconcile(
      { ...core, checkpoints: store },
      { invocationId: 'run-1', budget: UNLIMITED, precisionMs: 60_000, reportGraceMs: 0, concurrency: 1 },
    );
    expect(report).toMatchObject({ overdue: 3, expired: 3, rearmed: 0, rearmsSkipped: 7, errors: 0 });
    expect(scheduler.upserts).toHaveLength(0);
  });

  it('when the budget runs out mid-page, the next run lists that page again: no agent is skipped until the next pass', async () => {
    const store = new MemoryAgentStore();
    const ids = Array.from({ length: 10 }, (_, i) => `agent-${i}`);
    for (const id of ids) await store.create(overdue(id));
    const clock = new FakeClock(NOW);
    // Each read takes a simulated second of a 10 s budget (2 s kept in reserve).
    const slow = {
      ...coreDeps({ store, scheduler: new RecordingScheduler(), clock }),
      checkpoints: store,
    };
    const slowStore = {
      get: async (id: string) => {
        clock.advance(1);
        return store.get(id);
      },
      create: store.create.bind(store),
      replace: store.replace.bind(store),
      listByState: store.listByState.bind(store),
      listOpen: store.listOpen.bind(store),
    };
    const first = await reconcile(
      { ...slow, store: slowStore },
      {
        invocationId: 'run-1',
        budget: budgetFor(clock, 10_000),
        precisionMs: 60_000,
        reportGraceMs: 0,
        concurrency: 1,
      },
    );
    expect(first.expired).toBeGreaterThan(0);
    expect(first.expired).toBeLessThan(10);
    expect(first.passComplete).toBe(false);

    const second = await reconcile(
      { ...slow, store: slowStore },
      { invocationId: 'run-2', budget: UNLIMITED, precisionMs: 60_000, reportGraceMs: 0 },
    );
    expect(first.expired + second.expired).toBe(10);
    for (const id of ids) expect((await store.get(id))?.record.state).toBe('expired');
  });
});

describe('the reconciler keeps its position', () => {
  const NOW = Date.UTC(2030, 0, 1);
  const overdue = (id: string) => makeAgentRecord({ agentId: id, lastSeen: NOW - 600_000 });

  it('saves it even when one repair uses up the budget: the reserve is kept for it', async () => {
    const store = new MemoryAgentStore();
    for (let i = 0; i < 25; i++) await store.create(overdue(`a-${String(i).padStart(2, '0')}`));
    const clock = new FakeClock(NOW);
    let stalled = false;
    // One read on the second page takes all the time it is given.
    const slowStore = {
      get: async (id: string, options?: { timeoutMs?: number }) => {
        if (id === 'a-15' && !stalled) {
          stalled = true;
          clock.ms += options?.timeoutMs ?? 0;
        }
        return store.get(id);
      },
      create: store.create.bind(store),
      replace: store.replace.bind(store),
      listByState: store.listByState.bind(store),
      listOpen: store.listOpen.bind(store),
    };
    const core = {
      ...coreDeps({ store: slowStore, scheduler: new RecordingScheduler(), clock }),
      checkpoints: store,
    };
    const report = await reconcile(core, {
      invocationId: 'run-1',
      budget: budgetFor(clock, 20_000),
      precisionMs: 60_000,
      reportGraceMs: 0,
      pageSize: 10,
      concurrency: 1,
    });
    expect(report.expired).toBeGreaterThanOrEqual(10);
    expect(report.passComplete).toBe(false);
    // The first page is done: the next run starts at the second.
    expect(await store.loadCheckpoint(RECONCILER_CHECKPOINT)).not.toBeNull();
  });

  it('starts the pass again when its saved position is one the store cannot read', async () => {
    const store = new MemoryAgentStore();
    for (let i = 0; i < 3; i++) await store.create(overdue(`a-${i}`));
    await store.saveCheckpoint(RECONCILER_CHECKPOINT, 'a position from another version');
    const log = new RecordingLog();
    const core = {
      ...coreDeps({ store, scheduler: new RecordingScheduler(), clock: new FakeClock(NOW), log }),
      checkpoints: store,
    };
    const report = await reconcile(core, {
      invocationId: 'run-1',
      budget: UNLIMITED,
      precisionMs: 60_000,
      reportGraceMs: 0,
    });
    expect(report).toMatchObject({ expired: 3, passComplete: true });
    expect(
      log.withMessage('the saved reconciler position is unreadable; starting the pass again'),
    ).toHaveLength(1);
  });
});
