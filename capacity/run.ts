/**
 * `npm run capacity -- --agents 18000 --interval 30 --ttl 90 [--checks 5 --output-bytes 200]
 * [--regions primary|other] [--sample 200 --hours 3] [--json]`: what a fleet costs per month and
 * which AWS quota it meets first, for this service and the designs a user might pick instead.
 * `npm run capacity -- --doc` rewrites docs/capacity.md and its chart.
 */
import { parseArgs } from 'node:util';
import { writeDocument } from './document.js';
import { DESIGNS, type Design, type Regions, estimate } from './model.js';
import { PRICE_TABLE } from './prices.js';
import { SERVICE_HEADERS, bindingSentence, measuredFigures, serviceRows, textTable, usd } from './report.js';
import { DEFAULT_SHAPE, simulate } from './simulate.js';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '18000' },
    interval: { type: 'string', default: '30' },
    ttl: { type: 'string' },
    checks: { type: 'string', default: String(DEFAULT_SHAPE.checks) },
    'output-bytes': { type: 'string', default: String(DEFAULT_SHAPE.outputBytes) },
    regions: { type: 'string', default: 'primary' },
    sample: { type: 'string', default: String(DEFAULT_SHAPE.agents) },
    hours: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
    doc: { type: 'boolean', default: false },
  },
  strict: true,
});

function whole(name: string, text: string | undefined, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    console.error(`--${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return value;
}

if (values.doc) {
  await writeDocument((message) => console.error(message));
  process.exit(0);
}

const agents = whole('agents', values.agents, 1, 100_000_000);
const intervalSeconds = whole('interval', values.interval, 1, 86_400);
const ttlSeconds = whole(
  'ttl',
  values.ttl ?? String(3 * intervalSeconds),
  Math.max(60, intervalSeconds),
  604_800,
);
const checks = whole('checks', values.checks, 0, 50);
const outputBytes = whole('output-bytes', values['output-bytes'], 0, 4096);
const sample = whole('sample', values.sample, 10, 5_000);
const hours = whole('hours', values.hours, 1, 48);
if (values.regions !== 'primary' && values.regions !== 'other') {
  console.error(`--regions must be primary or other, not ${JSON.stringify(values.regions)}`);
  process.exit(2);
}
const regions: Regions = values.regions;

const shape = { ...DEFAULT_SHAPE, agents: sample, intervalSeconds, ttlSeconds, checks, outputBytes, hours };
console.error(
  `simulating ${sample} agents for ${hours} virtual hour${hours === 1 ? '' : 's'} through the deployed handlers ` +
    `(restarts ${shape.restartsPerDay}/day, ${shape.deathsPerHour * 100} % dying per hour, ` +
    `${shape.checkChangesPerDay} check changes/day) ...`,
);
const started = performance.now();
const measured = await simulate(shape);
console.error(
  `done in ${((performance.now() - started) / 1000).toFixed(1)} s: ${measured.counts.heartbeats} heartbeats`,
);
const estimates = (Object.keys(DESIGNS) as Design[]).map((design) =>
  estimate(measured, agents, design, regions),
);

if (values.json) {
  console.log(
    JSON.stringify({
      prices: { asOf: PRICE_TABLE.asOf, region: PRICE_TABLE.region },
      shape,
      measured,
      estimates,
    }),
  );
  process.exit(0);
}

console.log(
  `${agents.toLocaleString('en-US')} agents, a heartbeat every ${intervalSeconds} s, TTL ${ttlSeconds} s, ` +
    `${checks} checks of ${outputBytes} B; ${regions === 'primary' ? 'the main regions' : 'other regions'}' ` +
    `default quotas; ${PRICE_TABLE.region} list prices of ${PRICE_TABLE.asOf} (capacity/prices.ts)`,
);
console.log('\nmeasured on the sample, per agent (what the fleet figures are scaled from):');
console.log(textTable(['figure', 'value'], measuredFigures(measured)));
for (const e of estimates) {
  console.log(`\n${DESIGNS[e.design]}: ${usd(e.monthlyUsd)} a month`);
  console.log(textTable(SERVICE_HEADERS, serviceRows(e)));
  console.log(bindingSentence(e));
}
