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
