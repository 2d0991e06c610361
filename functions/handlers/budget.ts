import { budgetFor } from '../core/budget.js';
import type { Budget, Clock } from '../core/ports.js';

/** What the handlers read of a Lambda context (the local runner passes none). */
export interface InvocationContext {
  awsRequestId?: string;
  getRemainingTimeInMillis?: () => number;
}

/**
 * The invocation's budget (DESIGN.md I10): what Lambda says is left, less `marginMs` to answer
 * (build the response, flush metrics); `fallbackMs` when there is no Lambda context (the local
 * runner, tests).
 */
export function invocationBudget(
  clock: Clock,
  context: InvocationContext | undefined,
  limits: { fallbackMs: number; marginMs: number },
): Budget {
  const remaining = context?.getRemainingTimeInMillis?.() ?? limits.fallbackMs;
  return budgetFor(clock, remaining - limits.marginMs);
}
