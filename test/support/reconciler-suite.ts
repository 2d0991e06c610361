import { describe, expect, it } from 'vitest';
import type { AgentRecord } from '../../functions/core/agent.js';
import { UNLIMITED } from '../../functions/core/budget.js';
import type { AgentStore, Budget, CheckpointStore } from '../../functions/core/ports.js';
import { RECONCILER_CHECKPOINT, reconcile } from '../../functions/core/reconcile.js';
import { scheduleNameFor } from '../../functions/core/schedule-name.js';
import { FakeClock, RecordingLog, RecordingScheduler, coreDeps } from './fakes.js';
import { makeAgentRecord } from './records.js';

type TestStore = AgentStore & CheckpointStore;

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const PRECISION = 60_000;

/**
 * The reconciler against a real store: which agents it repairs and how, that healthy ones cost
 * only reads, and that a run cut short by its budget resumes where it stopped.
 */
export function describeReconciler(storeName: string, makeStore: () => Promise<TestStore>) {
  async function setup(records: AgentRecord[]) {
    const inner = await makeStore();
    for (const record of records) await inner.create(record);
    const listed = { pages: 0 };
    const store: TestStore = {
      get: (id, o) => inner.get(id, o),
      create: (r, o) => inner.create(r, o),
      replace: (r, v, o) => inner.replace(r, v, o),
      listByState: (st, p, o) => inner.listByState(st, p, o),
      listOpen: (p, o) => {
        listed.pages++;
        return inner.listOpen(p, o);
      },
      loadCheckpoint: (n, o) => inner.loadCheckpoint(n, o),
      saveCheckpoint: (n, v, o) => inner.saveCheckpoint(n, v, o),
    };
    const clock = new FakeClock(NOW);
    const scheduler = new RecordingScheduler();
    const log = new RecordingLog();
    const core = coreDeps({ store, scheduler, clock, log });
    const run = (budget: Budget = UNLIMITED, invocationId = 'reconcile-1', pageSize?: number) =>
      reconcile(
        { ...core, checkpoints: store },
        {
          invocationId,
          budget,
          precisionMs: PRECISION,
          reportGraceMs: 5 * 60_000,
          ...(pageSize === undefined ? {} : { pageSize }),
        },
      );
    return { store, clock, scheduler, log, run, listed };
  }

  /** An alive agent last seen `agoSeconds` ago with a 90 s TTL, armed for `armedFor`. */
  const agent = (agentId: string, agoSeconds: number, armed: 'deadline' | 'none' | 'late' | 'fired') => {
    const lastSeen = NOW - agoSeconds * 1000;
    const deadline = lastSeen + 90_000;
    const armedFor = {
      deadline,
      none: null,
      late: deadline + 600_000,
      fired: NOW - 2 * PRECISION,
    }[armed];
    return makeAgentRecord({ agentId, lastSeen, ttlSeconds: 90, armedFor });
  };

  describe(`reconciler (${storeName})`, () => {
    it('expires overdue agents at their deadline, re-arms the ones whose timer is unknown, late or stale, and leaves the rest alone', async () => {
      const s = await setup([
        agent('healthy', 30, 'deadline'),
        agent('firing-now', 89, 'deadline'), // due, within the precision: its schedule is about to fire
        agent('overdue', 300, 'deadline'), // its schedule was lost: a deleted re-arm, a dead letter
        agent('unarmed', 30, 'none'), // a schedule write failed
        agent('late-schedule', 30, 'late'), // the TTL shrank while the scheduler failed
        agent('stale-schedule', 30, 'fired'), // an early firing that never came
        makeAgentRecord({ agentId: 'expired', state: 'expired', armedFor: null }),
      ]);

      const report = await s.run();

      expect(report).toMatchObject({
        checked: 6,
        overdue: 1,
        expired: 1,
        rearmed: 3,
        errors: 0,
        passComplete: true,
      });
      const state = async (id: string) => (await s.store.get(id))?.record;
      expect(await state('overdue')).toMatchObject({
        state: 'expired',
        expiredAt: NOW - 300_000 + 90_000,
        detectedAt: NOW,
        expiredBy: 'reconcile-1',
      });
      for (const id of ['unarmed', 'late-schedule', 'stale-schedule']) {
        const record = await state(id);
        expect(record?.armedFor).toBe(record?.deadline);
        expect(s.scheduler.schedules.get(scheduleNameFor(id))?.fireAt).toBe(record?.deadline);
      }
      // Healthy agents and ones about to fire cost reads only.
      expect(s.scheduler.upserts.map((u) => u.payload.agentId).sort()).toStrictEqual([
        'late-schedule',
        'stale-schedule',
        'unarmed',
      ]);
      expect(await state('healthy')).toStrictEqual(agent('healthy', 30, 'deadline'));
      const [line] = s.log.withMessage('agent expired');
      expect(line?.attributes).toMatchObject({
        agentId: 'overdue',
        detectedBy: 'reconciler',
        lateBySeconds: 210,
      });
    });

    it('stops when its budget runs out, saves its position, and the next run resumes there', async () => {
      const ids = Array.from({ length: 30 }, (_, i) => `agent-${String(i).padStart(2, '0')}`);
      const s = await setup(ids.map((id) => agent(id, 300, 'deadline')));
      // A budget that, once two pages are listed, is below the reserve: the second page is not
      // worked on, and the position saved is the one before it.
      const budget: Budget = { remainingMs: () => (s.listed.pages >= 2 ? 1_000 : 60_000) };

      const first = await s.run(budget, 'run-1', 10);
      expect(first.passComplete).toBe(false);
      expect(await s.store.loadCheckpoint(RECONCILER_CHECKPOINT)).not.toBeNull();

      const second = await s.run(UNLIMITED, 'run-2', 10);
      expect(second.passComplete).toBe(true);
      expect(first.expired + second.expired).toBe(30);
      expect(await s.store.loadCheckpoint(RECONCILER_CHECKPOINT)).toBeNull();
      for (const id of ids) expect((await s.store.get(id))?.record.state).toBe('expired');
    });
  });
}
