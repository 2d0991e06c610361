import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { z } from 'zod';
import { isValidBucketSeconds } from '../functions/core/pulse.js';

/**
 * Deployment settings, read once from CDK context (`cdk.json`, `cdk.context.json` or `-c key=value`)
 * and validated before any construct is created, so a typo fails `cdk synth` with a message
 * naming the key rather than deploying something half-configured.
 *
 * `-c` always passes strings; `cdk.json` may hold numbers and arrays. Both are accepted.
 */

/** The scheduler fires at minute precision: a shorter TTL could be declared expired early. */
export const MIN_TTL_SECONDS = 60;

const ALLOWED_RETENTION_DAYS = Object.values(RetentionDays).filter(
  (value): value is RetentionDays => typeof value === 'number' && value > 0,
);

const list = (item: z.ZodString) =>
  z.preprocess(
    (value) =>
      typeof value === 'string'
        ? value
            .split(',')
            .map((entry) => entry.trim())
            .filter((entry) => entry.length > 0)
        : value,
    z.array(item),
  );
const awsId = (prefix: string) =>
  z.string().regex(new RegExp(`^${prefix}-[0-9a-f]{8,17}$`), `must look like ${prefix}-0123abcd`);

const optionalText = z.preprocess(
  (value) => (value === '' ? undefined : value),
  z.string().min(1).optional(),
);

const contextSchema = z
  .object({
    stackName: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/)
      .default('HeartbeatService'),
    persistence: z.enum(['dynamodb', 'couchbase']).default('dynamodb'),
    // couchbase mode
    couchbaseSecret: optionalText,
    couchbaseSecretKmsKeyArn: optionalText.pipe(z.string().startsWith('arn:').optional()),
    vpcId: optionalText.pipe(awsId('vpc').optional()),
    availabilityZones: list(z.string().min(1)).optional(),
    subnetIds: list(awsId('subnet')).optional(),
    securityGroupIds: list(awsId('sg')).optional(),
    // heartbeat policy handed to the ingest function
    ttlSeconds: z.coerce.number().int().min(MIN_TTL_SECONDS).max(86_400).default(90),
    intervalSeconds: z.coerce.number().int().min(1).max(86_400).default(30),
    // How often the reconciler repairs lost timers: the bound on the latest a lost timer makes an
    // expiry (on top of the scheduler's minute of precision).
    reconcileMinutes: z.coerce.number().int().min(1).max(60).default(5),
    // The fleet pulse's bucket (functions/core/pulse.ts): finer than the shortest TTL in use.
    pulseBucketSeconds: z.coerce
      .number()
      .refine(isValidBucketSeconds, {
        message: 'must be whole seconds that divide an hour (1, 2, 5, 10, 30, 60, ...)',
      })
      .default(10),
    // The expiry guard: see functions/core/expiry-guard.ts and the README.
    expiryMaxDeferSeconds: z.coerce.number().int().min(0).max(86_400).default(600),
    pulseDegradedShare: z.coerce.number().gt(0).lte(1).default(0.5),
    pulseBaselineSeconds: z.coerce.number().int().min(60).max(21_600).default(3600),
    pulseMinBaseline: z.coerce.number().int().min(1).default(10),
    massExpiryShare: z.coerce.number().gt(0).lte(1).default(0.2),
    // Reaping: days an agent stays expired or deregistered before the reconciler deletes it; 0 never.
    reapAfterDays: z.coerce.number().int().min(0).max(3650).default(7),
    // API stage throttling. 20,000 agents at a 30 s interval send ~670 requests/s; the defaults
    // leave room for a fleet-wide restart without letting a runaway client exhaust the account's
    // Lambda concurrency.
    // fleet: one token for every agent; per-agent: HMAC-SHA256(secret, agentId), so one host
    // cannot report as another (functions/http/auth.ts; `npm run agent-token` prints them).
    agentAuth: z.enum(['fleet', 'per-agent']).default('fleet'),
    apiThrottleRateLimit: z.coerce.number().positive().default(1000),
    apiThrottleBurstLimit: z.coerce.number().int().positive().default(2000),
    logRetentionDays: z.coerce
      .number()
      .refine((days) => (ALLOWED_RETENTION_DAYS as number[]).includes(days), {
        message: `must be one of CloudWatch Logs' retention periods: ${ALLOWED_RETENTION_DAYS.join(', ')}`,
      })
      .default(RetentionDays.ONE_MONTH),
    // Where the functions publish their events (source heartbeat-expiry): create, a bus of the
    // stack's own (its name generated); default, the account's default bus, for rules that
    // already listen there.
    eventBus: z.enum(['create', 'default']).default('create'),
    // on-call
    alarmEmail: optionalText.pipe(z.email().optional()),
    alarmTopicArn: optionalText.pipe(z.string().startsWith('arn:').optional()),
    /** AgentsExpired summed over 5 minutes above this pages: many at once is the pipeline, not the fleet. */
    expirySpikeThreshold: z.coerce.number().int().positive().default(50),
    /** Share of ingest requests answered 5xx over 5 minutes, in percent. */
    ingest5xxRatePercent: z.coerce.number().positive().max(100).default(1),
  })
  .superRefine((c, ctx) => {
    if (c.intervalSeconds > c.ttlSeconds) {
      ctx.addIssue({ code: 'custom', path: ['intervalSeconds'], message: 'must not exceed ttlSeconds' });
    }
    if (c.apiThrottleBurstLimit < c.apiThrottleRateLimit) {
      ctx.addIssue({
        code: 'custom',
        path: ['apiThrottleBurstLimit'],
        message: 'must be at least apiThrottleRateLimit',
      });
    }
    const couchbaseOnly = [
      'couchbaseSecret',
      'couchbaseSecretKmsKeyArn',
      'vpcId',
      'availabilityZones',
      'subnetIds',
      'securityGroupIds',
    ] as const;
    if (c.persistence === 'dynamodb') {
      for (const key of couchbaseOnly) {
        if (c[key] !== undefined) {
          ctx.addIssue({ code: 'custom', path: [key], message: 'is only used with persistence=couchbase' });
        }
      }
      return;
    }
    if (c.couchbaseSecret === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['couchbaseSecret'],
        message:
          'persistence=couchbase needs the name or ARN of the Secrets Manager secret with the connection',
      });
    }
    const placed = c.subnetIds !== undefined && c.subnetIds.length > 0;
    if (placed && c.vpcId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['vpcId'], message: 'is required with subnetIds' });
    }
    for (const key of ['vpcId', 'securityGroupIds', 'availabilityZones'] as const) {
      if (!placed && c[key] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'needs subnetIds' });
      }
    }
  });

export interface VpcPlacement {
  vpcId: string;
  /** Only used to describe the imported VPC; the subnets are given explicitly. */
  availabilityZones: string[];
  subnetIds: string[];
  /** Empty: CDK creates one security group (all egress, no ingress) for the functions. */
  securityGroupIds: string[];
}

export type PersistenceConfig =
  | { kind: 'dynamodb' }
  | {
      kind: 'couchbase';
      /** Name, partial ARN or complete ARN of the secret holding the connection JSON. */
      secret: string;
      /** The secret's customer managed KMS key, when it is not encrypted with aws/secretsmanager. */
      secretKmsKeyArn: string | undefined;
      vpc: VpcPlacement | undefined;
    };

export interface ServiceConfig {
  stackName: string;
  persistence: PersistenceConfig;
  heartbeat: { ttlSeconds: number; intervalSeconds: number; minTtlSeconds: number };
  reconcile: { minutes: number; reapAfterDays: number };
  pulse: { bucketSeconds: number };
  guard: {
    maxDeferSeconds: number;
    degradedShare: number;
    baselineSeconds: number;
    minBaseline: number;
    massShare: number;
  };
  api: { throttleRateLimit: number; throttleBurstLimit: number; agentAuth: 'fleet' | 'per-agent' };
  logRetention: RetentionDays;
  events: { bus: 'create' | 'default' };
  alarms: {
    email: string | undefined;
    topicArn: string | undefined;
    expirySpikeThreshold: number;
    ingest5xxRatePercent: number;
  };
}

/** The context keys this app reads, for error messages and the README. */
export const CONTEXT_KEYS = Object.keys(contextSchema.shape);

/** Reads and validates every setting; throws one error listing every problem. */
export function readServiceConfig(tryGetContext: (key: string) => unknown): ServiceConfig {
  const raw = Object.fromEntries(CONTEXT_KEYS.map((key) => [key, tryGetContext(key)]));
  const parsed = contextSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (issue) => `  ${issue.path.join('.') || '(context)'}: ${issue.message}`,
    );
    throw new Error(`invalid CDK context:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  return {
    stackName: c.stackName,
    persistence:
      c.persistence === 'dynamodb'
        ? { kind: 'dynamodb' }
        : {
            kind: 'couchbase',
            secret: c.couchbaseSecret ?? '',
            secretKmsKeyArn: c.couchbaseSecretKmsKeyArn,
            vpc:
              c.subnetIds !== undefined && c.subnetIds.length > 0
                ? {
                    vpcId: c.vpcId ?? '',
                    availabilityZones: c.availabilityZones ?? [],
                    subnetIds: c.subnetIds,
                    securityGroupIds: c.securityGroupIds ?? [],
                  }
                : undefined,
          },
    heartbeat: {
      ttlSeconds: c.ttlSeconds,
      intervalSeconds: c.intervalSeconds,
      minTtlSeconds: MIN_TTL_SECONDS,
    },
    reconcile: { minutes: c.reconcileMinutes, reapAfterDays: c.reapAfterDays },
    pulse: { bucketSeconds: c.pulseBucketSeconds },
    guard: {
      maxDeferSeconds: c.expiryMaxDeferSeconds,
      degradedShare: c.pulseDegradedShare,
      baselineSeconds: c.pulseBaselineSeconds,
      minBaseline: c.pulseMinBaseline,
      massShare: c.massExpiryShare,
    },
    api: {
      throttleRateLimit: c.apiThrottleRateLimit,
      throttleBurstLimit: c.apiThrottleBurstLimit,
      agentAuth: c.agentAuth,
    },
    logRetention: c.logRetentionDays as RetentionDays,
    events: { bus: c.eventBus },
    alarms: {
      email: c.alarmEmail,
      topicArn: c.alarmTopicArn,
      expirySpikeThreshold: c.expirySpikeThreshold,
      ingest5xxRatePercent: c.ingest5xxRatePercent,
    },
  };
}
