/**
 * The local runner's memory under sustained listing and reconciling: the whole app in this
 * process on a file-backed dynalite, 1,000 agents, then 10,000 list pages through the read
 * handler and 1,000 reconciler runs, with the heap measured after GC before and after each.
 * Needs `--expose-gc` (npm run bench passes it).
 */
import { TOKEN, apiEvent, heartbeatEvent } from '../test/support/api-events.js';
import { OPERATOR_TOKEN, startTestApp } from '../test/support/local-app.js';

const MiB = 1024 * 1024;

async function heapAfterGc(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}

export async function runnerMemoryFigures(pages = 10_000, runs = 1_000, agents = 1_000) {
  const { app, stop } = await startTestApp({
    token: TOKEN,
    policy: { defaultTtlSeconds: 3600, defaultIntervalSeconds: 600 },
  });
  try {
    for (let i = 0; i < agents; i++) {
      await app.invokeHttp(heartbeatEvent({ agentId: `mem-${String(i).padStart(4, '0')}` }));
    }
    const listPage = async (cursor: string | undefined) => {
      const response = await app.invokeHttp(
        apiEvent({
          method: 'GET',
          path: '/v1/agents',
          // Reading is an operator's (credentials apart).
          headers: { authorization: `Bearer ${OPERATOR_TOKEN}` },
          query: { state: 'alive', limit: '100', ...(cursor === undefined ? {} : { cursor }) },
        }),
      );
      if (response.statusCode !== 200) throw new Error(`listing answered ${response.statusCode}`);
      return (JSON.parse(response.body) as { nextCursor: string | null }).nextCursor ?? undefined;
    };
    // Warm up, so first-use allocations are not counted as growth.
    let cursor: string | undefined;
    for (let i = 0; i < 200; i++) cursor = await listPage(cursor);
    for (let i = 0; i < 20; i++) await app.reconcile();

    const beforeListing = await heapAfterGc();
    for (let i = 0; i < pages; i++) cursor = await listPage(cursor);
    const afterListing = await heapAfterGc();
    for (let i = 0; i < runs; i++) await app.reconcile();
    const afterReconciling = await heapAfterGc();
    const mib = (bytes: number) => Math.round((bytes / MiB) * 10) / 10;
    return {
      agents,
      listPages: pages,
      heapGrowthAfterListingMiB: mib(afterListing - beforeListing),
      reconcilerRuns: runs,
      heapGrowthAfterReconcilingMiB: mib(afterReconciling - afterListing),
      heapAfterMiB: mib(afterReconciling),
    };
  } finally {
    await stop();
  }
}
