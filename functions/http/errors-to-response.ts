import { BackendUnavailableError, InvalidCursorError } from '../core/errors.js';
import type { Log } from '../core/ports.js';
import { HttpError, type HttpResult, badRequest, serviceUnavailable } from './problem.js';

/**
 * The one place errors become responses. Client mistakes were already HttpErrors; a backend that
 * is down is a 503 the agent retries; anything else is a bug: logged in full, answered with no detail.
 */
export function errorToResponse(error: unknown, log: Log, requestId: string | undefined): HttpResult {
  if (error instanceof HttpError) return error.toResponse();
  if (error instanceof InvalidCursorError) {
    return badRequest(error.message, [{ pointer: '/cursor', detail: error.message }]).toResponse();
  }
  if (error instanceof BackendUnavailableError) {
    log.warn('backend unavailable', { backend: error.backend, error });
    return serviceUnavailable(
      `the ${error.backend} is unavailable; retry later`,
      error.retryAfterSeconds,
    ).toResponse();
  }
  log.error('unhandled error', { error, requestId });
  return new HttpError(
    500,
    'internal-error',
    'Internal error',
    `an unexpected error occurred (request ${requestId ?? 'unknown'})`,
  ).toResponse();
}
