import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type * as z from 'zod/mini';
import type { Clock } from '../core/ports.js';
import { BackendUnavailableError } from '../core/errors.js';
import { describeProblems, toFieldProblems } from '../core/validation.js';

export interface SecretSourceOptions<T extends z.ZodMiniType> {
  client: SecretsManagerClient;
  secretId: string;
  /** The secret's JSON shape; a secret that does not match is a misconfiguration, said clearly. */
  schema: T;
  clock: Clock;
  /** Re-read after this long, so a rotated secret is picked up without a redeploy. */
  maxAgeMs: number;
}

/**
 * A JSON secret read once and then at most every `maxAgeMs`, in the request path (no timers).
 * If a refresh fails the last good value keeps being served: a Secrets Manager hiccup must not
 * turn every heartbeat into a 503. Only a first read that fails is an error.
 */
export function cachedJsonSecret<T extends z.ZodMiniType>(
  options: SecretSourceOptions<T>,
): () => Promise<z.infer<T>> {
  let cached: { value: z.infer<T>; at: number } | undefined;
  let inFlight: Promise<z.infer<T>> | undefined;

  const fetchSecret = async (): Promise<z.infer<T>> => {
    let text: string | undefined;
    try {
      text = (await options.client.send(new GetSecretValueCommand({ SecretId: options.secretId })))
        .SecretString;
    } catch (error) {
      throw new BackendUnavailableError('secrets', `could not read secret ${options.secretId}`, 1, {
        cause: error,
      });
    }
    const parsed = options.schema.safeParse(parseJson(text));
    if (!parsed.success) {
      throw new Error(
        `secret ${options.secretId} does not have the expected JSON shape: ${describeProblems(toFieldProblems(parsed.error.issues))}`,
      );
    }
    cached = { value: parsed.data, at: options.clock.now() };
    return parsed.data;
  };

  return async () => {
    if (cached !== undefined && options.clock.now() - cached.at < options.maxAgeMs) return cached.value;
    // One refresh at a time, however many requests arrive meanwhile.
    inFlight ??= fetchSecret().finally(() => (inFlight = undefined));
    if (cached === undefined) return inFlight;
    const stale = cached;
    return inFlight.catch(() => {
      // Serve the last good value and wait a full maxAge before trying again, rather than making
      // every request during an outage wait for another failing read.
      cached = { value: stale.value, at: options.clock.now() };
      return stale.value;
    });
  };
}

function parseJson(text: string | undefined): unknown {
  try {
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}
