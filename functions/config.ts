import * as z from 'zod/mini';
import type { HeartbeatPolicy } from './core/heartbeat.js';
import type { GuardSettings } from './core/ports.js';
import { LIMITS } from './core/limits.js';
import { isValidBucketSeconds } from './core/pulse.js';
import { toFieldProblems } from './core/validation.js';

export type Env = Record<string, string | undefined>;

/** A whole number from the environment (a string there), within bounds, or a default when unset. */
export const wholeNumber = (min: number, max: number, fallback: number) =>
  z._default(z.pipe(z.coerce.number(), z.int().check(z.minimum(min), z.maximum(max))), fallback);
export const seconds = (fallback: number) => wholeNumber(1, LIMITS.maxTtlSeconds, fallback);
export const nonEmpty = () => z.string().check(z.minLength(1));
const arn = () => z.string().check(z.startsWith('arn:'));

export const policySchema = z.object({
  HEARTBEAT_TTL_SECONDS: seconds(90),
  HEARTBEAT_INTERVAL_SECONDS: seconds(30),
  MIN_TTL_SECONDS: seconds(60),
});

const persistenceSchema = z.discriminatedUnion('PERSISTENCE', [
  z.object({ PERSISTENCE: z.literal('dynamodb'), TABLE_NAME: nonEmpty(), CHECKS_TABLE_NAME: nonEmpty() }),
  z.object({ PERSISTENCE: z.literal('couchbase'), COUCHBASE_SECRET_ARN: nonEmpty() }),
]);

/** What a Couchbase connection needs; in AWS it is the JSON of the COUCHBASE_SECRET_ARN secret. */
export const couchbaseSettingsSchema = z.object({
  connectionString: nonEmpty(),
  username: nonEmpty(),
  password: nonEmpty(),
  bucket: nonEmpty(),
  scope: z.optional(nonEmpty()),
  collection: z.optional(nonEmpty()),
});
export type CouchbaseSettings = z.infer<typeof couchbaseSettingsSchema>;

/** The token secret's JSON: the current token and, during a rotation, the previous one. */
export const tokenSecretSchema = z.object({
  current: nonEmpty(),
  previous: z.optional(nonEmpty()),
});

const schedulerSchema = z.object({
  SCHEDULE_GROUP: nonEmpty(),
  EXPIRY_FUNCTION_ARN: arn(),
  SCHEDULER_ROLE_ARN: arn(),
  EXPIRY_DLQ_ARN: arn(),
});

export type SchedulerConfig = ReturnType<typeof readSchedulerConfig>;

// Each Lambda reads only the settings it uses, so each function's environment (and IAM policy)
// holds only what it needs. All are read once at start-up and fail fast with a clear message.

export type PersistenceConfig =
  { kind: 'dynamodb'; tableName: string; checksTableName: string } | { kind: 'couchbase'; secretId: string };

export function readPersistence(env: Env): PersistenceConfig {
  const c = parseOrThrow(persistenceSchema, { PERSISTENCE: 'dynamodb', ...env });
  return c.PERSISTENCE === 'dynamodb'
    ? { kind: 'dynamodb', tableName: c.TABLE_NAME, checksTableName: c.CHECKS_TABLE_NAME }
    : { kind: 'couchbase', secretId: c.COUCHBASE_SECRET_ARN };
}

/** The event bus the functions publish to (issue 10): set by the stack on every function that does. */
const eventsSchema = z.object({ EVENT_BUS_NAME: nonEmpty() });

export function readEventsConfig(env: Env): { eventBusName: string } {
  return { eventBusName: parseOrThrow(eventsSchema, env).EVENT_BUS_NAME };
}

export function readSchedulerConfig(env: Env) {
  const c = parseOrThrow(schedulerSchema, env);
  return {
    groupName: c.SCHEDULE_GROUP,
    targetArn: c.EXPIRY_FUNCTION_ARN,
    roleArn: c.SCHEDULER_ROLE_ARN,
    deadLetterArn: c.EXPIRY_DLQ_ARN,
  };
}

/** The fleet pulse's bucket (issue 9): finer than the shortest TTL, whole seconds dividing an hour. */
export const pulseBucketSeconds = (fallback: number) =>
  z._default(
    z.pipe(
      z.coerce.number(),
      z
        .int()
        .check(
          z.refine(
            isValidBucketSeconds,
            'PULSE_BUCKET_SECONDS must be whole seconds that divide an hour (1, 2, 5, 10, 30, 60, ...)',
          ),
        ),
    ),
    fallback,
  );

const pulseSchema = z.object({ PULSE_BUCKET_SECONDS: pulseBucketSeconds(10) });

export function readPulseConfig(env: Env): { bucketMs: number } {
  return { bucketMs: parseOrThrow(pulseSchema, env).PULSE_BUCKET_SECONDS * 1000 };
}

/** The expiry guard's thresholds (core/expiry-guard.ts), the same names in AWS and locally. */
export const guardShape = {
  EXPIRY_MAX_DEFER_SECONDS: wholeNumber(0, 86_400, 600),
  PULSE_DEGRADED_SHARE: share(0.5),
  PULSE_BASELINE_SECONDS: wholeNumber(60, 6 * 3600, 3600),
  PULSE_MIN_BASELINE: wholeNumber(1, 1_000_000, 10),
  MASS_EXPIRY_SHARE: share(0.2),
};

function share(fallback: number) {
  return z._default(z.pipe(z.coerce.number(), z.number().check(z.gt(0), z.lte(1))), fallback);
}

type GuardConfig = z.infer<z.ZodMiniObject<typeof guardShape>> & { PULSE_BUCKET_SECONDS: number };

/** The guard's settings from validated configuration, the functions' and the local runner's alike. */
export function toGuardSettings(c: GuardConfig, recheckMs: number): GuardSettings {
  return {
    bucketMs: c.PULSE_BUCKET_SECONDS * 1000,
    maxDeferMs: c.EXPIRY_MAX_DEFER_SECONDS * 1000,
    degradedShare: c.PULSE_DEGRADED_SHARE,
    baselineMs: c.PULSE_BASELINE_SECONDS * 1000,
    minBaselinePerBucket: c.PULSE_MIN_BASELINE,
    massShare: c.MASS_EXPIRY_SHARE,
    recheckMs,
  };
}

/**
 * `recheckMs`: how soon a deferred agent is looked at again; in AWS the scheduler's precision
 * (a minute), locally a few seconds.
 */
export function readGuardConfig(env: Env, recheckMs: number, bucketDefaultSeconds = 10): GuardSettings {
  const c = parseOrThrow(
    z.object({ PULSE_BUCKET_SECONDS: pulseBucketSeconds(bucketDefaultSeconds), ...guardShape }),
    env,
  );
  return toGuardSettings(c, recheckMs);
}

/** Reaping (core/reap.ts): days a record stays expired or deregistered before it goes; 0 never. */
export const reapShape = { REAP_AFTER_DAYS: wholeNumber(0, 3650, 7) };
const DAY_MS = 86_400_000;

export function readReapAfterMs(env: Env): number {
  return parseOrThrow(z.object(reapShape), env).REAP_AFTER_DAYS * DAY_MS;
}

export function readPolicy(env: Env): HeartbeatPolicy {
  return toPolicy(parseOrThrow(policySchema, env));
}

export type TokenConfig = { kind: 'secret'; secretId: string } | { kind: 'static'; tokens: string[] };

/**
 * In AWS the tokens come from a secret (HEARTBEAT_TOKENS_SECRET_ARN). HEARTBEAT_TOKENS, a
 * comma-separated list, is for tests and self-hosting without Secrets Manager.
 */
/**
 * How agents authenticate (AGENT_AUTH): `fleet`, one token for the fleet (the default), or
 * `per-agent`, each agent's own token derived from the secret (http/auth.ts, agentToken).
 */
export type AgentAuthMode = 'fleet' | 'per-agent';
const agentAuthShape = { AGENT_AUTH: z._default(z.enum(['fleet', 'per-agent']), 'fleet') };

export function readAgentAuth(env: Env): AgentAuthMode {
  return parseOrThrow(z.object(agentAuthShape), env).AGENT_AUTH;
}

export function readTokens(env: Env): TokenConfig {
  const secretId = env.HEARTBEAT_TOKENS_SECRET_ARN?.trim();
  if (secretId) return { kind: 'secret', secretId };
  const tokens = (env.HEARTBEAT_TOKENS ?? '')
    .split(',')
    .map((token) => token.trim())
    .filter((token) => token.length > 0);
  if (tokens.length === 0) {
    throw new Error(
      'invalid configuration:\n  HEARTBEAT_TOKENS_SECRET_ARN (or HEARTBEAT_TOKENS): no token configured',
    );
  }
  return { kind: 'static', tokens };
}

export function toPolicy(c: z.infer<typeof policySchema>): HeartbeatPolicy {
  if (c.HEARTBEAT_TTL_SECONDS < c.MIN_TTL_SECONDS || c.HEARTBEAT_INTERVAL_SECONDS > c.HEARTBEAT_TTL_SECONDS) {
    throw new Error(
      `configuration: need MIN_TTL_SECONDS (${c.MIN_TTL_SECONDS}) <= HEARTBEAT_TTL_SECONDS (${c.HEARTBEAT_TTL_SECONDS}) ` +
        `and HEARTBEAT_INTERVAL_SECONDS (${c.HEARTBEAT_INTERVAL_SECONDS}) <= HEARTBEAT_TTL_SECONDS`,
    );
  }
  return {
    defaultTtlSeconds: c.HEARTBEAT_TTL_SECONDS,
    defaultIntervalSeconds: c.HEARTBEAT_INTERVAL_SECONDS,
    minTtlSeconds: c.MIN_TTL_SECONDS,
  };
}

export function parseOrThrow<T extends z.ZodMiniType>(schema: T, env: Env): z.infer<T> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  // Each variable by its name (the pointer without its slash), one per line.
  const lines = toFieldProblems(parsed.error.issues).map((p) => `  ${p.pointer.slice(1)}: ${p.detail}`);
  throw new Error(`invalid configuration:\n${lines.join('\n')}`);
}
