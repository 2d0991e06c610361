/**
 * The ingest bundle as deployed: its size, and its cold start measured in a fresh Node process
 * (load the bundle, run one invocation against local fakes), next to a bundle that holds only the
 * same SDK clients making the same calls, so the product's own overhead reads as a ratio.
 *
 * Both bundles are built with the stack's esbuild settings (`ESBUILD` in cdk/bundling.ts). The
 * fakes are on loopback only: dynalite for DynamoDB, and a small HTTP stub answering the
 * Scheduler and Secrets Manager calls. Nothing can reach AWS: every service endpoint points at
 * loopback, credentials are dummies and the instance-metadata lookup is off.
 *
 * `bundleFigures()` prints the figures and returns them; `npx tsx bench/bundle.ts` runs it alone.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { type BuildOptions, type Metafile, build } from 'esbuild';
import { ESBUILD, esbuildOptions } from '../cdk/bundling.js';
import { PROJECT_ROOT, entryPath } from '../cdk/project.js';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../functions/adapters/dynamodb/agent-store.js';
import { ensureAgentTable, ensureChecksTable } from '../functions/adapters/dynamodb/table.js';
import { createLocalDynamoClient, startDynalite } from '../functions/local/dynalite.js';
import { heartbeatEvent } from '../test/support/api-events.js';

const RUNS = 21;
const TOKEN = 'bench-token';
const TABLE = 'bench-agents';
const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const TOKENS_SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:heartbeat-tokens-AbC123`;

/**
 * The baseline: the ingest function's SDK clients, created once, making the calls an ingest
 * invocation makes, with nothing of ours around them: the token secret once (then cached), a
 * consistent read of the agent's item, on its first heartbeat an UpdateSchedule, and a conditional
 * put of the same item the ingest function wrote (BENCH_RECORD); on the first heartbeat also its
 * event (PutEvents) and the read and conditional put that mark it delivered. What is left in the
 * ratio is the product's own cost: its code, zod, Powertools, and the work it does per heartbeat.
 */
const SDK_ONLY_ENTRY = `
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { SchedulerClient, UpdateScheduleCommand } from '@aws-sdk/client-scheduler';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';

const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const scheduler = new SchedulerClient({});
const events = new EventBridgeClient({});
const secrets = new SecretsManagerClient({});
const template = JSON.parse(process.env.BENCH_RECORD);
let tokens;

export const handler = async (event) => {
  tokens ??= (await secrets.send(new GetSecretValueCommand({ SecretId: process.env.HEARTBEAT_TOKENS_SECRET_ARN }))).SecretString;
  const agentId = 'baseline-' + JSON.parse(event.body).agentId;
  const TableName = process.env.TABLE_NAME;
  const { Item } = await documents.send(new GetCommand({ TableName, Key: { agentId }, ConsistentRead: true }));
  const version = Item?.version;
  if (version === undefined) {
    await scheduler.send(new UpdateScheduleCommand({
      Name: agentId, GroupName: process.env.SCHEDULE_GROUP, ScheduleExpression: 'at(2030-01-01T00:00:00)',
      ScheduleExpressionTimezone: 'UTC', FlexibleTimeWindow: { Mode: 'OFF' }, ActionAfterCompletion: 'DELETE',
      Target: { Arn: process.env.EXPIRY_FUNCTION_ARN, RoleArn: process.env.SCHEDULER_ROLE_ARN,
        Input: JSON.stringify({ agentId }), DeadLetterConfig: { Arn: process.env.EXPIRY_DLQ_ARN } },
    }));
  }
  await documents.send(new PutCommand({
    TableName, Item: { ...template, agentId, version: (version ?? 0) + 1 },
    ...(version === undefined
      ? { ConditionExpression: 'attribute_not_exists(agentId)' }
      : { ConditionExpression: '#version = :expected', ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':expected': version } }),
  }));
  if (version === undefined) {
    await events.send(new PutEventsCommand({ Entries: [{ Source: 'heartbeat-expiry', DetailType: 'Agent Registered',
      Detail: JSON.stringify({ agentId }), EventBusName: process.env.EVENT_BUS_NAME }] }));
    await documents.send(new GetCommand({ TableName, Key: { agentId }, ConsistentRead: true }));
    await documents.send(new PutCommand({
      TableName, Item: { ...template, agentId, version: 2 },
      ConditionExpression: '#version = :expected', ExpressionAttributeNames: { '#version': 'version' },
      ExpressionAttributeValues: { ':expected': 1 },
    }));
  }
  return { statusCode: 200, body: JSON.stringify({ agentId, version: (version ?? 0) + 1, tokens: tokens !== undefined }) };
};
`;

/** What the child process measures; `performance.now()` counts from the process's start. */
interface ColdStart {
  /** Node's own start-up, before the bundle is touched. */
  nodeBootMs: number;
  /** `import()` of the bundle: parsing, evaluation, module-scope set-up (clients, config). */
  loadMs: number;
  /** The first invocation, with everything the SDK does lazily on its first call. */
  firstInvocationMs: number;
  /** load + first invocation: the cold-start cost the function itself adds. */
  coldMs: number;
  /** CPU time (user + system) of load + first invocation: less sensitive to a busy machine. */
  coldCpuMs: number;
  /** A second invocation in the same process, for contrast. */
  warmInvocationMs: number;
  statusCode: number | undefined;
  body: string | undefined;
}

interface BundleBuild {
  file: string;
  bytes: number;
  gzipBytes: number;
  sourceMapBytes: number;
  /** Bytes in the output by origin: top packages, and the product's own code under `functions/`. */
  composition: Record<string, number>;
}

export interface BundleFigures {
  ingest: BundleBuild & { coldStart: Summary };
  sdkOnly: BundleBuild & { coldStart: Summary };
  ratios: { bytes: number; loadMs: number; coldMs: number; coldCpuMs: number };
  settings: string;
}

interface Summary {
  runs: number;
  median: Omit<ColdStart, 'statusCode' | 'body'>;
  min: Omit<ColdStart, 'statusCode' | 'body'>;
  statusCodes: Array<number | undefined>;
}

export async function bundleFigures(): Promise<BundleFigures> {
  const workdir = mkdtempSync(path.join(tmpdir(), 'heartbeat-bench-bundle-'));
  const dynalite = await startDynalite();
  const stub = await startAwsStub();
  try {
    const dynamo = createLocalDynamoClient(dynalite.endpoint);
    await ensureAgentTable(dynamo, TABLE);
    await ensureChecksTable(dynamo, `${TABLE}-checks`);

    const ingest = await bundle(path.join(workdir, 'ingest'), { entryPoints: [entryPath('ingest')] });
    const sdkOnly = await bundle(path.join(workdir, 'sdk-only'), {
      stdin: { contents: SDK_ONLY_ENTRY, resolveDir: PROJECT_ROOT, sourcefile: 'sdk-only.ts', loader: 'ts' },
    });

    const env = lambdaEnvironment(dynalite.endpoint, stub.endpoint);
    // One ingest run first, not counted, for the item the baseline writes in its place.
    await coldStart(ingest.file, env, 'bench-template');
    const documents = createDocumentClient(dynamo);
    const { Item } = await documents.send(
      new GetCommand({ TableName: TABLE, Key: { agentId: 'bench-template' } }),
    );
    dynamo.destroy();
    if (Item === undefined) throw new Error('the ingest bundle stored no item for the baseline to copy');
    const baselineEnv = { ...env, BENCH_RECORD: JSON.stringify(Item) };
    const ingestRuns: ColdStart[] = [];
    const sdkRuns: ColdStart[] = [];
    // Alternate, so drift on the machine (a busy neighbour, a warming disk cache) hits both alike.
    for (let run = 0; run < RUNS; run++) {
      ingestRuns.push(await coldStart(ingest.file, env, `bench-agent-${run}`));
      sdkRuns.push(await coldStart(sdkOnly.file, baselineEnv, `bench-agent-${run}`));
    }
    const failed = ingestRuns.find((r) => r.statusCode !== 200);
    if (failed !== undefined) {
      console.warn(`warning: the ingest bundle answered ${failed.statusCode}: ${failed.body ?? ''}`);
    }

    const figures: BundleFigures = {
      ingest: { ...ingest, coldStart: summarize(ingestRuns) },
      sdkOnly: { ...sdkOnly, coldStart: summarize(sdkRuns) },
      ratios: { bytes: 0, loadMs: 0, coldMs: 0, coldCpuMs: 0 },
      settings: `esbuild ${ESBUILD.format} ${ESBUILD.target}, minify ${String(ESBUILD.minify)}, sourcemap ${String(ESBUILD.sourcemap)}, node --enable-source-maps, median of ${RUNS} fresh processes`,
    };
    figures.ratios = {
      bytes: round(ingest.bytes / sdkOnly.bytes, 2),
      loadMs: round(figures.ingest.coldStart.median.loadMs / figures.sdkOnly.coldStart.median.loadMs, 2),
      coldMs: round(figures.ingest.coldStart.median.coldMs / figures.sdkOnly.coldStart.median.coldMs, 2),
      coldCpuMs: round(
        figures.ingest.coldStart.median.coldCpuMs / figures.sdkOnly.coldStart.median.coldCpuMs,
        2,
      ),
    };
    print(figures, stub.calls);
    return figures;
  } finally {
    await stub.close();
    await dynalite.close();
    rmSync(workdir, { recursive: true, force: true });
  }
}

/** Built as the default (DynamoDB) deployment builds its functions. */
async function bundle(
  outdir: string,
  entry: Pick<BuildOptions, 'entryPoints' | 'stdin'>,
): Promise<BundleBuild> {
  const result = await build({
    ...esbuildOptions(outdir, 'dynamodb'),
    ...entry,
    metafile: true,
    logLevel: 'error',
  });
  const file = path.join(outdir, ESBUILD.outfile);
  const bytes = statSync(file).size;
  return {
    file,
    bytes,
    gzipBytes: gzipSync(readFileSync(file), { level: 9 }).byteLength,
    sourceMapBytes: statSync(`${file}.map`).size,
    composition: composition(result.metafile),
  };
}

/** Groups the output's bytes by package (`@aws-sdk/*`, `@smithy/*` folded) or `functions/`. */
function composition(metafile: Metafile): Record<string, number> {
  const groups = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const parts = input.split('node_modules/');
      const inPackage = parts.length > 1 ? (parts.at(-1) ?? '') : '';
      let group: string;
      if (inPackage === '') group = input.startsWith('functions/') ? 'functions/ (this product)' : 'other';
      else {
        const [scope, name] = inPackage.split('/');
        const pkg = scope?.startsWith('@') === true ? `${scope}/${name ?? ''}` : (scope ?? '');
        group = /^@(aws-sdk|smithy|aws-crypto)\//.test(pkg) ? `${pkg.split('/')[0] ?? ''}/*` : pkg;
      }
      groups.set(group, (groups.get(group) ?? 0) + bytesInOutput);
    }
  }
  return Object.fromEntries([...groups].sort((a, b) => b[1] - a[1]).slice(0, 8));
}

/** The deployed function's environment (see cdk/), pointed at the fakes. */
function lambdaEnvironment(dynamoEndpoint: string, stubEndpoint: string): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ'];
  const inherited = Object.fromEntries(
    keep.flatMap((key) => (process.env[key] === undefined ? [] : [[key, process.env[key] as string]])),
  );
  return {
    ...inherited,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_EC2_METADATA_DISABLED: 'true',
    // Every service at loopback; the generic one catches any client not named here.
    AWS_ENDPOINT_URL: stubEndpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
    AWS_ENDPOINT_URL_SCHEDULER: stubEndpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: stubEndpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: stubEndpoint,
    EVENT_BUS_NAME: 'bench-bus',
    AWS_LAMBDA_FUNCTION_NAME: 'bench-ingest',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    POWERTOOLS_SERVICE_NAME: 'heartbeat',
    POWERTOOLS_METRICS_NAMESPACE: 'HeartbeatService',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    PERSISTENCE: 'dynamodb',
    TABLE_NAME: TABLE,
    CHECKS_TABLE_NAME: `${TABLE}-checks`,
    SCHEDULE_GROUP: 'bench-group',
    EXPIRY_FUNCTION_ARN: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:bench-expiry`,
    SCHEDULER_ROLE_ARN: `arn:aws:iam::${ACCOUNT}:role/bench-scheduler`,
    EXPIRY_DLQ_ARN: `arn:aws:sqs:${REGION}:${ACCOUNT}:bench-dlq`,
    HEARTBEAT_TOKENS_SECRET_ARN: TOKENS_SECRET_ARN,
    // Older builds of the code read the tokens from the environment instead of the secret.
    HEARTBEAT_TOKENS: TOKEN,
    HEARTBEAT_TTL_SECONDS: '90',
    HEARTBEAT_INTERVAL_SECONDS: '30',
    MIN_TTL_SECONDS: '60',
  };
}

// Runs in the fresh process: load the bundle as Lambda's runtime does (import of index.mjs), invoke.
const CHILD = `
import { performance } from 'node:perf_hooks';
const context = {
  functionName: 'bench-ingest', functionVersion: '$LATEST', memoryLimitInMB: '512',
  invokedFunctionArn: 'arn:aws:lambda:${REGION}:${ACCOUNT}:function:bench-ingest',
  awsRequestId: 'bench-request', logGroupName: '/aws/lambda/bench-ingest', logStreamName: 'bench',
  callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => 20000,
  done() {}, fail() {}, succeed() {},
};
const [first, second] = JSON.parse(process.env.BENCH_EVENTS);
const nodeBootMs = performance.now();
const cpuAtBoot = process.cpuUsage();
const mod = await import(process.env.BENCH_BUNDLE_URL);
const loaded = performance.now();
const response = await mod.handler(first, context);
const invoked = performance.now();
const cpuCold = process.cpuUsage(cpuAtBoot);
await mod.handler(second, context);
const warm = performance.now();
process.send({
  nodeBootMs, loadMs: loaded - nodeBootMs, firstInvocationMs: invoked - loaded, coldMs: invoked - nodeBootMs,
  coldCpuMs: (cpuCold.user + cpuCold.system) / 1000, warmInvocationMs: warm - invoked, statusCode: response?.statusCode, body: response?.body,
}, () => process.exit(0));
`;

function coldStart(file: string, env: Record<string, string>, agentId: string): Promise<ColdStart> {
  const beat = (seq: number) =>
    heartbeatEvent(
      { agentId, bootId: 'bench-boot', seq, checks: [{ name: 'disk:/', status: 'pass' }] },
      { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    );
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--enable-source-maps', '--input-type=module', '-e', CHILD], {
      cwd: path.dirname(file),
      env: {
        ...env,
        BENCH_BUNDLE_URL: pathToFileURL(file).href,
        BENCH_EVENTS: JSON.stringify([beat(1), beat(2)]),
      },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    let result: ColdStart | undefined;
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('message', (message) => {
      result = message as ColdStart;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (result !== undefined) resolve(result);
      else
        reject(
          new Error(
            `cold-start process for ${file} exited ${String(code)} without a result:\n${stderr.slice(-4000)}`,
          ),
        );
    });
  });
}

/** Answers the Scheduler (REST-JSON), Secrets Manager and EventBridge (JSON 1.1) calls the functions make. */
async function startAwsStub() {
  const calls: Record<string, number> = {};
  const count = (name: string) => {
    calls[name] = (calls[name] ?? 0) + 1;
  };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.resume();
    request.on('end', () => {
      const target = request.headers['x-amz-target'];
      const reply = (status: number, body: unknown, contentType = 'application/json') => {
        response.writeHead(status, { 'content-type': contentType, 'x-amzn-requestid': 'bench' });
        response.end(JSON.stringify(body));
      };
      if (target === 'secretsmanager.GetSecretValue') {
        count('secretsmanager:GetSecretValue');
        reply(
          200,
          {
            ARN: TOKENS_SECRET_ARN,
            Name: 'heartbeat-tokens',
            VersionId: 'bench-version',
            SecretString: JSON.stringify({ current: TOKEN }),
            CreatedDate: 1_700_000_000,
          },
          'application/x-amz-json-1.1',
        );
        return;
      }
      if (target === 'AWSEvents.PutEvents') {
        count('events:PutEvents');
        reply(
          200,
          { FailedEntryCount: 0, Entries: [{ EventId: 'bench-event' }] },
          'application/x-amz-json-1.1',
        );
        return;
      }
      const schedule = /^\/schedules\/([^/?]+)/.exec(request.url ?? '');
      if (schedule !== null) {
        const name = decodeURIComponent(schedule[1] ?? '');
        const operation = { PUT: 'UpdateSchedule', POST: 'CreateSchedule', DELETE: 'DeleteSchedule' }[
          request.method ?? ''
        ];
        if (operation !== undefined) {
          count(`scheduler:${operation}`);
          reply(
            200,
            operation === 'DeleteSchedule'
              ? {}
              : { ScheduleArn: `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/bench-group/${name}` },
          );
          return;
        }
      }
      count(`unexpected ${request.method ?? ''} ${request.url ?? ''} ${String(target ?? '')}`);
      reply(400, { __type: 'ValidationException', message: 'the bench stub does not answer this call' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function summarize(runs: ColdStart[]): Summary {
  const keys = [
    'nodeBootMs',
    'loadMs',
    'firstInvocationMs',
    'coldMs',
    'coldCpuMs',
    'warmInvocationMs',
  ] as const;
  const pick = (f: (values: number[]) => number) =>
    Object.fromEntries(keys.map((key) => [key, round(f(runs.map((r) => r[key])), 1)])) as Summary['median'];
  return {
    runs: runs.length,
    median: pick((values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN),
    min: pick((values) => Math.min(...values)),
    statusCodes: runs.map((r) => r.statusCode),
  };
}

function print(f: BundleFigures, calls: Record<string, number>): void {
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
  const line = (name: string, b: BundleFigures['ingest']) =>
    `  ${name.padEnd(9)} ${kib(b.bytes).padStart(10)} (gzip ${kib(b.gzipBytes)}, map ${kib(b.sourceMapBytes)})  ` +
    `load ${b.coldStart.median.loadMs} ms + first invocation ${b.coldStart.median.firstInvocationMs} ms = ` +
    `${b.coldStart.median.coldMs} ms cold (min ${b.coldStart.min.coldMs}, CPU ${b.coldStart.median.coldCpuMs} ms); warm ${b.coldStart.median.warmInvocationMs} ms; ` +
    `status ${[...new Set(b.coldStart.statusCodes)].map((code) => `${String(code)} x${b.coldStart.statusCodes.filter((c) => c === code).length}`).join(', ')}`;
  console.log(`ingest bundle vs a bundle of the same SDK clients alone (${f.settings}):`);
  console.log(line('ingest', f.ingest));
  console.log(line('sdk-only', f.sdkOnly));
  console.log(
    `  ratio ingest/sdk-only: size ${f.ratios.bytes}x (target <= 1.5), load ${f.ratios.loadMs}x, ` +
      `cold (load + first invocation) ${f.ratios.coldMs}x (target <= 1.2), cold CPU ${f.ratios.coldCpuMs}x`,
  );
  console.log(
    `  ingest bundle by origin: ${Object.entries(f.ingest.composition)
      .map(([k, v]) => `${k} ${kib(v)}`)
      .join(', ')}`,
  );
  console.log(`  stubbed AWS calls (all runs): ${JSON.stringify(calls)}`);
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

if (process.argv[1] !== undefined && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) {
  await bundleFigures();
}
