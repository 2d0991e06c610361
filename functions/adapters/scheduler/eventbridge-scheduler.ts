import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  InternalServerException,
  ResourceNotFoundException,
  ServiceQuotaExceededException,
  ThrottlingException,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import type { CreateScheduleCommandInput, SchedulerClient } from '@aws-sdk/client-scheduler';
import type { Clock } from '../../core/clock.js';
import { BackendUnavailableError } from '../../core/errors.js';
import type { ExpiryScheduler, ScheduleRequest } from '../../core/ports.js';
import { isTransientAwsError, withRetry } from '../retry.js';
import type { RetryOptions } from '../retry.js';

export interface EventBridgeExpirySchedulerConfig {
  groupName: string;
  /** The expiry Lambda. */
  targetArn: string;
  /** A role that may invoke only the target. */
  roleArn: string;
  /** SQS queue that receives firings the scheduler could not deliver. */
  deadLetterArn: string;
  /** How long Scheduler keeps retrying a failed invocation (60-86400). Default 3600. */
  maxEventAgeSeconds?: number;
  /** Scheduler's own invocation retries (0-185). Default 20. */
  maxRetryAttempts?: number;
  retry?: Omit<RetryOptions, 'isRetryable'>;
  /** The service's clock: a fire time already due is moved to a few seconds after its now. */
  clock: Clock;
  /** Told of every throttled call, retried or not, so throttling shows on a dashboard before it hurts. */
  onThrottle?: () => void;
}

// An expiry noticed more than an hour late is a failure to alarm on, not to keep retrying:
// after that it waits in the dead-letter queue. 20 attempts with Scheduler's exponential backoff
// ride out a throttled or redeploying Lambda; the event age is the bound that matters.
const DEFAULT_MAX_EVENT_AGE_SECONDS = 3600;
const DEFAULT_MAX_RETRY_ATTEMPTS = 20;
// Worst case about 1.5 s of backoff in total: short enough for a synchronous API call.
const DEFAULT_RETRY = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 2000 };
// Update -> Create -> Update ... : each step is taken only after another writer changed the
// schedule in between, so a few steps converge; more means something is wrong.
const MAX_UPSERT_STEPS = 6;
const MIN_LEAD_MS = 5_000;

/** `at()` takes whole seconds in the given timezone; a fractional second is rounded up, never early. */
export function atExpression(fireAt: number): string {
  if (!Number.isFinite(fireAt)) throw new RangeError(`fireAt must be an epoch ms, got ${fireAt}`);
  const iso = new Date(Math.ceil(fireAt / 1000) * 1000).toISOString(); // yyyy-mm-ddThh:mm:ss.000Z
  return `at(${iso.slice(0, 19)})`;
}

/**
 * Throttling, 5xx and network errors. This client's own exception classes are matched with
 * `instanceof` (the SDK deserializes into them); isTransientAwsError covers what has no class
 * here: socket errors, timeouts, a bare 5xx from a proxy. Quota errors are hard limits: no retry.
 */
export function isRetryableSchedulerError(err: unknown): boolean {
  if (err instanceof ServiceQuotaExceededException) return false;
  return (
    err instanceof ThrottlingException || err instanceof InternalServerException || isTransientAwsError(err)
  );
}

export class EventBridgeExpiryScheduler implements ExpiryScheduler {
  private readonly retry: RetryOptions;
  private readonly maxEventAgeSeconds: number;
  private readonly maxRetryAttempts: number;

  constructor(
    private readonly client: SchedulerClient,
    private readonly config: EventBridgeExpirySchedulerConfig,
  ) {
    this.maxEventAgeSeconds = config.maxEventAgeSeconds ?? DEFAULT_MAX_EVENT_AGE_SECONDS;
    this.maxRetryAttempts = config.maxRetryAttempts ?? DEFAULT_MAX_RETRY_ATTEMPTS;
    // Scheduler would reject every call with a ValidationException: fail at start-up instead.
    if (
      !Number.isInteger(this.maxEventAgeSeconds) ||
      this.maxEventAgeSeconds < 60 ||
      this.maxEventAgeSeconds > 86400
    ) {
      throw new RangeError(
        `maxEventAgeSeconds must be an integer in 60..86400, got ${this.maxEventAgeSeconds}`,
      );
    }
    if (
      !Number.isInteger(this.maxRetryAttempts) ||
      this.maxRetryAttempts < 0 ||
      this.maxRetryAttempts > 185
    ) {
      throw new RangeError(`maxRetryAttempts must be an integer in 0..185, got ${this.maxRetryAttempts}`);
    }
    const onThrottle = config.onThrottle;
    this.retry = {
      ...DEFAULT_RETRY,
      ...config.retry,
      isRetryable: (err) => {
        if (onThrottle !== undefined && err instanceof ThrottlingException) onThrottle();
        return isRetryableSchedulerError(err);
      },
    };
  }

  async upsert(request: ScheduleRequest): Promise<void> {
    // The schedule usually exists (steady state: a heartbeat moves its deadline), so Update first.
    // Create on ResourceNotFound; back to Update on Conflict, when another writer created it in
    // between (or our own earlier Create succeeded but its response was lost). A Conflict on
    // Update (another writer changing the same schedule at that moment) is simply tried again.
    // The input is built per call: a fire time clamped to "a few seconds ahead" must stay ahead
    // after retries and timeouts.
    let op: 'update' | 'create' = 'update';
    let lastError: unknown;
    for (let step = 0; step < MAX_UPSERT_STEPS; step++) {
      try {
        await this.call(() =>
          op === 'update'
            ? this.client.send(new UpdateScheduleCommand(this.scheduleInput(request)))
            : this.client.send(new CreateScheduleCommand(this.scheduleInput(request))),
        );
        return;
      } catch (err) {
        lastError = err;
        if (op === 'update' && err instanceof ResourceNotFoundException) op = 'create';
        else if (err instanceof ConflictException) op = 'update';
        else throw this.failure(`upsert of schedule ${request.name} failed`, err);
      }
    }
    throw this.unavailable(`upsert of schedule ${request.name} did not converge`, lastError);
  }

  async delete(name: string): Promise<void> {
    try {
      await this.call(() =>
        this.client.send(new DeleteScheduleCommand({ Name: name, GroupName: this.config.groupName })),
      );
    } catch (err) {
      if (err instanceof ResourceNotFoundException) return; // already gone: the goal is reached
      throw this.failure(`delete of schedule ${name} failed`, err);
    }
  }

  /** One input for Create and Update alike: Update replaces the whole schedule, so send every field. */
  private scheduleInput({ name, fireAt, payload }: ScheduleRequest): CreateScheduleCommandInput {
    // A one-time schedule cannot be created in the past. A time already due (putting back a
    // schedule whose firing is in flight) becomes "a few seconds from now": it fires at once, as
    // it would have, and the expiry handler decides from the record what is due.
    const at = Math.max(fireAt, this.config.clock.now() + MIN_LEAD_MS);
    return {
      Name: name,
      GroupName: this.config.groupName,
      ScheduleExpression: atExpression(at),
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'DELETE',
      State: 'ENABLED',
      Target: {
        Arn: this.config.targetArn,
        RoleArn: this.config.roleArn,
        Input: JSON.stringify(payload),
        RetryPolicy: {
          MaximumEventAgeInSeconds: this.maxEventAgeSeconds,
          MaximumRetryAttempts: this.maxRetryAttempts,
        },
        DeadLetterConfig: { Arn: this.config.deadLetterArn },
      },
    };
  }

  private call<T>(send: () => Promise<T>): Promise<T> {
    return withRetry(send, this.retry);
  }

  /**
   * Throttling, 5xx and network trouble that outlasted the retries may pass: 503, the agent
   * retries. Anything else (AccessDenied, a validation error, a missing schedule group) is a bug or
   * a misconfiguration that no retry fixes: a plain error, i.e. a 500 that alarms, rather than a
   * 503 that would send the whole fleet into retries and hide it.
   */
  private failure(message: string, cause: unknown): Error {
    if (isRetryableSchedulerError(cause) || cause instanceof ConflictException)
      return this.unavailable(message, cause);
    const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    return new Error(`${message} (${detail})`, { cause });
  }

  private unavailable(message: string, cause: unknown): BackendUnavailableError {
    const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    const retryAfterSeconds = Math.max(1, Math.ceil(this.retry.maxDelayMs / 1000));
    return new BackendUnavailableError('scheduler', `${message} (${detail})`, retryAfterSeconds, { cause });
  }
}
