import { describe, expect, it } from 'vitest';
import {
  readAgentAuth,
  readGuardConfig,
  readPersistence,
  readPolicy,
  readPulseConfig,
  readSchedulerConfig,
  readTokens,
} from '../../functions/config.js';
import {
  DEV_OPERATOR_TOKEN,
  DEV_TOKEN,
  LOCAL_RECHECK_MS,
  readLocalConfig,
} from '../../functions/local/config.js';

describe('configuration', () => {
  it('gives the local runner documented defaults', () => {
    expect(readLocalConfig({})).toEqual({
      policy: { defaultTtlSeconds: 90, defaultIntervalSeconds: 30, minTtlSeconds: 1 },
      port: 3000,
      host: '127.0.0.1',
      store: { kind: 'dynalite', dataDir: './.data' },
      token: DEV_TOKEN,
      tokenIsDefault: true,
      operatorToken: DEV_OPERATOR_TOKEN,
      operatorTokenIsDefault: true,
      agentAuth: 'fleet',
      reconcileIntervalSeconds: 60,
      reapAfterMs: 7 * 86_400_000,
      pulseBucketSeconds: 1,
      guard: {
        bucketMs: 1_000,
        maxDeferMs: 600_000,
        degradedShare: 0.5,
        baselineMs: 3_600_000,
        minBaselinePerBucket: 10,
        massShare: 0.2,
        recheckMs: LOCAL_RECHECK_MS,
      },
    });
  });

  it('selects DynamoDB by default and Couchbase by PERSISTENCE, each with what it needs', () => {
    expect(readPersistence({ TABLE_NAME: 't', CHECKS_TABLE_NAME: 'c' })).toEqual({
      kind: 'dynamodb',
      tableName: 't',
      checksTableName: 'c',
    });
    expect(readPersistence({ PERSISTENCE: 'couchbase', COUCHBASE_SECRET_ARN: 's' })).toEqual({
      kind: 'couchbase',
      secretId: 's',
    });
    expect(() => readPersistence({ PERSISTENCE: 'couchbase' })).toThrow(/COUCHBASE_SECRET_ARN/);
    expect(() => readPersistence({ PERSISTENCE: 'mongodb' })).toThrow(/PERSISTENCE/);
    expect(() => readPersistence({ TABLE_NAME: 't' })).toThrow(/CHECKS_TABLE_NAME/);
  });

  it("keeps the operators' token apart from the agents'", () => {
    expect(readLocalConfig({ OPERATOR_TOKEN: 'op-secret' })).toMatchObject({
      operatorToken: 'op-secret',
      operatorTokenIsDefault: false,
    });
    expect(readLocalConfig({ AGENT_AUTH: 'per-agent' }).agentAuth).toBe('per-agent');
    expect(() => readLocalConfig({ AGENT_AUTH: 'per-host' })).toThrow(/AGENT_AUTH/);
    expect(readAgentAuth({})).toBe('fleet');
    expect(readAgentAuth({ AGENT_AUTH: 'per-agent' })).toBe('per-agent');
    expect(() => readLocalConfig({ HEARTBEAT_TOKEN: 'same', OPERATOR_TOKEN: 'same' })).toThrow(
      /OPERATOR_TOKEN must differ from HEARTBEAT_TOKEN/,
    );
  });

  it('runs the local pipeline on a DynamoDB-compatible server on this machine when DYNAMODB_ENDPOINT is set', () => {
    expect(readLocalConfig({ DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000' }).store).toEqual({
      kind: 'dynamodb',
      endpoint: 'http://127.0.0.1:8000',
    });
    // The runner signs with dummy credentials: never a remote endpoint.
    expect(() => readLocalConfig({ DYNAMODB_ENDPOINT: 'https://dynamodb.us-east-1.amazonaws.com' })).toThrow(
      /DYNAMODB_ENDPOINT/,
    );
    expect(() => readLocalConfig({ DYNAMODB_ENDPOINT: 'ftp://127.0.0.1' })).toThrow(/DYNAMODB_ENDPOINT/);
  });

  it('runs the local pipeline on Couchbase when COUCHBASE_CONNSTR is set, and says what else it needs', () => {
    const couchbase = {
      COUCHBASE_CONNSTR: 'couchbase://127.0.0.1',
      COUCHBASE_USERNAME: 'u',
      COUCHBASE_PASSWORD: 'p',
    };
    expect(() => readLocalConfig(couchbase)).toThrow(/COUCHBASE_BUCKET/);
    expect(readLocalConfig({ ...couchbase, COUCHBASE_BUCKET: 'agents' }).store).toEqual({
      kind: 'couchbase',
      settings: { connectionString: 'couchbase://127.0.0.1', username: 'u', password: 'p', bucket: 'agents' },
    });
  });

  it('uses a 60 s minimum TTL in AWS, the scheduler precision', () => {
    expect(readPolicy({}).minTtlSeconds).toBe(60);
  });

  it('fails fast, naming every bad setting', () => {
    expect(() => readLocalConfig({ PORT: 'eighty', HEARTBEAT_TTL_SECONDS: '-1' })).toThrow(
      /PORT[\s\S]*HEARTBEAT_TTL_SECONDS|HEARTBEAT_TTL_SECONDS[\s\S]*PORT/,
    );
    expect(() => readSchedulerConfig({ SCHEDULE_GROUP: 'g' })).toThrow(/EXPIRY_FUNCTION_ARN/);
  });

  it('refuses a default TTL below the minimum or shorter than the interval', () => {
    expect(() => readPolicy({ HEARTBEAT_TTL_SECONDS: '30' })).toThrow(/MIN_TTL_SECONDS/);
    expect(() => readPolicy({ HEARTBEAT_TTL_SECONDS: '90', HEARTBEAT_INTERVAL_SECONDS: '120' })).toThrow(
      /INTERVAL/,
    );
  });

  it('buckets the fleet pulse by 10 s in AWS unless set, in whole seconds dividing an hour', () => {
    expect(readPulseConfig({})).toEqual({ bucketMs: 10_000 });
    expect(readPulseConfig({ PULSE_BUCKET_SECONDS: '30' })).toEqual({ bucketMs: 30_000 });
    for (const bad of ['7', '0', '1.5', 'ten', '7200']) {
      expect(() => readPulseConfig({ PULSE_BUCKET_SECONDS: bad }), bad).toThrow(/PULSE_BUCKET_SECONDS/);
    }
    expect(readLocalConfig({ PULSE_BUCKET_SECONDS: '5' }).pulseBucketSeconds).toBe(5);
  });

  it("reads the expiry guard's thresholds under the same names in AWS and locally, validated", () => {
    expect(readGuardConfig({}, 60_000)).toEqual({
      bucketMs: 10_000,
      maxDeferMs: 600_000,
      degradedShare: 0.5,
      baselineMs: 3_600_000,
      minBaselinePerBucket: 10,
      massShare: 0.2,
      recheckMs: 60_000,
    });
    const env = {
      EXPIRY_MAX_DEFER_SECONDS: '300',
      PULSE_DEGRADED_SHARE: '0.3',
      PULSE_BASELINE_SECONDS: '1800',
      PULSE_MIN_BASELINE: '50',
      MASS_EXPIRY_SHARE: '0.3',
    };
    expect(readGuardConfig(env, 60_000)).toMatchObject({
      maxDeferMs: 300_000,
      degradedShare: 0.3,
      baselineMs: 1_800_000,
      minBaselinePerBucket: 50,
      massShare: 0.3,
    });
    expect(readLocalConfig(env).guard).toMatchObject({ maxDeferMs: 300_000, degradedShare: 0.3 });
    for (const [name, bad] of [
      ['EXPIRY_MAX_DEFER_SECONDS', '-1'],
      ['PULSE_DEGRADED_SHARE', '0'],
      ['PULSE_DEGRADED_SHARE', '1.5'],
      ['MASS_EXPIRY_SHARE', '0'],
      ['MASS_EXPIRY_SHARE', 'half'],
      ['PULSE_BASELINE_SECONDS', '10'],
      ['PULSE_MIN_BASELINE', '0'],
    ] as const) {
      expect(() => readGuardConfig({ [name]: bad }, 60_000), `${name}=${bad}`).toThrow(name);
    }
  });

  it('accepts several tokens for rotation and refuses an empty list', () => {
    expect(readTokens({ HEARTBEAT_TOKENS: 'new, old ' })).toEqual({ kind: 'static', tokens: ['new', 'old'] });
    expect(readTokens({ HEARTBEAT_TOKENS_SECRET_ARN: 'arn:aws:secretsmanager:x' })).toEqual({
      kind: 'secret',
      secretId: 'arn:aws:secretsmanager:x',
    });
    expect(() => readTokens({ HEARTBEAT_TOKENS: ' , ' })).toThrow(/no token configured/);
    expect(() => readTokens({})).toThrow(/HEARTBEAT_TOKENS/);
  });
});
