import { randomUUID } from 'node:crypto';
import type { AgentDeleter } from '../core/ports.js';
import { type ReapReport, reap } from '../core/reap.js';
import { type ReconcileDeps, type ReconcileReport, reconcile } from '../core/reconcile.js';
import { type InvocationContext, invocationBudget } from './budget.js';

export interface ReconcileSettings {
  /** The scheduler's precision: 60 s on AWS, 1 s locally. */
  precisionMs: number;
  /** See ReconcileOptions.reportGraceMs. */
  reportGraceMs: number;
  /** See ReconcileOptions.reportCommittedBefore. */
  reportCommittedBefore?: number;
  /** Without a Lambda context: how long one run may take. */
  fallbackMs: number;
  /** Reaping (core/reap.ts): records expired or deregistered longer than this go; 0: never. */
  reapAfterMs?: number;
}

/** Thrown after a run that could not repair everything, so the function's Errors alarm sees it. */
export class ReconcileIncompleteError extends Error {
  override readonly name = 'ReconcileIncompleteError';
}

/**
 * One reconciler run (a rate schedule in AWS; a timer in the local runner): repairs lost timers
 * and delivers orphaned events, logs one summary line, counts what it did.
 */
export function makeReconcileHandler(deps: {
  core: ReconcileDeps;
  settings: ReconcileSettings;
  /** Deletes reaped records; reaping is off without it (or with reapAfterMs 0). */
  deleter?: AgentDeleter;
}) {
  const { log, metrics, clock } = deps.core;
  return async (
    _event: unknown,
    context?: InvocationContext,
  ): Promise<ReconcileReport & { reap?: ReapReport }> => {
    const started = clock.now();
    const budget = invocationBudget(clock, context, {
      fallbackMs: deps.settings.fallbackMs,
      marginMs: 1_000,
    });
    let report: ReconcileReport & { reap?: ReapReport };
    const invocationId = context?.awsRequestId ?? randomUUID();
    const reapAfterMs = deps.settings.reapAfterMs ?? 0;
    try {
      report = await reconcile(deps.core, {
        invocationId,
        budget,
        precisionMs: deps.settings.precisionMs,
        reportGraceMs: deps.settings.reportGraceMs,
        ...(deps.settings.reportCommittedBefore === undefined
          ? {}
          : { reportCommittedBefore: deps.settings.reportCommittedBefore }),
      });
      // Then, with what time is left, a few pages of reaping (never an alive agent).
      if (deps.deleter !== undefined && reapAfterMs > 0 && budget.remainingMs() > 0) {
        report.reap = await reap(
          { ...deps.core, deleter: deps.deleter },
          { reapAfterMs, invocationId, budget },
        );
      }
    } catch (error) {
      metrics.count('ReconcileErrors');
      log.error('reconciler run failed', { error, durationMs: clock.now() - started });
      throw error;
    }
    metrics.count('ReconcileChecked', report.checked);
    metrics.count('ReconcileOverdue', report.overdue);
    metrics.count('ReconcileRearmed', report.rearmed);
    metrics.count('ReconcileExpired', report.expired);
    metrics.count('ReconcileReported', report.reported);
    const reapErrors = report.reap?.errors ?? 0;
    metrics.count('ReconcileErrors', report.errors + report.unreadable + reapErrors);
    const level =
      report.errors > 0 || report.unreadable > 0 || report.overdue > 0 || reapErrors > 0 ? 'warn' : 'info';
    log[level]('reconciler run', { ...report, durationMs: clock.now() - started });
    if (report.errors > 0 || report.unreadable > 0) {
      throw new ReconcileIncompleteError(
        `${report.errors} agents could not be repaired (the next pass tries again), ` +
          `${report.unreadable} records could not be read (they need fixing by hand)`,
      );
    }
    return report;
  };
}
