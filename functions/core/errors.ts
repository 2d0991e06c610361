/**
 * Domain errors. Adapters translate vendor errors into these (keeping `cause`), and one mapper
 * in functions/http turns them into responses with `instanceof`.
 */

/** A conditional write lost a race: someone else changed the record since it was read. */
export class VersionConflictError extends Error {
  override readonly name = 'VersionConflictError';
  constructor(
    readonly agentId: string,
    options?: ErrorOptions,
  ) {
    super(`agent ${agentId} was changed concurrently`, options);
  }
}

/** A backend (store, scheduler, event bus) could not be reached or kept failing; the caller may retry. */
export class BackendUnavailableError extends Error {
  override readonly name = 'BackendUnavailableError';
  constructor(
    readonly backend: 'store' | 'scheduler' | 'secrets' | 'events',
    message: string,
    readonly retryAfterSeconds = 1,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A list cursor that this store did not issue (tampered with, truncated, or from another API). */
export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';
  constructor(options?: ErrorOptions) {
    super('the cursor is not one this service issued; start again without it', options);
  }
}
