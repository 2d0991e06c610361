import { describe, expect, it } from 'vitest';
import { MemoryAgentStore } from '../../functions/adapters/memory/agent-store.js';
import { UNLIMITED } from '../../functions/core/budget.js';
import { deregisterAgent } from '../../functions/core/deregister.js';
import { handleExpiry } from '../../functions/core/handle-expiry.js';
import { REAPED_MESSAGE, reap } from '../../functions/core/reap.js';
import { recordHeartbeat } from '../../functions/core/record-heartbeat.js';
import { makeReconcileHandler } from '../../functions/handlers/reconcile.js';
import { FakeClock, RecordingLog, RecordingScheduler, coreDeps, makeHeartbeat } from '../support/fakes.js';

// Reaping (issue 10): agents expired or deregistered longer than reapAfterDays go, one INFO line
// each; never an alive one.
const DAY = 86_400;
const REAP_AFTER_MS = 7 * DAY * 1000;

function setup(store = new MemoryAgentStore()) {
  const clock = new FakeClock();
  const log = new RecordingLog();
  const deps = coreDeps({ store, scheduler: new RecordingScheduler(), clock, log });
  const reapDeps = { ...deps, checkpoints: store, deleter: store };
  const beat = (agentId: string, seq = 1) =>
    recordHeartbeat(deps, makeHeartbeat({ agentId, seq, ttlSeconds: 60 }), UNLIMITED);
  const expire = async (agentId: string) => {
    await beat(agentId);
    clock.advance(61);
    expect((await handleExpiry(deps, agentId, `fire-${agentId}`, UNLIMITED)).result.kind).toBe('expired');
  };
  const run = (pages = 5) =>
    reap(reapDeps, { reapAfterMs: REAP_AFTER_MS, invocationId: 'run-1', budget: UNLIMITED, pages });
  return { clock, store, log, deps, beat, expire, run };
}

describe('reaping', () => {
  it('deletes agents expired or deregistered longer than the age, with one INFO line each', async () => {
    const s = setup();
    await s.expire('gone-1');
    await s.beat('decommissioned-1');
    await deregisterAgent(s.deps, 'decommissioned-1', 'req-1', UNLIMITED);
    await s.beat('alive-1');
    s.clock.advance(7 * DAY + 60);
    await s.beat('alive-1', 2); // reporting: never reaped, however old its record
    const report = await s.run();
    expect(report).toMatchObject({ reaped: 2, errors: 0 });
    expect(await s.store.get('gone-1')).toBeUndefined();
    expect(await s.store.get('decommissioned-1')).toBeUndefined();
    expect(await s.store.get('alive-1')).toBeDefined();
    expect(
      s.log.withMessage(REAPED_MESSAGE).map((l) => [l.level, l.attributes.agentId, l.attributes.state]),
    ).toEqual([
      ['info', 'gone-1', 'expired'],
      ['info', 'decommissioned-1', 'deregistered'],
    ]);
  });

  it('keeps younger ones, and an expired agent whose report is still undelivered', async () => {
    const s = setup();
    await s.expire('young-1');
    s.clock.advance(6 * DAY);
    expect((await s.run()).reaped).toBe(0);
    expect(await s.store.get('young-1')).toBeDefined();
    // Its expiry line not yet delivered (the committer died): the reconciler delivers it first.
    const expired = (await s.store.get('young-1'))?.record;
    if (expired === undefined) throw new Error('young-1 is gone');
    const event = { type: 'agent.expired' as const, by: 'fire-x', at: s.clock.ms, report: {} as never };
    await s.store.create({ ...expired, agentId: 'undelivered-1', outbox: [event] });
    s.clock.advance(2 * DAY);
    expect((await s.run()).reaped).toBe(1); // young-1, now old enough
    expect(await s.store.get('undelivered-1')).toBeDefined();
  });

  it('a heartbeat between the listing and the delete wins: the agent is registered again, not deleted', async () => {
    class RacingStore extends MemoryAgentStore {
      racing: (() => Promise<unknown>) | undefined;
      override async deleteAgent(agentId: string, version: string) {
        const race = this.racing;
        this.racing = undefined;
        await race?.();
        return super.deleteAgent(agentId, version);
      }
    }
    const store = new RacingStore();
    const s = setup(store);
    await s.expire('back-1');
    s.clock.advance(8 * DAY);
    store.racing = () => s.beat('back-1', 2);
    const report = await s.run();
    expect(report).toMatchObject({ reaped: 0, errors: 0 });
    expect((await s.store.get('back-1'))?.record.state).toBe('alive');
    expect(s.log.withMessage(REAPED_MESSAGE)).toEqual([]);
  });

  it('works a backlog off over runs, a few pages each, resuming where the last stopped', async () => {
    const s = setup();
    for (let i = 0; i < 5; i++) await s.expire(`old-${i}`);
    s.clock.advance(8 * DAY);
    const first = await reap(
      { ...s.deps, checkpoints: s.store, deleter: s.store },
      { reapAfterMs: REAP_AFTER_MS, invocationId: 'run-1', budget: UNLIMITED, pages: 1, pageSize: 2 },
    );
    expect(first.reaped).toBe(2);
    let total = first.reaped;
    for (let run = 0; run < 6; run++) {
      total += (
        await reap(
          { ...s.deps, checkpoints: s.store, deleter: s.store },
          {
            reapAfterMs: REAP_AFTER_MS,
            invocationId: `run-${run}`,
            budget: UNLIMITED,
            pages: 1,
            pageSize: 2,
          },
        )
      ).reaped;
    }
    expect(total).toBe(5);
  });

  it('the reconciler run reaps after its repairs, and never with reapAfterDays 0', async () => {
    const s = setup();
    await s.expire('gone-2');
    s.clock.advance(8 * DAY);
    const settings = { precisionMs: 1_000, reportGraceMs: 60_000, fallbackMs: 30_000 };
    const core = { ...s.deps, checkpoints: s.store };
    const off = await makeReconcileHandler({
      core,
      settings: { ...settings, reapAfterMs: 0 },
      deleter: s.store,
    })(undefined);
    expect(off.reap).toBeUndefined();
    expect(await s.store.get('gone-2')).toBeDefined();
    const on = await makeReconcileHandler({
      core,
      settings: { ...settings, reapAfterMs: REAP_AFTER_MS },
      deleter: s.store,
    })(undefined);
    expect(on.reap).toMatchObject({ reaped: 1 });
    expect(s.log.withMessage('reconciler run').at(-1)?.attributes).toMatchObject({ reap: { reaped: 1 } });
  });
});
