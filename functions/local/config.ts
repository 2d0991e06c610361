import * as z from 'zod/mini';
import {
  type CouchbaseSettings,
  type Env,
  couchbaseSettingsSchema,
  guardShape,
  reapShape,
  nonEmpty,
  parseOrThrow,
  policySchema,
  pulseBucketSeconds,
  seconds,
  toGuardSettings,
  toPolicy,
  wholeNumber,
} from '../config.js';

// The local runner's settings, apart from the functions' (functions/config.ts) so that no
// Lambda bundle carries them.

export const DEV_TOKEN = 'dev-heartbeat-token';
export const DEV_OPERATOR_TOKEN = 'dev-operator-token';

/** How soon the local runner looks again at an agent whose expiry the guard deferred. */
export const LOCAL_RECHECK_MS = 5_000;

const localSchema = z.extend(policySchema, {
  PORT: wholeNumber(0, 65535, 3000),
  COUCHBASE_CONNSTR: z.optional(nonEmpty()),
  COUCHBASE_USERNAME: z.optional(nonEmpty()),
  COUCHBASE_PASSWORD: z.optional(nonEmpty()),
  COUCHBASE_BUCKET: z.optional(nonEmpty()),
  COUCHBASE_SCOPE: z.optional(nonEmpty()),
  COUCHBASE_COLLECTION: z.optional(nonEmpty()),
  HOST: z._default(z.string(), '127.0.0.1'),
  DATA_DIR: z._default(nonEmpty(), './.data'),
  // Local servers only: the runner signs with dummy credentials.
  DYNAMODB_ENDPOINT: z.optional(
    z.url({ protocol: /^https?$/, hostname: /^(127\.0\.0\.1|localhost|\[::1\])$/ }),
  ),
  // Each event is also POSTed here (with retries), to try an integration on a laptop.
  EVENTS_WEBHOOK_URL: z.optional(z.url({ protocol: /^https?$/ })),
  HEARTBEAT_TOKEN: z._default(nonEmpty(), DEV_TOKEN),
  OPERATOR_TOKEN: z._default(nonEmpty(), DEV_OPERATOR_TOKEN),
  // per-agent: HEARTBEAT_TOKEN is the secret each agent's token derives from (npm run agent-token).
  AGENT_AUTH: z._default(z.enum(['fleet', 'per-agent']), 'fleet'),
  MIN_TTL_SECONDS: seconds(1),
  RECONCILE_INTERVAL_SECONDS: wholeNumber(1, 3600, 60),
  // Finer than the shortest local TTL (1 s is allowed here).
  PULSE_BUCKET_SECONDS: pulseBucketSeconds(1),
  ...guardShape,
  ...reapShape,
});

export type LocalConfig = ReturnType<typeof readLocalConfig>;

/** The local runner's store: the embedded dynalite, or Couchbase when COUCHBASE_CONNSTR is set. */
export type LocalStoreConfig =
  | { kind: 'dynalite'; dataDir: string }
  /** A DynamoDB-compatible server run apart (dynalite, DynamoDB Local): DYNAMODB_ENDPOINT. */
  | { kind: 'dynamodb'; endpoint: string }
  | { kind: 'couchbase'; settings: CouchbaseSettings };

export function readLocalConfig(env: Env) {
  const c = parseOrThrow(localSchema, env);
  if (c.HEARTBEAT_TOKEN === c.OPERATOR_TOKEN) {
    throw new Error(
      'invalid configuration:\n  OPERATOR_TOKEN must differ from HEARTBEAT_TOKEN (credentials apart)',
    );
  }
  return {
    policy: toPolicy(c),
    port: c.PORT,
    host: c.HOST,
    store: localStore(c),
    token: c.HEARTBEAT_TOKEN,
    tokenIsDefault: env.HEARTBEAT_TOKEN === undefined,
    operatorToken: c.OPERATOR_TOKEN,
    agentAuth: c.AGENT_AUTH,
    operatorTokenIsDefault: env.OPERATOR_TOKEN === undefined,
    reconcileIntervalSeconds: c.RECONCILE_INTERVAL_SECONDS,
    ...(c.EVENTS_WEBHOOK_URL === undefined ? {} : { eventsWebhookUrl: c.EVENTS_WEBHOOK_URL }),
    reapAfterMs: c.REAP_AFTER_DAYS * 86_400_000,
    pulseBucketSeconds: c.PULSE_BUCKET_SECONDS,
    // The local scheduler fires to the millisecond: look again soon.
    guard: toGuardSettings(c, LOCAL_RECHECK_MS),
  };
}

function localStore(c: z.infer<typeof localSchema>): LocalStoreConfig {
  if (c.COUCHBASE_CONNSTR === undefined) {
    return c.DYNAMODB_ENDPOINT === undefined
      ? { kind: 'dynalite', dataDir: c.DATA_DIR }
      : { kind: 'dynamodb', endpoint: c.DYNAMODB_ENDPOINT };
  }
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
