import type { AgentRecord } from './agent.js';
import { LIMITS } from './limits.js';

/**
 * Maintenance windows (issue 10): an operator says "these agents may go quiet from start to end".
 * An agent covered by an active window is never expired; one that is still silent when the window
 * ends expires at the later of its deadline and the end plus its TTL. Windows are few and small,
 * so they live together in one document (MaintenanceStore), read when an agent falls due.
 */
export interface WindowSelector {
  /** Agents named here are covered. */
  agentIds?: string[];
  /** Agents whose reported labels include every one of these are covered. */
  labels?: Record<string, string>;
}

/** Whether the window's line and event were written (logged) and published, per transition. */
export type Announcement = 'logged' | 'published';

export interface MaintenanceWindow {
  id: string;
  selector: WindowSelector;
  start: number;
  /** The planned end. */
  end: number;
  reason: string;
  createdAt: number;
  /** The operator who created it (an IAM principal in AWS). */
  createdBy: string;
  /** When DELETE ended it, before its planned end (or cancelled it, before its start). */
  endedAt?: number;
  entered?: Announcement;
  left?: Announcement;
}

/** The bounds that keep the windows one small document, read at every expiry decision. */
export const MAINTENANCE_LIMITS = {
  /** Windows active or upcoming at once. */
  openWindows: 20,
  /** The longest window: a week. */
  maxLengthMs: 7 * 24 * 3600_000,
  /** How far ahead a window may start. */
  maxStartAheadMs: 90 * 24 * 3600_000,
  agentIds: 100,
  labels: 10,
  reasonChars: 500,
  /**
   * An ended window is kept this long after its end: an agent it held expires at most its TTL
   * (a week at most) after the end, and the reconciler needs its actual end until then.
   */
  retainEndedMs: LIMITS.maxTtlSeconds * 1000 + 24 * 3600_000,
  /** Ended windows kept at most, their selectors dropped once their end was announced. */
  endedWindows: 200,
} as const;

/** When the window stops covering: its planned end, or when it was ended early. */
export function effectiveEnd(window: MaintenanceWindow): number {
  return window.endedAt === undefined ? window.end : Math.min(window.end, window.endedAt);
}

export function isActive(window: MaintenanceWindow, now: number): boolean {
  return window.start <= now && now < effectiveEnd(window);
}

/** Active, or still to start (not cancelled). */
export function isOpen(window: MaintenanceWindow, now: number): boolean {
  return now < effectiveEnd(window) && (window.endedAt === undefined || window.endedAt > window.start);
}

export function covers(window: MaintenanceWindow, record: Pick<AgentRecord, 'agentId' | 'labels'>): boolean {
  const { agentIds, labels } = window.selector;
  if (agentIds?.includes(record.agentId) === true) return true;
  const wanted = Object.entries(labels ?? {});
  return wanted.length > 0 && wanted.every(([key, value]) => record.labels[key] === value);
}

/**
 * Where maintenance puts an agent's deadline (pure): a window that covered it at some time since
 * its deadline passed (started by now, and ending after that deadline) moves the deadline to the
 * window's end plus the agent's TTL, never earlier than it was; a window that covers it from there
 * on moves it again. Undefined when no window does: the deadline stands. So a silent agent is not
 * expired while a window covers it, and after the window only at the later of its deadline and
 * the end plus its TTL, even when its timer fires late (a lost firing, the window ended early).
 */
export function maintenanceDeadline(
  windows: readonly MaintenanceWindow[],
  record: Pick<AgentRecord, 'agentId' | 'labels' | 'deadline' | 'ttlSeconds'>,
  now: number,
): { window: MaintenanceWindow; deadline: number } | undefined {
  let found: { window: MaintenanceWindow; deadline: number } | undefined;
  let deadline = record.deadline;
  for (let round = 0; round < windows.length; round++) {
    let next: MaintenanceWindow | undefined;
    for (const window of windows) {
      const end = effectiveEnd(window);
      const held = covers(window, record) && window.start <= now && end > window.start && end > deadline;
      if (held && (next === undefined || end > effectiveEnd(next))) next = window;
    }
    if (next === undefined) break;
    deadline = Math.max(deadline, effectiveEnd(next) + record.ttlSeconds * 1000);
    found = { window: next, deadline };
  }
  return found;
}

/** The active window covering the agent that ends last, if any. */
export function coveringWindow(
  windows: readonly MaintenanceWindow[],
  record: Pick<AgentRecord, 'agentId' | 'labels'>,
  now: number,
): MaintenanceWindow | undefined {
  let found: MaintenanceWindow | undefined;
  for (const window of windows) {
    if (!isActive(window, now) || !covers(window, record)) continue;
    if (found === undefined || effectiveEnd(window) > effectiveEnd(found)) found = window;
  }
  return found;
}
