import type { AgentRecord, OutboxEvent } from './agent.js';
import { callOptions } from './budget.js';
import { deliverEvents } from './deliver-events.js';
import { handleExpiry } from './handle-expiry.js';
import { InvalidCursorError } from './errors.js';
import { effectiveEnd } from './maintenance.js';
import { announceWindows } from './maintenance-windows.js';
import type { AgentPage, Budget, CheckpointStore, CoreDeps } from './ports.js';
import { type ExpiryTiming, expiresAt } from './timing.js';

export const RECONCILER_CHECKPOINT = 'reconciler';

export interface ReconcileOptions {
  /** Names this run's expiries (the Lambda request id), as a firing's id names its expiry. */
  invocationId: string;
  budget: Budget;
  /**
   * The scheduler's precision (60 s on AWS): a deadline or fire time further in the past than
   * this should have fired by now, so its timer is presumed lost.
   */
  precisionMs: number;
  /**
   * Undelivered events older than this are delivered here: whoever committed them has died or
   * given up. Longer than one invocation of the committer can last.
   */
  reportGraceMs: number;
  /**
   * Instead of the grace: deliver every event committed before this time (a process start: any
   * event from before it has no committer left, and one committed since may be being delivered).
   */
  reportCommittedBefore?: number;
  /** Records per listing page. */
  pageSize?: number;
  /** Agents repaired at once. */
  concurrency?: number;
  /**
   * Kept back from the work: no agent or page is started with less than this left, and the
   * position is saved from it.
   */
  reserveMs?: number;
  /** Saves the position every this many pages too, so a crash loses little. */
  saveEveryPages?: number;
}

export interface ReconcileReport {
  checked: number;
  /** Alive agents whose deadline passed more than the precision ago: their timer was lost. */
  overdue: number;
  rearmed: number;
  /** Due agents whose expiry the guard deferred: the service seemed deaf (core/expiry-guard.ts). */
  deferred: number;
  /** Due agents covered by a maintenance window: held until its end plus their TTL. */
  held: number;
  expired: number;
  /** Events delivered here that their committer never delivered. */
  reported: number;
  errors: number;
  /** Listed records that could not be read (an unknown schemaVersion, a bad manual edit): skipped. */
  unreadable: number;
  pages: number;
  /** True when this run reached the end of the listing: the next starts from the beginning. */
  passComplete: boolean;
  /**
   * Re-arms not tried because the scheduler kept failing in this run: those agents are not due
   * yet, and expiring the overdue ones needs no scheduler, so the run spends its time on those.
   */
  rearmsSkipped: number;
}

export type ReconcileDeps = CoreDeps & { checkpoints: CheckpointStore };

const DEFAULTS = { pageSize: 200, concurrency: 8, reserveMs: 2_000, saveEveryPages: 10 };
/** Failed re-arms in one run after which the scheduler is taken to be down for the rest of it. */
const SCHEDULER_DOWN_AFTER = 3;

/**
 * The safety net that turns every lost timer into a bounded delay (DESIGN.md I3): pages through
 * the open agents (alive, or with undelivered events) and, for each alive one whose timer may be
 * lost, runs the same expiry decision a firing runs: expire (expiredAt = the deadline that passed)
 * or re-arm. Its timer may be lost when:
 * - its deadline passed more than the precision ago (a deleted-after-fire re-arm, a dead-lettered
 *   firing, both backends failing in one request, a deleted schedule group);
 * - its record knows no schedule (armedFor null, after a failed schedule write);
 * - the schedule it names fires after the deadline, or should have fired more than the precision ago.
 * - it is held by a maintenance window that has since been ended early.
 * It also delivers events whose committer died between the commit and the delivery, and
 * announces the maintenance windows that started or ended since its last run.
 *
 * Reads only, for a healthy agent: one listing read per page, no per-heartbeat index. Safe beside
 * firings and heartbeats: every change goes through the write protocol's conditional writes. Work
 * per run is bounded by the budget; a run that cannot finish saves its position and the next one
 * resumes there, so a full pass may span runs.
 */
export async function reconcile(deps: ReconcileDeps, options: ReconcileOptions): Promise<ReconcileReport> {
  const { budget } = options;
  const pageSize = options.pageSize ?? DEFAULTS.pageSize;
  const reserveMs = options.reserveMs ?? DEFAULTS.reserveMs;
  const report: ReconcileReport = {
    checked: 0,
    overdue: 0,
    rearmed: 0,
    deferred: 0,
    held: 0,
    expired: 0,
    reported: 0,
    errors: 0,
    unreadable: 0,
    pages: 0,
    passComplete: false,
    rearmsSkipped: 0,
  };
  // The work gets the budget less the reserve, so the position can always be saved after it.
  const work: Budget = { remainingMs: () => budget.remainingMs() - reserveMs };
  const run: RunState = { report, failedRearms: 0, options: { ...options, budget: work } };
  const timeLeft = () => work.remainingMs() > 0;
  const save = (position: string | null) =>
    Promise.resolve()
      .then(() =>
        deps.checkpoints.saveCheckpoint(RECONCILER_CHECKPOINT, position, callOptions(budget, 'store')),
      )
      .catch((error: unknown) => deps.log.warn('could not save the reconciler position', { error }));

  let cursor = await deps.checkpoints.loadCheckpoint(RECONCILER_CHECKPOINT, callOptions(budget, 'store'));
  // The windows as the run starts: which holds ended early (the decision reads them afresh).
  run.endedHolds = await endedHolds(deps, work);
  try {
    for (;;) {
      let page: AgentPage;
      try {
        page = await deps.store.listOpen({ limit: pageSize, cursor }, callOptions(work, 'store'));
      } catch (error) {
        // A saved position this store cannot read (a format from another version) restarts
        // the pass, rather than failing every run from now on.
        if (!(error instanceof InvalidCursorError) || report.pages > 0 || cursor === null) throw error;
        deps.log.warn('the saved reconciler position is unreadable; starting the pass again', { error });
        cursor = null;
        continue;
      }
      report.pages++;
      report.unreadable += page.unreadable ?? 0;
      const finished = await forEachLimited(
        page.items,
        options.concurrency ?? DEFAULTS.concurrency,
        timeLeft,
        (record) => reconcileOne(deps, record, run),
      );
      // A page cut short by the budget is listed again by the next run (its finished agents cost
      // a read each), rather than skipped until the next pass.
      if (!finished) break;
      cursor = page.cursor;
      report.passComplete = cursor === null;
      if (cursor === null || !timeLeft()) break;
      if (report.pages % (options.saveEveryPages ?? DEFAULTS.saveEveryPages) === 0) await save(cursor);
    }
  } finally {
    // Saved even when a page failed, so the next run does not redo what this one finished.
    await save(cursor);
    // Maintenance windows that started or ended since the last look, their lines and events:
    // also when the listing failed, which would otherwise hold them back as long as it fails.
    if (deps.maintenance !== undefined) {
      await announceWindows({ ...deps, maintenance: deps.maintenance }, budget).catch((error: unknown) =>
        deps.log.warn('could not announce maintenance windows; the next run tries again', { error }),
      );
    }
  }
  // The minute summaries of a mass expiry that no later mass expiry wrote (the last minutes of
  // one): each run looks, so they come at most a run's interval late.
  await deps.guard?.tally.summarize(budget);
  return report;
}

/**
 * Why an open agent needs the expiry decision, or null when its timer is in order. Times are
 * against its expiry time (the deadline plus the grace), when its schedule should have fired.
 * With the expiry guard, a due agent whose deferral's look is still to come (armed no later than
 * its bound, and not more than the precision ago) is in order too: judging it again now would
 * only rewrite it. Once that look is overdue, so is the agent.
 */
export function lostTimer(
  record: AgentRecord,
  now: number,
  precisionMs: number,
  timing: ExpiryTiming,
  maxDeferMs?: number,
) {
  if (record.state !== 'alive') return null;
  const due = expiresAt(record, timing);
  const deferralPending =
    maxDeferMs !== undefined &&
    record.armedFor !== null &&
    record.armedFor > due &&
    record.armedFor <= record.deadline + maxDeferMs &&
    record.armedFor >= now - precisionMs;
  if (deferralPending) return null;
  if (due < now - precisionMs) return 'overdue' as const;
  if (record.armedFor === null) return 'unarmed' as const;
  if (record.armedFor > due) return 'late-schedule' as const;
  if (record.armedFor < now - precisionMs) return 'stale-schedule' as const;
  return null;
}

interface RunState {
  report: ReconcileReport;
  /** Re-arms that failed in this run (the scheduler is down or misconfigured). */
  failedRearms: number;
  /** The run's options, with the work's budget (the whole less the reserve). */
  options: ReconcileOptions;
  /** Whether a record is held by a maintenance window that has since ended early. */
  endedHolds?: (record: AgentRecord) => boolean;
}

/**
 * A held agent's deadline is its window's planned end plus its TTL; a window ended early moves it
 * back to the actual end plus the TTL, which only the expiry decision (run here) writes. Unreadable
 * windows are not fatal to the run: those holds are corrected by the next one.
 */
async function endedHolds(deps: ReconcileDeps, budget: Budget): Promise<(record: AgentRecord) => boolean> {
  if (deps.maintenance === undefined) return () => false;
  try {
    const { windows } = await deps.maintenance.readWindows(callOptions(budget, 'store'));
    const ends = new Map(windows.map((window) => [window.id, effectiveEnd(window)]));
    return (record) => {
      const end = record.maintenance === undefined ? undefined : ends.get(record.maintenance.windowId);
      return end !== undefined && record.maintenance !== undefined && end < record.maintenance.until;
    };
  } catch (error) {
    deps.log.warn('could not read the maintenance windows; early-ended holds wait for the next run', {
      error,
    });
    return () => false;
  }
}

async function reconcileOne(deps: ReconcileDeps, listed: AgentRecord, run: RunState): Promise<void> {
  const { report, options } = run;
  report.checked++;
  const now = deps.clock.now();
  try {
    // Its own events at once (a retry of this very run); others' once their committer must be done.
    const orphaned = (event: OutboxEvent) =>
      event.by === options.invocationId ||
      (options.reportCommittedBefore === undefined
        ? event.at <= now - options.reportGraceMs
        : event.at < options.reportCommittedBefore);
    if (listed.outbox.some(orphaned)) {
      const fresh = await deps.store.get(listed.agentId, callOptions(options.budget, 'store'));
      if (fresh !== undefined) {
        report.reported += await deliverEvents(deps, fresh.record, orphaned, options.budget);
      }
    }
    const reason =
      lostTimer(listed, now, options.precisionMs, deps.timing, deps.guard?.settings.maxDeferMs) ??
      (listed.state === 'alive' && run.endedHolds?.(listed) === true ? 'window-ended' : null);
    if (reason === null) return;
    if (reason === 'overdue') report.overdue++;
    else if (run.failedRearms >= SCHEDULER_DOWN_AFTER) {
      report.rearmsSkipped++;
      return;
    }
    const { result } = await handleExpiry(
      deps,
      listed.agentId,
      options.invocationId,
      options.budget,
      'reconciler',
    );
    if (result.kind === 'expired') report.expired++;
    if (result.kind === 'deferred') report.deferred++;
    if (result.kind === 'held') report.held++;
    if (result.kind === 'rearmed') {
      // A re-arm that failed (armedFor still null) is not a repair: the next pass tries again.
      if (result.armedFor !== null) report.rearmed++;
      else run.failedRearms++;
    }
  } catch (error) {
    report.errors++;
    deps.log.warn('reconciler could not repair an agent; the next pass tries again', {
      agentId: listed.agentId,
      error,
    });
  }
}

/**
 * Runs `work` over `items`, at most `limit` at a time, starting none once `goOn` says no.
 * Resolves true when every item was done.
 */
async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  goOn: () => boolean,
  work: (item: T) => Promise<void>,
): Promise<boolean> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && goOn()) {
      const item = items[next++];
      if (item !== undefined) await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return next >= items.length;
}
