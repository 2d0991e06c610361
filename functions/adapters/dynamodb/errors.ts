import {
  ConditionalCheckFailedException,
  InternalServerError,
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb';
import { BackendUnavailableError, VersionConflictError } from '../../core/errors.js';
import { isTransientAwsError } from '../aws-errors.js';
import { CallTimeoutError } from '../call-timeout.js';

/**
 * Maps SDK errors to domain errors, keeping the original as `cause`:
 * - a failed condition is a lost race (VersionConflictError);
 * - throttling, 5xx, timeouts (the SDK's, or the caller's deadline) and connection failures may
 *   pass, so they become BackendUnavailableError (503 + Retry-After); a write that timed out may
 *   still have been applied, which the core's write protocol finds out by reading back;
 * - everything else (ValidationException such as an item over 400 KB, AccessDenied, a missing
 *   table) is a bug or misconfiguration that no retry fixes. It stays a plain Error, i.e. a 500
 *   that alarms, rather than a 503 that would tell every agent to retry forever and hide the bug.
 */
export function translateError(error: unknown, operation: string, agentId: string | undefined): Error {
  if (error instanceof ConditionalCheckFailedException && agentId !== undefined) {
    return new VersionConflictError(agentId, { cause: error });
  }
  const subject = agentId === undefined ? '' : ` for agent ${agentId}`;
  if (
    error instanceof CallTimeoutError ||
    error instanceof ProvisionedThroughputExceededException ||
    error instanceof RequestLimitExceeded ||
    error instanceof ThrottlingException ||
    error instanceof InternalServerError ||
    isTransientAwsError(error)
  ) {
    return new BackendUnavailableError(
      'store',
      `DynamoDB ${operation}${subject} failed: ${errorName(error)}`,
      1,
      {
        cause: error,
      },
    );
  }
  return new Error(`DynamoDB ${operation}${subject} failed: ${errorName(error)}`, { cause: error });
}

function errorName(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? `${error.name} (${code})` : error.name;
}
