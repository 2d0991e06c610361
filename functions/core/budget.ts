import { BackendUnavailableError } from './errors.js';
import type { Budget, CallOptions, Clock } from './ports.js';

/** For callers with no deadline of their own (tests of the core, one-off scripts). */
export const UNLIMITED: Budget = { remainingMs: () => Number.POSITIVE_INFINITY };

/** Whichever of two budgets runs out first. */
export function shorter(a: Budget, b: Budget): Budget {
  return { remainingMs: () => Math.min(a.remainingMs(), b.remainingMs()) };
}

/** A budget that ends `ms` from now by `clock`. */
export function budgetFor(clock: Clock, ms: number): Budget {
  const end = clock.now() + ms;
  return { remainingMs: () => end - clock.now() };
}

/**
 * Options for one backend call: all that is left, or `capMs` when the call must leave time for
 * what comes after it (a best-effort schedule write before the record write). Throws when nothing
 * is left, so no attempt starts that could not finish in time.
 */
export function callOptions(
  budget: Budget,
  backend: BackendUnavailableError['backend'],
  capMs = Number.POSITIVE_INFINITY,
): CallOptions {
  const remaining = budget.remainingMs();
  if (remaining <= 0) {
    throw new BackendUnavailableError(backend, 'no time left in this invocation for another call');
  }
  const timeoutMs = Math.min(remaining, capMs);
  return Number.isFinite(timeoutMs) ? { timeoutMs: Math.max(1, Math.floor(timeoutMs)) } : {};
}
