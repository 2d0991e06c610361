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

const lambdaSchema = policySchema.extend({
  TABLE_NAME: z.string().min(1),
  SCHEDULE_GROUP: z.string().min(1),
  EXPIRY_FUNCTION_ARN: z.string().startsWith('arn:'),
  SCHEDULER_ROLE_ARN: z.string().startsWith('arn:'),
  EXPIRY_DLQ_ARN: z.string().startsWith('arn:'),
  /** Comma-separated so a new token can be added before the old one is retired. */
  HEARTBEAT_TOKENS: z.string().min(1),
});

export const DEV_TOKEN = 'dev-heartbeat-token';

const localSchema = policySchema.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('./.data'),
  HEARTBEAT_TOKEN: z.string().min(1).default(DEV_TOKEN),
  MIN_TTL_SECONDS: seconds(1),
});

export type LambdaConfig = ReturnType<typeof readLambdaConfig>;
export type LocalConfig = ReturnType<typeof readLocalConfig>;

/** Read once at start-up; a missing or malformed setting stops the process with a clear message. */
export function readLambdaConfig(env: Env) {
  const c = parseOrThrow(lambdaSchema, env);
  return {
    policy: toPolicy(c),
    tableName: c.TABLE_NAME,
    scheduler: {
      groupName: c.SCHEDULE_GROUP,
      targetArn: c.EXPIRY_FUNCTION_ARN,
      roleArn: c.SCHEDULER_ROLE_ARN,
      deadLetterArn: c.EXPIRY_DLQ_ARN,
    },
    tokens: c.HEARTBEAT_TOKENS.split(',')
      .map((token) => token.trim())
      .filter((token) => token.length > 0),
  };
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
