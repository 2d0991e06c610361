import { describe, expect, it } from 'vitest';
import { MemoryAgentStore } from '../../functions/adapters/memory/agent-store.js';
import { BackendUnavailableError } from '../../functions/core/errors.js';
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
