import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import type { RetryErrorInfo, RetryStrategyV2, RetryToken, StandardRetryToken } from '@smithy/types';

/**
 * Attempts per SDK call, the first included. Every AWS call of the service has a 2 s request
 * timeout, so a call gives up after about 3 x 2 s plus backoff at most, and the invocation's
 * budget (an AbortSignal per call) cuts it shorter when less is left.
 */
export const AWS_MAX_ATTEMPTS = 3;

/** Full jitter under a cap that doubles per retry: 0-100 ms before the first, then 0-200 ms, at most 1 s. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(1_000, 100 * 2 ** (attempt - 1)));
}

/**
 * The one retry policy of every AWS client here: the SDK's own strategy (its token bucket stops
 * retry storms when a service is down), with a short jittered backoff so retries fit a
 * synchronous API call. `onThrottle` is told of every throttled attempt, the last one included,
 * so throttling shows on the dashboard before it costs anything.
 */
export function awsRetryStrategy(onThrottle?: () => void): RetryStrategyV2 {
  const inner = new ConfiguredRetryStrategy(AWS_MAX_ATTEMPTS, (attempt) => backoffMs(attempt));
  return {
    acquireInitialRetryToken: (scope: string) => inner.acquireInitialRetryToken(scope),
    refreshRetryTokenForRetry: (token: RetryToken, info: RetryErrorInfo) => {
      if (info.errorType === 'THROTTLING') onThrottle?.();
      return inner.refreshRetryTokenForRetry(token as StandardRetryToken, info);
    },
    recordSuccess: (token: RetryToken) => inner.recordSuccess(token as StandardRetryToken),
  };
}
