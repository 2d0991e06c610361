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
import { BackendUnavailableError } from '../../core/errors.js';
import type { CallOptions, Clock, ExpiryScheduler, ScheduleRequest } from '../../core/ports.js';
import { isTransientAwsError } from '../aws-errors.js';
import { CallTimeoutError, withCallTimeout } from '../call-timeout.js';

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
  /** The service's clock: a fire time already due is moved to a few seconds after its now. */
  clock: Clock;
}

// An expiry noticed more than an hour late is a failure to alarm on, not to keep retrying:
// after that it waits in the dead-letter queue. 20 attempts with Scheduler's exponential backoff
// ride out a throttled or redeploying Lambda; the event age is the bound that matters.
const DEFAULT_MAX_EVENT_AGE_SECONDS = 3600;
const DEFAULT_MAX_RETRY_ATTEMPTS = 20;
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
export function isTransientSchedulerError(err: unknown): boolean {
  if (err instanceof ServiceQuotaExceededException) return false;
  return (
    err instanceof ThrottlingException || err instanceof InternalServerException || isTransientAwsError(err)
  );
}

/**
 * The scheduler port on EventBridge Scheduler. Retrying throttling, 5xx and network errors is the
 * client's own retry strategy (functions/adapters/aws-retry.ts, set where the client is created);
 * this adapter adds only what the SDK cannot do, the Update / Create / Conflict steps of an
 * upsert, all within the call's CallOptions.timeoutMs.
 */
export class EventBridgeExpiryScheduler implements ExpiryScheduler {
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
  }

  upsert(request: ScheduleRequest, options?: CallOptions): Promise<void> {
    return withCallTimeout(options, (abortSignal) => this.upsertSteps(request, abortSignal)).catch((err) => {
      throw this.failure(`upsert of schedule ${request.name} failed`, err);
    });
  }

  private async upsertSteps(request: ScheduleRequest, abortSignal: AbortSignal | undefined): Promise<void> {
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
        const input = this.scheduleInput(request);
        await (op === 'update'
          ? this.client.send(new UpdateScheduleCommand(input), { abortSignal })
          : this.client.send(new CreateScheduleCommand(input), { abortSignal }));
        return;
      } catch (err) {
        lastError = err;
        if (op === 'update' && err instanceof ResourceNotFoundException) op = 'create';
        else if (err instanceof ConflictException) op = 'update';
        else throw err;
      }
    }
    throw new UpsertDidNotConverge(lastError);
  }

  async delete(name: string, options?: CallOptions): Promise<void> {
    try {
      await withCallTimeout(options, (abortSignal) =>
        this.client.send(new DeleteScheduleCommand({ Name: name, GroupName: this.config.groupName }), {
          abortSignal,
        }),
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

  /**
   * Throttling, 5xx and network trouble that outlasted the retries may pass: 503, the agent
   * retries. Anything else (AccessDenied, a validation error, a missing schedule group) is a bug or
   * a misconfiguration that no retry fixes: a plain error, i.e. a 500 that alarms, rather than a
   * 503 that would send the whole fleet into retries and hide it.
   */
  private failure(message: string, cause: unknown): Error {
    if (cause instanceof UpsertDidNotConverge) {
      return new BackendUnavailableError('scheduler', `${message}: ${cause.message}`, 1, {
        cause: cause.cause,
      });
    }
    const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    if (
      isTransientSchedulerError(cause) ||
      cause instanceof ConflictException ||
      cause instanceof CallTimeoutError
    ) {
      return new BackendUnavailableError('scheduler', `${message} (${detail})`, 1, { cause });
    }
    return new Error(`${message} (${detail})`, { cause });
  }
}

/** Other writers kept changing the schedule between our steps: a 503 the caller may retry. */
class UpsertDidNotConverge extends Error {
  override readonly name = 'UpsertDidNotConverge';
  constructor(cause: unknown) {
    super('other writers kept changing the schedule', { cause });
  }
}
