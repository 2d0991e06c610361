import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ASSUMPTIONS } from './assumptions.js';
import { type Series, lineChart } from './chart.js';
import { DESIGNS, type Design, type Estimate, estimate } from './model.js';
import { PRICE_TABLE } from './prices.js';
import {
  SERVICE_HEADERS,
  bindingSentence,
  markdownTable,
  measuredFigures,
  rate,
  serviceRows,
  usd,
} from './report.js';
import { DEFAULT_SHAPE, type FleetShape, type Measurement, simulate } from './simulate.js';

export const DOCUMENT_PATH = new URL('../docs/capacity.md', import.meta.url);
export const CHART_PATH = new URL('../docs/capacity-cost.svg', import.meta.url);

export const FLEET_SIZES = [1_000, 18_000, 100_000, 1_000_000];
export const INTERVALS = [30, 60];
/** Heartbeats between changes of one check's output, for the saving's sensitivity; 0: never. */
const OUTPUT_CHANGE_EVERY = [0, 20, 4, 3, 2, 1];
const COLORS: Record<Design, string> = {
  coalesced: '#1b7837',
  'per-heartbeat': '#2166ac',
  'cloudwatch-alarm': '#b2182b',
  'step-functions': '#762a83',
};

/** The runs behind the document: fixed seeds, so the same code and prices write the same text. */
export async function measureForDocument(progress: (message: string) => void) {
  const run = async (label: string, shape: Partial<FleetShape>, checksApart = true) => {
    progress(`simulating ${label} ...`);
    return simulate({ ...DEFAULT_SHAPE, hours: 3, ...shape }, { checksApart });
  };
  const byInterval = new Map<number, Measurement>();
  for (const interval of INTERVALS) {
    byInterval.set(
      interval,
      await run(`${interval} s / ${3 * interval} s`, { intervalSeconds: interval, ttlSeconds: 3 * interval }),
    );
  }
  // What keeping checks apart saves: the same fleets with every record's checks inline.
  const inline = await run('30 s / 90 s, checks inline', { agents: 100, hours: 1 }, false);
  // The largest record a heartbeat can make: the body is at most 64 KiB, so 50 checks of 1,200 B.
  const largeShape = { checks: 50, outputBytes: 1_200, agents: 50, hours: 1 };
  const large = await run('a large record (50 checks of 1,200 B)', largeShape);
  const largeInline = await run('a large record, checks inline', largeShape, false);
  const ttl5 = await run('TTL 5 x the interval', { intervalSeconds: 30, ttlSeconds: 150, hours: 2 });
  // What it saves depends on how often outputs change: one check's, every N heartbeats.
  const byOutputChange = new Map<number, Measurement>();
  for (const every of OUTPUT_CHANGE_EVERY) {
    byOutputChange.set(
      every,
      await run(`outputs changing every ${every} heartbeats`, {
        agents: 100,
        hours: 1,
        outputChangeEvery: every,
      }),
    );
  }
  return { byInterval, inline, large, largeInline, ttl5, byOutputChange };
}

export async function buildDocument(
  progress: (message: string) => void,
): Promise<{ markdown: string; svg: string }> {
  const { byInterval, inline, large, largeInline, ttl5, byOutputChange } = await measureForDocument(progress);
  const designs = Object.keys(DESIGNS) as Design[];
  const estimates = new Map<string, Estimate>();
  const key = (interval: number, agents: number, design: Design) => `${interval}/${agents}/${design}`;
  for (const [interval, m] of byInterval) {
    for (const agents of FLEET_SIZES) {
      for (const design of designs) estimates.set(key(interval, agents, design), estimate(m, agents, design));
    }
  }
  const get = (interval: number, agents: number, design: Design) => {
    const found = estimates.get(key(interval, agents, design));
    if (found === undefined) throw new Error(`no estimate for ${key(interval, agents, design)}`);
    return found;
  };
  const m30 = byInterval.get(30);
  if (m30 === undefined) throw new Error('no 30 s run');
  const shape = m30.shape;

  const series: Series[] = designs.flatMap((design) =>
    INTERVALS.map((interval) => ({
      name: `${design} (${interval} s)`,
      color: COLORS[design],
      dashed: interval !== 30,
      points: FLEET_SIZES.map((agents) => ({ x: agents, y: get(interval, agents, design).monthlyUsd })),
    })),
  );
  const svg = lineChart(
    `$/month against fleet size (us-east-1 list prices of ${PRICE_TABLE.asOf})`,
    'agents',
    '$ per month',
    series,
  );

  const costRows = INTERVALS.flatMap((interval) =>
    FLEET_SIZES.map((agents) => [
      agents.toLocaleString('en-US'),
      `${interval} s / ${3 * interval} s`,
      ...designs.map((design) => usd(get(interval, agents, design).monthlyUsd)),
    ]),
  );
  const quotaRows = INTERVALS.flatMap((interval) =>
    FLEET_SIZES.flatMap((agents) =>
      designs.map((design) => {
        const e = get(interval, agents, design);
        return [
          agents.toLocaleString('en-US'),
          `${interval} s`,
          design,
          e.binding.length === 0
            ? `none (tightest: ${e.tightest?.line.service ?? ''} ${e.tightest?.line.what ?? ''}, ${e.tightest?.line.headroom?.toFixed(1) ?? ''}x)`
            : e.binding
                .map(
                  (b) =>
                    `${b.line.service} ${b.line.what}: ${rate(b.line.quota?.value ?? 0)} -> ${rate(b.request)}`,
                )
                .join('; '),
        ];
      }),
    ),
  );
  const measuredRows = (m: Measurement) => measuredFigures(m);
  const m60 = byInterval.get(60) ?? m30;
  const figures30 = measuredRows(m30);
  const figures60 = measuredRows(m60);
  const ours = get(30, 18_000, 'coalesced');
  const unitsPerHeartbeat = (m: Measurement) => m.dynamo.writeUnits / m.counts.heartbeats;
  const readsPerHeartbeat = (m: Measurement) => m.dynamo.readUnits / m.counts.heartbeats;
  const writesPerHeartbeat = (m: Measurement) =>
    (m.scheduler.updateSchedule + m.scheduler.createSchedule) / m.counts.heartbeats;
  const logLine = ours.lines.find((line) => line.service === 'CloudWatch Logs');
  const dynamoWrites = ours.lines.find((line) => line.what === 'write request units');

  const markdown = `# Capacity and cost

Generated by \`npm run capacity -- --doc\` from \`capacity/\`; do not edit by hand (a test
regenerates this file and its chart, and fails when they differ). Prices and quotas:
\`capacity/prices.ts\`, ${PRICE_TABLE.region} list prices and default quotas read on
${PRICE_TABLE.asOf}, each with its source. For one fleet, run
\`npm run capacity -- --agents 18000 --interval 30 --ttl 90\`.

## How the figures are made

The deployed handlers (ingest, expiry, reconcile, with the real EventBridge Scheduler adapter,
the expiry guard and event publishing) run over a simulated fleet of ${shape.agents} agents in
virtual time for ${shape.hours} hours after ${shape.warmupMinutes} minutes of warm-up
(\`capacity/simulate.ts\`). The fleet churns: each agent restarts about ${shape.restartsPerDay} time a
day (a minute of silence, a new boot), ${shape.deathsPerHour * 100} % of the fleet dies per hour and
is replaced, and one of its ${shape.checks} checks (outputs of ${shape.outputBytes} B) changes
status ${shape.checkChangesPerDay} times a day. Every call the code makes is metered: DynamoDB
requests and request units from the items' sizes as DynamoDB bills them, Scheduler's
Create/Update/Delete calls and invocations, PutEvents, log lines. Those per-agent rates are
scaled to the fleet; what does not grow with the fleet (the reconciler's runs, checkpoints, one
pulse write per function instance per bucket) is added as it is. A peak is the sample's busiest
minute, scaled, but no more than four standard deviations over the fleet's own mean minute.
What cannot be measured here is assumed in \`capacity/assumptions.ts\`: call latencies (for Lambda
duration), log overhead per line and per invocation, ${ASSUMPTIONS.lambdaMemoryGb * 1024} MB functions. Free tiers are
not subtracted.

Measured per agent, at TTL = 3 x the interval:

${markdownTable(
  ['figure', '30 s / 90 s', '60 s / 180 s'],
  figures30.map(([name, value], i) => [name, value, figures60[i]?.[1] ?? '']),
)}

## $/month by fleet size

The four designs priced the same way: this service (one schedule per agent, coalesced arming),
one UpdateSchedule per heartbeat (no coalescing), a CloudWatch alarm per agent (the ingest
function calls PutMetricData per heartbeat; one alarm and one custom metric per agent, missing
data breaching), and a Step Functions execution per agent (a task with HeartbeatSeconds;
SendTaskHeartbeat per heartbeat). Each keeps the same API, ingest function, store and events.

${markdownTable(['agents', 'interval / TTL', ...designs], costRows)}

![$/month against fleet size](capacity-cost.svg)

The API, the functions and the store cost the same in every design; what differs is the timer.
Coalescing saves the Scheduler nothing in dollars (its API calls are not charged) but halves the
calls that bind its quota; the CloudWatch design pays per metric, per alarm and per
PutMetricData; Step Functions pays little per transition but meets its SendTaskHeartbeat rate
and, at a million agents, its open-executions quota.

## Quotas to request

The first default quota each design meets, and what to ask for (the peak plus
${Math.round((ASSUMPTIONS.quotaMargin - 1) * 100)} %), in the main regions; \`--regions other\` uses the
lower defaults elsewhere (Scheduler's calls 250 per second, PutEvents 400).

${markdownTable(['agents', 'interval', 'design', 'binding quotas: default -> request'], quotaRows)}

UpdateSchedule is 1,000 per second by default: at ${writesPerHeartbeat(m30).toFixed(2)} writes per
heartbeat (30 s / 90 s) that is about ${Math.round(((1000 / writesPerHeartbeat(m30)) * 30) / 1000) * 1000}
agents before a quota increase; without coalescing, about 30,000. API Gateway's 10,000 requests
per second per account and region come next, at about 300,000 agents at 30 s.

## This service at 18,000 agents, 30 s / 90 s

${markdownTable(SERVICE_HEADERS, serviceRows(ours))}

Total ${usd(ours.monthlyUsd)} a month; ${bindingSentence(ours)}.

## Cost reductions

- **DynamoDB writes: checks kept apart.** The checks are most of a record: a typical one (${shape.checks}
  checks of ${shape.outputBytes} B) is ${Math.round(inline.storedBytesPerAgent).toLocaleString('en-US')} B with them inline, the largest a
  heartbeat can make (50 checks of 1,200 B: the body is at most 64 KiB)
  ${Math.round(largeInline.storedBytesPerAgent).toLocaleString('en-US')} B. So the DynamoDB adapter keeps an alive agent's checks, while they stay
  the same, in a table of their own, and a heartbeat whose checks did not change writes only the
  agent's small item naming them (\`functions/adapters/dynamodb/checks-table.ts\`); changed checks
  go inline as before. It stays consistent because a checks item is written before the agent
  item that names it commits and is never changed (its key is the digest of its content), so a
  committed record always names checks that exist; the writes that keep naming it write it again
  before its 30-day expiry draws near, an agent that is not alive keeps its checks inline, and
  items no agent names expire by the table's TTL, free and never scanned. Measured write units
  per heartbeat, all writes: typical ${unitsPerHeartbeat(inline).toFixed(2)} inline, ${unitsPerHeartbeat(m30).toFixed(2)} apart (one output changing
  every ${shape.outputChangeEvery} heartbeats); large ${unitsPerHeartbeat(largeInline).toFixed(1)} inline, ${unitsPerHeartbeat(large).toFixed(1)} apart. Writes are now
  ${usd(dynamoWrites?.monthlyUsd ?? 0)} of the ${usd(ours.monthlyUsd)} above. The price: reading a record whose checks are apart is
  two reads, ${readsPerHeartbeat(m30).toFixed(2)} read units per heartbeat instead of ${readsPerHeartbeat(inline).toFixed(2)} (reads cost a fifth of
  writes). What it saves depends on how often the outputs change. DynamoDB bills a write by the
  larger of the old and the new item, so turning an inline item small costs the inline size once
  more, and the checks item besides: the adapter keeps checks apart only once they have repeated
  twice in a row, gives a change of steady checks a checks item of its own, and keeps checks that
  change again at the next write inline. Measured, by how often one check's output changes:

${markdownTable(
  ['one output changes', 'write units per heartbeat, apart', 'inline'],
  [...byOutputChange].map(([every, m]) => [
    every === 0 ? 'never' : every === 1 ? 'every heartbeat' : `every ${every} heartbeats`,
    unitsPerHeartbeat(m).toFixed(2),
    unitsPerHeartbeat(inline).toFixed(2),
  ]),
)}

- **Scheduler writes.** Coalescing writes the schedule ${writesPerHeartbeat(m30).toFixed(3)} times per
  heartbeat at TTL = 3 x the interval (target 0.5) and ${writesPerHeartbeat(ttl5).toFixed(3)} at
  TTL = 5 x (target 0.3): a longer TTL against the interval means fewer writes.
- **Logs.** ${logLine === undefined ? '' : `Log ${logLine.what} (${usd(logLine.monthlyUsd)}) at this size`}, nearly all
  Lambda's START/END/REPORT lines and the metrics line of each invocation, not the service's own
  lines. Setting the functions' system log level to WARN (Lambda's advanced logging controls)
  drops the first; counting heartbeats from API Gateway's metrics instead of the function's
  would drop the second.

## Past one region or account

Every quota above is per account and region. A fleet past what one region's quotas allow (after
increases) is split: a stack per region (or per account), each agent reporting to its own; the
expiry guard and the fleet pulse are per stack, which is right, since a stack's outage is what
they judge. The Scheduler holds 10 million schedules per account and region, far more than the
agents one region's API can hear. Costs scale with agents wherever they report; prices outside
${PRICE_TABLE.region} are mostly a little higher (\`capacity/prices.ts\` notes where).
`;
  return { markdown, svg };
}

/** The document as the repository keeps it: formatted by Prettier, as every Markdown file is. */
export async function formatted(markdown: string): Promise<string> {
  const prettier = await import('prettier');
  const options = await prettier.resolveConfig(fileURLToPath(DOCUMENT_PATH));
  return prettier.format(markdown, { ...options, filepath: fileURLToPath(DOCUMENT_PATH) });
}

export async function writeDocument(progress: (message: string) => void): Promise<void> {
  const { markdown, svg } = await buildDocument(progress);
  writeFileSync(DOCUMENT_PATH, await formatted(markdown));
  writeFileSync(CHART_PATH, svg);
  progress(`wrote ${DOCUMENT_PATH.pathname} and ${CHART_PATH.pathname}`);
}
