/** Retry with full-jitter exponential backoff, for transient errors from AWS (or AWS-like) APIs. */

export interface RetryOptions {
  /** Total calls including the first; 1 means no retry. */
  maxAttempts: number;
  /** Cap of the first backoff; doubles for each later attempt. */
  baseDelayMs: number;
  /** No single backoff exceeds this. */
  maxDelayMs: number;
  isRetryable: (err: unknown) => boolean;
  /** Injected so tests do not wait. */
  sleep?: (ms: number) => Promise<void>;
  /** Injected so tests can pin the jitter; returns a number in [0, 1). */
  random?: () => number;
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Full jitter (a uniform draw in [0, cap)) rather than a fixed backoff: many Lambdas throttled
 * at the same moment would otherwise retry in lockstep and be throttled again together.
 * `retry` is 1 for the wait after the first failed call.
 */
export function backoffDelayMs(
  retry: number,
  options: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs'>,
  random: () => number = Math.random,
): number {
  const cap = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (retry - 1));
  return Math.floor(random() * cap);
}

/** Calls `fn` until it succeeds, fails with a non-retryable error, or attempts run out; then rethrows. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const sleep = options.sleep ?? realSleep;
  const maxAttempts = Math.max(1, Math.floor(options.maxAttempts));
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= maxAttempts || !options.isRetryable(err)) throw err;
      await sleep(backoffDelayMs(attempt, options, options.random));
    }
  }
}

// Every AWS client ships its own exception classes (client-scheduler's ThrottlingException is
// not client-dynamodb's), so a helper shared by all adapters cannot use `instanceof`: it reads
// the fields the SDK puts on every error (`name`, `$metadata`, `$retryable`, Node's `code`),
// the same ones the SDK's own retry strategy classifies by. Adapters add `instanceof` checks
// for their service's classes on top.
const THROTTLING_NAMES = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'Throttling',
  'ThrottledException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'RequestThrottledException',
  'SlowDown',
]);
const TIMEOUT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

interface AwsErrorShape {
  name?: unknown;
  code?: unknown;
  $retryable?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  cause?: unknown;
}

/**
 * True for throttling, 5xx and network/timeout errors, which are worth retrying. Quota errors
 * (e.g. Scheduler's ServiceQuotaExceededException) are deliberately not: a hard limit does not
 * lift within a retry window.
 */
export function isTransientAwsError(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as AwsErrorShape;
  // An aborted call was cancelled on purpose: retrying would defeat the caller.
  if (e.name === 'AbortError') return false;
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : 0;
  return (
    e.$retryable !== undefined ||
    (typeof e.name === 'string' && (THROTTLING_NAMES.has(e.name) || TIMEOUT_NAMES.has(e.name))) ||
    (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) ||
    e.$fault === 'server' ||
    status === 429 ||
    status >= 500 ||
    // Socket errors sometimes arrive wrapped by the HTTP handler.
    (depth < 5 && e.cause !== undefined && isTransientAwsError(e.cause, depth + 1))
  );
}
