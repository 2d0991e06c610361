import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type RunnerProcess, client, sleep, startRunner, waitFor } from '../support/runner-process.js';

const TOKEN = 'kill-token';
const TTL_SECONDS = 3;
const CYCLES = 5;
const AGENTS = 60;

/** A small seeded generator, so a failing run can be replayed from the seed it prints. */
function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('the local runner killed with SIGKILL at random moments, restarted on the same data', () => {
  const runners: RunnerProcess[] = [];
  let dir = '';

  afterAll(async () => {
    await Promise.all(runners.map((r) => r.stop('SIGKILL')));
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it(
    'keeps every acknowledged heartbeat, reports every expiry, and leaves no alive agent without a timer',
    { timeout: 120_000 },
    async () => {
      const seed = Date.now() % 100_000;
      console.log(`kill -9 test seed: ${seed}`);
      const rand = random(seed);
      dir = await mkdtemp(join(tmpdir(), 'hb-kill-'));
      const start = () =>
        startRunner({
          DATA_DIR: dir,
          HEARTBEAT_TOKEN: TOKEN,
          MIN_TTL_SECONDS: '1',
          // The reconciler runs at each start, and not again within the test: an agent whose
          // timer a restart lost would stay alive, and fail the test, instead of being rescued.
          RECONCILE_INTERVAL_SECONDS: '3600',
          // The whole fleet stops at the end, which the expiry guard reads as a deaf service and
          // defers (its own tests cover that): here every agent must expire at its deadline.
          EXPIRY_MAX_DEFER_SECONDS: '0',
        }).then((r) => {
          runners.push(r);
          return r;
        });
      const ids = Array.from({ length: AGENTS }, (_, i) => `node-${String(i).padStart(2, '0')}`);
      // Half the fleet reports to the end; the other half falls silent, a few agents per cycle,
      // so expiries are due (and in flight) around every kill.
      const silentAfterCycle = new Map(
        ids.map((id, i) => [id, i % 2 === 0 ? CYCLES : Math.floor(i / 2) % CYCLES]),
      );
      const acknowledged = new Map<string, number>();
      // When each answer arrived (wall clock) and the lastSeen it reported, per agent.
      const acks = new Map<string, Array<{ at: number; lastSeen: number }>>();

      for (let cycle = 0; cycle < CYCLES; cycle++) {
        const runner = await start();
        const api = client(runner.url, TOKEN);
        const killAt = performance.now() + 1_000 + rand() * 3_000;
        let killed = false;
        // Agents falling silent in this cycle send one heartbeat at its start, then stop.
        const lastBeatSent = new Set<string>();
        const load = (async () => {
          while (!killed) {
            const live = ids.filter((id) => {
              const after = silentAfterCycle.get(id) ?? 0;
              return after > cycle || (after === cycle && !lastBeatSent.has(id));
            });
            for (const id of live) if (silentAfterCycle.get(id) === cycle) lastBeatSent.add(id);
            await Promise.all(
              live.map(async (agentId) => {
                try {
                  const answer = await api.heartbeat({
                    agentId,
                    ttlSeconds: TTL_SECONDS,
                    intervalSeconds: 1,
                  });
                  if (answer.status !== 200) return;
                  const lastSeen = Date.parse(String(answer.body.lastSeen));
                  acknowledged.set(agentId, Math.max(acknowledged.get(agentId) ?? 0, lastSeen));
                  acks.set(agentId, [...(acks.get(agentId) ?? []), { at: Date.now(), lastSeen }]);
                } catch {
                  // the runner died mid-request: not acknowledged
                }
              }),
            );
            await sleep(300);
          }
        })();
        await sleep(Math.max(0, killAt - performance.now()));
        await runner.stop('SIGKILL');
        killed = true;
        await load;
      }

      // The last start: nobody reports any more, so every agent must expire, with its line.
      const last = await start();
      const api = client(last.url, TOKEN);
      const agents = ids.filter((id) => acknowledged.has(id));
      await waitFor(
        async () => {
          const states = await Promise.all(agents.map(async (id) => (await api.agent(id)).body.state));
          return states.every((state) => state === 'expired') ? true : undefined;
        },
        (TTL_SECONDS + 10) * 1000,
        'every agent to expire after the last restart',
      );

      const lines = runners.flatMap((r) => r.lines.filter((line) => line.message === 'agent expired'));
      for (const agentId of agents) {
        const record = (await api.agent(agentId)).body;
        // Durable: nothing acknowledged was lost, whenever the process died.
        expect(Date.parse(String(record.lastSeen))).toBeGreaterThanOrEqual(
          acknowledged.get(agentId) ?? Infinity,
        );
        // Reported: its final expiry has its line in some run's log (at least once).
        const reported = lines.filter(
          (line) => line.agentId === agentId && line.expiredAt === record.expiredAt,
        );
        expect(reported.length, `expiry line for ${agentId}`).toBeGreaterThanOrEqual(1);
      }
      // No false expiry (I2): an expiry never rests on an older lastSeen than a heartbeat that
      // had already been answered when it was declared.
      for (const line of lines) {
        const detectedAt = Date.parse(String(line.detectedAt));
        for (const ack of acks.get(String(line.agentId)) ?? []) {
          if (ack.at < detectedAt)
            expect(Date.parse(String(line.lastSeen))).toBeGreaterThanOrEqual(ack.lastSeen);
        }
      }
      console.log(`kill -9: ${CYCLES} kills, ${agents.length} agents, ${lines.length} expiry lines`);
    },
  );
});
