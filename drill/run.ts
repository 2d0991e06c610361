import { createWriteStream } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { systemClock } from '../functions/adapters/system-clock.js';
import { toGuardSettings } from '../functions/config.js';
import { LOCAL_RECHECK_MS } from '../functions/local/config.js';
import { startLocalApp } from '../functions/local/app.js';
import { startDynalite } from '../functions/local/dynalite.js';
import { LOCAL_TIMING } from '../functions/core/timing.js';
import { createJsonLinesLog } from '../functions/observability/logger.js';
import type { AgentReport, FleetCommand, FleetConfig, FleetMessage } from './fleet-worker.js';
import { type DrillVerdict, type Line, judgeDrill } from './judge.js';
import { startFrontProxy, startTcpProxy } from './proxies.js';
import { DRILLS, type DrillPlan, isDrillName } from './scenarios.js';

// `npm run drill -- <name>`: the local pipeline (the runner `npm start` starts: its HTTP front,
// handlers, DynamoDB adapter on dynalite and local scheduler, with the expiry guard) and a
// simulated fleet reporting to it over HTTP, through one named outage. Prints what on-call would
// have seen: false and missed expiries, deferrals, the worst lateness; exits 1 if the guard failed.

const INTERVAL_MS = 1_000;
const TTL_SECONDS = 5;
const OUTAGE_MS = 3 * TTL_SECONDS * 1000;
/** Enough history for a baseline (30 one-second buckets), and some. */
const WARMUP_MS = 40_000;
const AGENT_TIMEOUT_MS = 1_500;
const TOKEN = 'drill-token';

const USAGE = `usage: npm run drill -- <name> [--agents N] [--max-defer SECONDS] [--no-guard] [--json]

  ${Object.values(DRILLS)
    .map((plan) => `${plan.name.padEnd(15)}${plan.summary}`)
    .join('\n  ')}

  --agents N           the simulated fleet (default 100; at least 10, to be judged)
  --max-defer SECONDS  EXPIRY_MAX_DEFER_SECONDS for the drill (default 30)
  --no-guard           run without the expiry guard, to see what it prevents
  --json               print the figures as one JSON line at the end`;

interface Options {
  plan: DrillPlan;
  agents: number;
  maxDeferSeconds: number;
  guard: boolean;
  json: boolean;
}

function parse(argv: string[]): Options | string {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        agents: { type: 'string', default: '100' },
        'max-defer': { type: 'string', default: '30' },
        'no-guard': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    return `${(error as Error).message}\n\n${USAGE}`;
  }
  const { values, positionals } = parsed;
  const [name, ...rest] = positionals;
  if (values.help || name === undefined) return USAGE;
  if (!isDrillName(name)) return `unknown drill "${name}"\n\n${USAGE}`;
  if (rest.length > 0) return `unexpected arguments: ${rest.join(' ')}\n\n${USAGE}`;
  const agents = Number(values.agents);
  const maxDeferSeconds = Number(values['max-defer']);
  if (!Number.isInteger(agents) || agents < 10 || agents > 5_000)
    return `--agents must be 10 to 5000\n\n${USAGE}`;
  if (!Number.isInteger(maxDeferSeconds) || maxDeferSeconds < 10 || maxDeferSeconds > 600) {
    return `--max-defer must be 10 to 600 seconds\n\n${USAGE}`;
  }
  return { plan: DRILLS[name], agents, maxDeferSeconds, guard: !values['no-guard'], json: values.json };
}

async function main(): Promise<number> {
  const options = parse(process.argv.slice(2));
  if (typeof options === 'string') {
    console.error(options);
    return 2;
  }
  const verdict = await runDrill(options);
  print(options, verdict);
  return verdict.failures.length === 0 ? 0 : 1;
}

async function runDrill(options: Options): Promise<DrillVerdict> {
  const { plan } = options;
  const started = Date.now();
  const say = (text: string) =>
    console.log(`[+${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${text}`);
  const folder = await mkdtemp(path.join(tmpdir(), `drill-${plan.name}-`));
  const logFile = path.join(folder, 'service.log');
  const logStream = createWriteStream(logFile);
  const lines: Line[] = [];
  const log = createJsonLinesLog({
    serviceName: 'heartbeat',
    clock: systemClock,
    write: (text) => {
      logStream.write(text);
      lines.push(JSON.parse(text) as Line);
    },
  });

  const switches = { front: { down: false }, store: { down: false }, scheduler: { down: false } };
  const dynalite = await startDynalite();
  const storeProxy = await startTcpProxy(Number(new URL(dynalite.endpoint).port), switches.store);
  const guard = toGuardSettings(
    {
      PULSE_BUCKET_SECONDS: 1,
      EXPIRY_MAX_DEFER_SECONDS: options.maxDeferSeconds,
      PULSE_DEGRADED_SHARE: 0.5,
      PULSE_BASELINE_SECONDS: 60,
      PULSE_MIN_BASELINE: 10,
      MASS_EXPIRY_SHARE: 0.2,
    },
    LOCAL_RECHECK_MS,
  );
  const app = await startLocalApp({
    policy: { defaultTtlSeconds: TTL_SECONDS, defaultIntervalSeconds: 1, minTtlSeconds: 1 },
    host: '127.0.0.1',
    port: 0,
    store: { kind: 'dynamodb', endpoint: `http://127.0.0.1:${storeProxy.port}` },
    token: TOKEN,
    operatorToken: `${TOKEN}-operator`,
    reconcileIntervalSeconds: 5,
    pulseBucketSeconds: 1,
    ...(options.guard ? { guard } : {}),
    log,
    schedulerUnavailable: () => switches.scheduler.down,
  });
  const front = await startFrontProxy(app.url, switches.front);
  const fleet = startFleet({
    url: front.url,
    token: TOKEN,
    agents: options.agents,
    intervalMs: INTERVAL_MS,
    ttlSeconds: TTL_SECONDS,
    timeoutMs: AGENT_TIMEOUT_MS,
  });
  say(`${plan.name}: ${plan.summary}`);
  say(
    `${options.agents} agents every ${INTERVAL_MS / 1000} s, TTL ${TTL_SECONDS} s; outage ${OUTAGE_MS / 1000} s; ` +
      `bound ${options.maxDeferSeconds} s; guard ${options.guard ? 'on' : 'OFF'}; service log ${logFile}`,
  );
  const count = (message: string) => lines.filter((line) => line.message === message).length;
  const progress = setInterval(() => {
    say(
      `expired ${count('agent expired')}, deferrals ${count('expiry deferred: pipeline degraded')}, ` +
        `mass summaries ${count('mass expiry: agents expired together')}`,
    );
  }, 5_000);

  try {
    say(`warming up for ${WARMUP_MS / 1000} s: the guard needs a baseline`);
    await sleep(WARMUP_MS);
    const dying = pickDying(options.agents, plan.dies);
    fleet.send({ type: 'kill', agentIds: dying });
    say(`${dying.length} agents stop for good`);
    const outageStart = Date.now();
    if (plan.outage !== null) {
      say(`outage: ${plan.outage} for ${OUTAGE_MS / 1000} s`);
      if (plan.outage === 'freeze') freezeThisThread(OUTAGE_MS);
      else {
        if (plan.outage === 'ingest') switches.front.down = true;
        if (plan.outage === 'scheduler') switches.scheduler.down = true;
        if (plan.outage === 'store') storeProxy.setDown(true);
        await sleep(OUTAGE_MS);
        switches.front.down = false;
        switches.scheduler.down = false;
        storeProxy.setDown(false);
      }
      say('outage over');
    }
    // Every dead agent is due by its deadline (within a TTL of its death) plus the grace and the
    // bound; a false expiry of an agent that reports again can only come before it does.
    const outageEnd = plan.outage === null ? outageStart : outageStart + OUTAGE_MS;
    const lastDue = outageStart + TTL_SECONDS * 1000 + LOCAL_TIMING.graceMs + options.maxDeferSeconds * 1000;
    const until = Math.max(outageEnd + 10_000, lastDue + 5_000);
    const expiredAll = () => count('agent expired') >= dying.length;
    while (Date.now() < until && !(expiredAll() && Date.now() > outageEnd + 10_000)) await sleep(500);
    if (plan.expect === 'bounded') {
      // The last minute's summary comes 30 s after that minute ends, with a reconciler run.
      say('waiting for the per-minute summaries');
      const limit = Date.now() + 100_000;
      const summarized = () =>
        lines
          .filter((line) => line.message === 'mass expiry: agents expired together')
          .reduce((sum, line) => sum + Number(line.expired), 0);
      while (Date.now() < limit && summarized() < count('agent expired')) await sleep(500);
    }
  } finally {
    clearInterval(progress);
  }
  const agents = await fleet.end();
  await front.close();
  await app.close();
  await storeProxy.close();
  await dynalite.close();
  await new Promise((resolve) => logStream.end(resolve));
  say('done');
  return judgeDrill(plan, agents, lines, {
    maxDeferMs: options.maxDeferSeconds * 1000,
    graceMs: LOCAL_TIMING.graceMs,
    onTimeSlackMs: 2_000,
  });
}

/** Every agent when `share` is 1; otherwise evenly spread ids, so dying is not one block. */
function pickDying(agents: number, share: number): string[] {
  const every = 1 / share;
  return Array.from({ length: agents }, (_, i) => i)
    .filter((i) => share >= 1 || Math.floor(i % every) === 0)
    .map((i) => `drill-${String(i).padStart(5, '0')}`);
}

/** The whole service stops: this thread (HTTP front, handlers, store, timers) blocks; agents go on. */
function freezeThisThread(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function startFleet(config: FleetConfig) {
  const worker = new Worker(new URL('./fleet-worker.ts', import.meta.url), { workerData: config });
  worker.on('error', (error) => console.error('the simulated fleet failed:', error));
  return {
    send: (command: FleetCommand) => worker.postMessage(command),
    end: () =>
      new Promise<AgentReport[]>((resolve) => {
        worker.once('message', (message: FleetMessage) => resolve(message.agents));
        worker.postMessage({ type: 'end' } satisfies FleetCommand);
      }).finally(() => worker.terminate()),
  };
}

function print(options: Options, { figures, failures }: DrillVerdict): void {
  const lateness =
    figures.worstLatenessSeconds === null ? 'none' : `${figures.worstLatenessSeconds.toFixed(1)} s`;
  const rows: [string, string | number][] = [
    ['drill', options.plan.name],
    ['agents (stopped for good)', `${figures.agents} (${figures.died})`],
    ['expired', figures.expired],
    ['false expiries', figures.falseExpiries.length],
    ['missed expiries', figures.missedExpiries.length],
    ['deferrals (agents)', `${figures.deferrals} (${figures.deferredAgents})`],
    ['worst lateness', `${lateness} (bound ${options.maxDeferSeconds} s, grace included)`],
    ['marked suspectedPipelineOutage', figures.markedSuspected],
    ['marked massExpiry', figures.markedMass],
    ['minute summaries', figures.summaries.map((s) => `${s.minuteStart}: ${s.expired}`).join(', ') || 'none'],
    ['dead-lettered firings', figures.deadLettered],
  ];
  console.log('');
  for (const [name, value] of rows) console.log(`${name.padEnd(32)}${value}`);
  console.log('');
  console.log(failures.length === 0 ? 'PASS: the guard held' : `FAIL:\n  ${failures.join('\n  ')}`);
  if (options.json)
    console.log(JSON.stringify({ drill: options.plan.name, guard: options.guard, ...figures, failures }));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

process.exit(
  await main().catch((error: unknown) => {
    console.error('the drill could not run:', error);
    return 2;
  }),
);
