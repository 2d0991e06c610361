import { randomUUID } from 'node:crypto';
import { callOptions } from './budget.js';
import { publishEvents, writeLine } from './deliver-events.js';
import { BackendUnavailableError, VersionConflictError } from './errors.js';
import { eventIdOf } from './events.js';
import { MAINTENANCE_LIMITS, type MaintenanceWindow, effectiveEnd, isOpen } from './maintenance.js';
import type { Budget, CoreDeps, MaintenanceStore, PublishedEvent } from './ports.js';
import { toIso } from './time.js';
import type { FieldProblem } from './validation.js';
import type { WindowBody } from './window-body.js';

// The operator's use cases on maintenance windows (issue 10): create, list, end early, and the
// announcement of each window's start and end (a line and an event, at least once).

export type MaintenanceDeps = Pick<CoreDeps, 'clock' | 'log' | 'metrics' | 'events'> & {
  maintenance: MaintenanceStore;
};

export type CreateWindowResult =
  | { kind: 'created'; window: MaintenanceWindow }
  | { kind: 'invalid'; problems: FieldProblem[] }
  /** A bound would be passed: too many open windows, or a document too large. */
  | { kind: 'limit'; detail: string };

export type EndWindowResult =
  | { kind: 'unknown' }
  /** `already`: it had ended (or been cancelled) before this request, which changed nothing. */
  | { kind: 'ended'; window: MaintenanceWindow; already: boolean };

/** The windows document stays well under DynamoDB's 400 KB item limit. */
export const MAX_WINDOWS_BYTES = 256 * 1024;

/** Conflicting writers of the windows document before giving up (as the write protocol's). */
const MAX_ATTEMPTS = 10;

/**
 * Creates a window. A start in the past (or none) is now. Refused, with a reason, past the bounds
 * (MAINTENANCE_LIMITS): too long, too far ahead, too many open at once. Once stored, a window that
 * has already started is announced at once; one that starts later, by the reconciler's run then.
 */
export async function createWindow(
  deps: MaintenanceDeps,
  body: WindowBody,
  createdBy: string,
  budget: Budget,
): Promise<CreateWindowResult> {
  const now = deps.clock.now();
  const start = Math.max(now, body.start === undefined ? now : Date.parse(body.start));
  const end = Date.parse(body.end);
  const problems = checkTimes(start, end, now);
  if (problems.length > 0) return { kind: 'invalid', problems };
  const window: MaintenanceWindow = {
    id: randomUUID(),
    selector: {
      ...(body.selector.agentIds === undefined ? {} : { agentIds: [...new Set(body.selector.agentIds)] }),
      ...(body.selector.labels === undefined ? {} : { labels: body.selector.labels }),
    },
    start,
    end,
    reason: body.reason,
    createdAt: now,
    createdBy,
  };
  const result = await updateWindows<CreateWindowResult>(deps, budget, (windows, at) => {
    // Already there: an earlier attempt of this call committed (its answer was lost, or an SDK
    // retry of it then failed its own condition). Not a second window.
    if (windows.some((w) => w.id === window.id)) return { result: { kind: 'created', window } };
    const open = windows.filter((w) => isOpen(w, at)).length;
    if (open >= MAINTENANCE_LIMITS.openWindows) {
      return {
        result: {
          kind: 'limit',
          detail: `${open} maintenance windows are open (active or upcoming); at most ${MAINTENANCE_LIMITS.openWindows} may be: end one first`,
        },
      };
    }
    const next = [...windows, window];
    if (Buffer.byteLength(JSON.stringify(next)) > MAX_WINDOWS_BYTES) {
      return {
        result: {
          kind: 'limit',
          detail: `the maintenance windows would take more than ${MAX_WINDOWS_BYTES / 1024} KiB: select agents by labels rather than long agentIds lists`,
        },
      };
    }
    return { next, result: { kind: 'created', window } };
  });
  if (result.kind === 'created') {
    deps.log.info('maintenance window created', { ...windowFields(window), createdBy });
    await announceSoon(deps, budget);
  }
  return result;
}

function checkTimes(start: number, end: number, now: number): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (start > now + MAINTENANCE_LIMITS.maxStartAheadMs) {
    problems.push({ pointer: '/start', detail: 'start must be at most 90 days ahead' });
  }
  if (end <= start) {
    problems.push({ pointer: '/end', detail: 'end must be after start (and after now)' });
  } else if (end - start > MAINTENANCE_LIMITS.maxLengthMs) {
    problems.push({ pointer: '/end', detail: 'a window lasts at most 7 days (end - start)' });
  }
  return problems;
}

/** The windows active or still to start, by start. */
export async function listOpenWindows(deps: MaintenanceDeps, budget: Budget): Promise<MaintenanceWindow[]> {
  const { windows } = await deps.maintenance.readWindows(callOptions(budget, 'store'));
  const now = deps.clock.now();
  return windows.filter((w) => isOpen(w, now)).sort((a, b) => a.start - b.start || a.createdAt - b.createdAt);
}

/**
 * Ends a window now (one still to start is cancelled). Agents it held expire at the actual end
 * plus their TTL, once the reconciler's next run has seen it end. Idempotent.
 */
export async function endWindow(deps: MaintenanceDeps, id: string, budget: Budget): Promise<EndWindowResult> {
  const result = await updateWindows<EndWindowResult>(deps, budget, (windows, now) => {
    const found = windows.find((w) => w.id === id);
    if (found === undefined) return { result: { kind: 'unknown' } };
    if (!isOpen(found, now)) return { result: { kind: 'ended', window: found, already: true } };
    const ended = { ...found, endedAt: now };
    return {
      next: windows.map((w) => (w.id === id ? ended : w)),
      result: { kind: 'ended', window: ended, already: false },
    };
  });
  if (result.kind === 'ended' && !result.already) {
    deps.log.info('maintenance window ended early', windowFields(result.window));
    await announceSoon(deps, budget);
  }
  return result;
}

/**
 * Announces right after a change that committed; a failure here (the store unreadable a moment
 * later) must not turn that change's answer into an error a client would retry: the reconciler's
 * next run announces what this could not.
 */
async function announceSoon(deps: MaintenanceDeps, budget: Budget): Promise<void> {
  try {
    await announceWindows(deps, budget);
  } catch (error) {
    deps.log.warn('maintenance windows changed but not yet announced; the reconciler will', { error });
  }
}

/**
 * Announces each window that started or ended and was not yet published: one line (once) and one
 * event each, then marks them in the document. At least once: if the publication fails, or the
 * mark cannot be written, the next call (the reconciler runs it every time) publishes again; the
 * line is written once, marked `logged`. Never throws for a failed publication.
 */
export async function announceWindows(deps: MaintenanceDeps, budget: Budget): Promise<number> {
  const { windows } = await deps.maintenance.readWindows(callOptions(budget, 'store'));
  const now = deps.clock.now();
  const due = windows.flatMap((window) => dueAnnouncements(window, now).map((which) => ({ window, which })));
  if (due.length === 0) return 0;

  const events = due.map(({ window, which }) => windowEvent(window, which));
  due.forEach(({ window, which }, index) => {
    const event = events[index];
    if (window[which] !== 'logged' && event !== undefined) writeLine(deps, event);
  });
  const published = await publishEvents(deps, events, budget, { windows: due.map((d) => d.window.id) });
  const mark: MaintenanceWindow['entered'] = published ? 'published' : 'logged';
  try {
    await updateWindows(deps, budget, (current) => ({
      next: current.map((window) => {
        let next = window;
        for (const item of due) {
          if (item.window.id !== window.id || next[item.which] === 'published') continue;
          next = { ...next, [item.which]: mark };
        }
        return next;
      }),
      result: undefined,
    }));
  } catch (error) {
    deps.log.warn('maintenance announcements made but not marked; they may be made again', { error });
  }
  return due.length;
}

/** What of a window is to be announced now: its start, its end, or both, in that order. */
function dueAnnouncements(window: MaintenanceWindow, now: number): ('entered' | 'left')[] {
  // Cancelled before it started (one ended the instant it started, once announced, did start).
  const cancelled =
    window.endedAt !== undefined && window.endedAt <= window.start && window.entered === undefined;
  if (cancelled) return [];
  const due: ('entered' | 'left')[] = [];
  if (window.start <= now && window.entered !== 'published') due.push('entered');
  if (effectiveEnd(window) <= now && window.left !== 'published') due.push('left');
  return due;
}

function windowEvent(window: MaintenanceWindow, which: 'entered' | 'left'): PublishedEvent {
  const eventId = eventIdOf('maintenance', window.id, which);
  const base = {
    eventId,
    windowId: window.id,
    start: toIso(window.start),
    end: toIso(window.end),
    reason: window.reason,
    selector: window.selector,
  };
  if (which === 'entered') {
    return {
      id: eventId,
      detailType: 'Maintenance Entered',
      time: window.start,
      detail: { ...base, at: toIso(window.start) },
    };
  }
  const end = effectiveEnd(window);
  return {
    id: eventId,
    detailType: 'Maintenance Left',
    time: end,
    detail: { ...base, at: toIso(end), endedEarly: end < window.end },
  };
}

function windowFields(window: MaintenanceWindow): Record<string, unknown> {
  return {
    windowId: window.id,
    start: toIso(window.start),
    end: toIso(window.end),
    ...(window.endedAt === undefined ? {} : { endedAt: toIso(window.endedAt) }),
    reason: window.reason,
    selector: window.selector,
  };
}

/**
 * Read -> change -> write under the version, again on a conflict, within the budget. Each write
 * also prunes what is no longer needed (see prune).
 */
async function updateWindows<R>(
  deps: MaintenanceDeps,
  budget: Budget,
  change: (windows: MaintenanceWindow[], now: number) => { next?: MaintenanceWindow[]; result: R },
): Promise<R> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const stored = await deps.maintenance.readWindows(callOptions(budget, 'store'));
    const now = deps.clock.now();
    const { next, result } = change(stored.windows, now);
    if (next === undefined) return result;
    try {
      await deps.maintenance.writeWindows(prune(next, now), stored.version, callOptions(budget, 'store'));
      return result;
    } catch (error) {
      // A conflict is decided again from a fresh read. So is a failure whose outcome is unknown
      // (a timeout after the write landed): `change` recognises its own write there.
      if (!(error instanceof VersionConflictError) && !(error instanceof BackendUnavailableError))
        throw error;
      if (error instanceof BackendUnavailableError && attempt === MAX_ATTEMPTS) throw error;
      lastError = error;
    }
  }
  if (lastError instanceof BackendUnavailableError) throw lastError;
  throw new BackendUnavailableError('store', 'the maintenance windows are being changed concurrently; retry');
}

/**
 * Keeps the open windows, and the ended ones for MAINTENANCE_LIMITS.retainEndedMs (at most
 * `endedWindows` of them): an agent a window held may be corrected to its actual end until then.
 * An ended window whose end was announced keeps only its labels, not its agentIds list.
 */
export function prune(windows: readonly MaintenanceWindow[], now: number): MaintenanceWindow[] {
  const pending = (w: MaintenanceWindow) => dueAnnouncements(w, Number.POSITIVE_INFINITY).length > 0;
  const ended = windows
    .filter((w) => !isOpen(w, now))
    .filter((w) => pending(w) || effectiveEnd(w) + MAINTENANCE_LIMITS.retainEndedMs > now)
    .sort((a, b) => effectiveEnd(b) - effectiveEnd(a));
  const kept = new Set([
    ...ended.filter(pending),
    ...ended.filter((w) => !pending(w)).slice(0, MAINTENANCE_LIMITS.endedWindows),
  ]);
  return windows
    .filter((w) => isOpen(w, now) || kept.has(w))
    .map((w) => {
      if (isOpen(w, now) || pending(w) || w.selector.agentIds === undefined) return w;
      const { agentIds: _dropped, ...selector } = w.selector;
      return { ...w, selector };
    });
}
