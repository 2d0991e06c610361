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

const storeSchema = z.object({ TABLE_NAME: z.string().min(1) });

const schedulerSchema = z.object({
  SCHEDULE_GROUP: z.string().min(1),
  EXPIRY_FUNCTION_ARN: z.string().startsWith('arn:'),
  SCHEDULER_ROLE_ARN: z.string().startsWith('arn:'),
  EXPIRY_DLQ_ARN: z.string().startsWith('arn:'),
});

/** Comma-separated so a new token can be added before the old one is retired. */
const tokensSchema = z.object({ HEARTBEAT_TOKENS: z.string().min(1) });

export const DEV_TOKEN = 'dev-heartbeat-token';

const localSchema = policySchema.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('./.data'),
  HEARTBEAT_TOKEN: z.string().min(1).default(DEV_TOKEN),
  MIN_TTL_SECONDS: seconds(1),
});

export type LocalConfig = ReturnType<typeof readLocalConfig>;
export type SchedulerConfig = ReturnType<typeof readSchedulerConfig>;

// Each Lambda reads only the settings it uses, so each function's environment (and IAM policy)
// holds only what it needs. All are read once at start-up and fail fast with a clear message.

export function readStoreConfig(env: Env) {
  return { tableName: parseOrThrow(storeSchema, env).TABLE_NAME };
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

export function readTokens(env: Env): string[] {
  const tokens = parseOrThrow(tokensSchema, env)
    .HEARTBEAT_TOKENS.split(',')
    .map((token) => token.trim())
    .filter((token) => token.length > 0);
  if (tokens.length === 0)
    throw new Error('invalid configuration:\n  HEARTBEAT_TOKENS: no token in the list');
  return tokens;
}

export function readLocalConfig(env: Env) {
  const c = parseOrThrow(localSchema, env);
  return {
    policy: toPolicy(c),
    port: c.PORT,
    host: c.HOST,
    dataDir: c.DATA_DIR,
    token: c.HEARTBEAT_TOKEN,
    tokenIsDefault: env.HEARTBEAT_TOKEN === undefined,
  };
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
