import { z } from 'zod';
import type { HeartbeatPolicy } from './core/heartbeat.js';
import { LIMITS } from './core/limits.js';

type Env = Record<string, string | undefined>;

const seconds = (fallback: number) =>
  z.coerce.number().int().positive().max(LIMITS.maxTtlSeconds).default(fallback);

const policySchema = z.object({
  HEARTBEAT_TTL_SECONDS: seconds(90),
  HEARTBEAT_INTERVAL_SECONDS: seconds(30),
  MIN_TTL_SECONDS: seconds(60),
});

const persistenceSchema = z.discriminatedUnion('PERSISTENCE', [
  z.object({ PERSISTENCE: z.literal('dynamodb'), TABLE_NAME: z.string().min(1) }),
  z.object({ PERSISTENCE: z.literal('couchbase'), COUCHBASE_SECRET_ARN: z.string().min(1) }),
]);

/** What a Couchbase connection needs; in AWS it is the JSON of the COUCHBASE_SECRET_ARN secret. */
export const couchbaseSettingsSchema = z.object({
  connectionString: z.string().min(1),
  username: z.string().min(1),
  password: z.string().min(1),
  bucket: z.string().min(1),
  scope: z.string().min(1).optional(),
  collection: z.string().min(1).optional(),
});
export type CouchbaseSettings = z.infer<typeof couchbaseSettingsSchema>;

/** The token secret's JSON: the current token and, during a rotation, the previous one. */
export const tokenSecretSchema = z.object({
  current: z.string().min(1),
  previous: z.string().min(1).optional(),
});

const schedulerSchema = z.object({
  SCHEDULE_GROUP: z.string().min(1),
  EXPIRY_FUNCTION_ARN: z.string().startsWith('arn:'),
  SCHEDULER_ROLE_ARN: z.string().startsWith('arn:'),
  EXPIRY_DLQ_ARN: z.string().startsWith('arn:'),
});

export const DEV_TOKEN = 'dev-heartbeat-token';

const localSchema = policySchema.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  COUCHBASE_CONNSTR: z.string().min(1).optional(),
  COUCHBASE_USERNAME: z.string().min(1).optional(),
  COUCHBASE_PASSWORD: z.string().min(1).optional(),
  COUCHBASE_BUCKET: z.string().min(1).optional(),
  COUCHBASE_SCOPE: z.string().min(1).optional(),
  COUCHBASE_COLLECTION: z.string().min(1).optional(),
  HOST: z.string().default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('./.data'),
  HEARTBEAT_TOKEN: z.string().min(1).default(DEV_TOKEN),
  MIN_TTL_SECONDS: seconds(1),
  RECONCILE_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
});

export type LocalConfig = ReturnType<typeof readLocalConfig>;
export type SchedulerConfig = ReturnType<typeof readSchedulerConfig>;

// Each Lambda reads only the settings it uses, so each function's environment (and IAM policy)
// holds only what it needs. All are read once at start-up and fail fast with a clear message.

export type PersistenceConfig =
  { kind: 'dynamodb'; tableName: string } | { kind: 'couchbase'; secretId: string };

export function readPersistence(env: Env): PersistenceConfig {
  const c = parseOrThrow(persistenceSchema, { PERSISTENCE: 'dynamodb', ...env });
  return c.PERSISTENCE === 'dynamodb'
    ? { kind: 'dynamodb', tableName: c.TABLE_NAME }
    : { kind: 'couchbase', secretId: c.COUCHBASE_SECRET_ARN };
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

export function readPolicy(env: Env): HeartbeatPolicy {
  return toPolicy(parseOrThrow(policySchema, env));
}

export type TokenConfig = { kind: 'secret'; secretId: string } | { kind: 'static'; tokens: string[] };

/**
 * In AWS the tokens come from a secret (HEARTBEAT_TOKENS_SECRET_ARN). HEARTBEAT_TOKENS, a
 * comma-separated list, is for tests and self-hosting without Secrets Manager.
 */
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

/** The local runner's store: the embedded dynalite, or Couchbase when COUCHBASE_CONNSTR is set. */
export type LocalStoreConfig =
  { kind: 'dynalite'; dataDir: string } | { kind: 'couchbase'; settings: CouchbaseSettings };

export function readLocalConfig(env: Env) {
  const c = parseOrThrow(localSchema, env);
  return {
    policy: toPolicy(c),
    port: c.PORT,
    host: c.HOST,
    store: localStore(c),
    token: c.HEARTBEAT_TOKEN,
    tokenIsDefault: env.HEARTBEAT_TOKEN === undefined,
    reconcileIntervalSeconds: c.RECONCILE_INTERVAL_SECONDS,
  };
}

function localStore(c: z.infer<typeof localSchema>): LocalStoreConfig {
  if (c.COUCHBASE_CONNSTR === undefined) return { kind: 'dynalite', dataDir: c.DATA_DIR };
  const missing = (['COUCHBASE_USERNAME', 'COUCHBASE_PASSWORD', 'COUCHBASE_BUCKET'] as const).filter(
    (name) => c[name] === undefined,
  );
  if (missing.length > 0) {
    throw new Error(
      `invalid configuration:\n  COUCHBASE_CONNSTR is set, so ${missing.join(', ')} must be too`,
    );
  }
  const settings = parseOrThrow(couchbaseSettingsSchema, {
    connectionString: c.COUCHBASE_CONNSTR,
    username: c.COUCHBASE_USERNAME,
    password: c.COUCHBASE_PASSWORD,
    bucket: c.COUCHBASE_BUCKET,
    scope: c.COUCHBASE_SCOPE,
    collection: c.COUCHBASE_COLLECTION,
  });
  return { kind: 'couchbase', settings };
}

function toPolicy(c: z.infer<typeof policySchema>): HeartbeatPolicy {
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

function parseOrThrow<T extends z.ZodType>(schema: T, env: Env): z.infer<T> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
  throw new Error(`invalid configuration:\n${lines.join('\n')}`);
}
