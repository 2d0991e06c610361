/**
 * `npm run bench`: prints figures, asserts nothing. The targets they are read against are in the
 * README. Uses the local adapters: the DynamoDB adapter on an in-memory dynalite and the local
 * scheduler, with virtual time where the question is "how many calls", not "how fast".
 */
import { performance } from 'node:perf_hooks';
import { systemClock } from '../functions/adapters/system-clock.js';
import { heartbeatEvent } from '../test/support/api-events.js';
import { brownoutFigures } from './brownout.js';
import { pulseFigures } from './pulse.js';
import { bundleFigures } from './bundle.js';
import { type StoreFactory, dynaliteStore, memoryStore, pipeline } from './pipeline.js';
import { reconcilerFigures } from './reconciler.js';
import { runnerMemoryFigures } from './runner-memory.js';
import { scheduleEconomy } from './schedule-economy.js';
import { storeRates } from './store-rates.js';

async function throughput(makeStore: StoreFactory) {
  const p = await pipeline(systemClock, undefined, makeStore);
  const agents = 200;
  const total = 4000;
  const concurrency = 16;
  const send = (i: number) =>
    p.ingest(heartbeatEvent({ agentId: `bench-${i % agents}`, checks: [{ name: 'disk', status: 'pass' }] }));
  for (let i = 0; i < agents; i++) await send(i); // first heartbeats create records; measure steady state
  let next = 0;
  let failures = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const response = await send(next++);
        if (response.statusCode !== 200) failures++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await p.close();
  return { heartbeats: total, seconds: round(seconds), perSecond: Math.round(total / seconds), failures };
}

const round = (n: number) => Math.round(n * 1000) / 1000;

console.log(
  'per store on its local server: ingest heartbeats/s, KV operations per heartbeat, raw SDK get+replace rate:',
);
console.log(JSON.stringify(await storeRates(), null, 2));
console.log('ingest throughput (in-process handler, local scheduler, 200 agents, 16 concurrent):');
console.log(
  JSON.stringify(
    {
      dynamodbAdapterOnDynalite: await throughput(dynaliteStore),
      memoryStore: await throughput(memoryStore),
    },
    null,
    2,
  ),
);
console.log(
  'schedule economy (interval 30 s, TTL 90 s, one virtual hour; targets: <= 0.5 writes/heartbeat, 0 invocations for healthy agents, <= 2 invocations per dead agent):',
);
console.log(JSON.stringify(await scheduleEconomy(), null, 2));
console.log(
  'scheduler brownout (virtual time, 1,000 agents at 30 s / 90 s, every scheduler call failing for 5 x TTL; targets: 0 heartbeats answered 5xx, 0 false expiries, worst lateness <= one reconciler period + 60 s precision):',
);
console.log(JSON.stringify(await brownoutFigures(), null, 2));
console.log(
  "fleet pulse: store writes at 600 accepted heartbeats/s over N instances, 10 s buckets (target: <= 1 write per instance per bucket), and the expiry guard's pulse reads per expiry decision at a mass expiry:",
);
console.log(JSON.stringify(await pulseFigures(), null, 2));
console.log(
  'reconciler: one run over 18,000 alive agents on dynalite, and its monthly cost at the default 5-minute period:',
);
console.log(JSON.stringify(await reconcilerFigures(), null, 2));
console.log(
  'local runner memory (file-backed dynalite, 1,000 agents): heap growth after GC under 10,000 list pages and 1,000 reconciler runs (target: < 5 MiB each):',
);
console.log(JSON.stringify(await runnerMemoryFigures(), null, 2));
console.log(
  'ingest bundle: size and cold init (fresh Node process, loopback fakes), next to a bundle of only the same SDK clients:',
);
// bundleFigures prints its own lines; the ratios once more as JSON, for scripts reading the output.
console.log(JSON.stringify({ ratios: (await bundleFigures()).ratios }));
