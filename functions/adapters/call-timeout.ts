import type { CallOptions } from '../core/ports.js';

/** A backend call cut off by its CallOptions.timeoutMs; adapters turn it into BackendUnavailableError. */
export class CallTimeoutError extends Error {
  override readonly name = 'CallTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
  }
}

/**
 * Runs `call` with an AbortSignal that fires after `options.timeoutMs` (none without one), and
 * settles at that moment whether or not the call honours the signal. The SDK stops its retries
 * and drops the socket when the signal fires. The timer is cleared as soon as the call settles,
 * so no call leaves a timer behind (I7).
 */
export function withCallTimeout<T>(
  options: CallOptions | undefined,
  call: (signal: AbortSignal | undefined) => Promise<T>,
): Promise<T> {
  const timeoutMs = options?.timeoutMs;
  if (timeoutMs === undefined) return call(undefined);
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      controller.abort(new CallTimeoutError(timeoutMs));
      reject(new CallTimeoutError(timeoutMs));
    }, timeoutMs);
    timer.unref();
    call(controller.signal)
      .then(resolve, (error: unknown) =>
        // The SDK rejects with its own AbortError; say why it was aborted.
        reject(controller.signal.aborted ? new CallTimeoutError(timeoutMs) : error),
      )
      .finally(() => clearTimeout(timer));
  });
}
