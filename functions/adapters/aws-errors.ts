/**
 * Classifies errors from AWS (and AWS-like) APIs for the adapters' translation into domain errors:
 * transient ones become BackendUnavailableError (503, retry later), the rest plain errors (500).
 * Retrying itself is the SDK's (functions/adapters/aws-retry.ts).
 */

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
