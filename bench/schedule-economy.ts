import { heartbeatEvent } from '../test/support/api-events.js';
import { VirtualTime } from '../test/support/virtual-time.js';
import { type StoreFactory, dynaliteStore, pipeline } from './pipeline.js';

/** Virtual time: a fleet heartbeating at 30 s / TTL 90 s for an hour, then some agents die. */
export async function scheduleEconomy(makeStore: StoreFactory = dynaliteStore) {
  const time = new VirtualTime();
  const p = await pipeline(time, time, makeStore);
  const agents = Array.from({ length: 100 }, (_, i) => `sim-${i}`);
  const dead = new Set(agents.slice(0, 20));
  const settle = () => p.local.settle();
  // Spread agents over the interval, as a real fleet is, with a little jitter per beat.
  const offsetMs = (i: number) => Math.floor((i * 30_000) / agents.length);
  const beatRound = async (round: number, ids: string[]) => {
    for (const [i, agentId] of ids.entries()) {
      const due = time.ms0 + round * 30_000 + offsetMs(i) + ((i * 7919 + round * 104729) % 500);
      await time.advanceTo(Math.max(time.now(), due), settle);
      await p.ingest(heartbeatEvent({ agentId }));
    }
  };
  const rounds = 120; // one hour
  // The first heartbeat of each agent must arm a schedule; steady state starts after it.
  await beatRound(0, agents);
  const writesAfterRegistration = p.scheduler.total;
  for (let round = 1; round < rounds; round++) await beatRound(round, agents);
  const steadyWrites = p.scheduler.total - writesAfterRegistration;
  const steadyBeats = (rounds - 1) * agents.length;

  // 20 agents stop; the rest go on for ten more rounds (300 s), well past the dead agents' TTL.
  const writesBefore = new Map(p.scheduler.writes);
  const alive = agents.filter((id) => !dead.has(id));
  for (let round = rounds; round < rounds + 10; round++) await beatRound(round, alive);

  const deadWrites = [...dead].map((id) => (p.scheduler.writes.get(id) ?? 0) - (writesBefore.get(id) ?? 0));
  const deadInvocations = [...dead].map((id) => p.invocations.get(id) ?? 0);
  let expired = 0;
  for (const id of agents) if ((await p.store.get(id))?.record.state === 'expired') expired++;
  const healthyInvocations = alive.reduce((sum, id) => sum + (p.invocations.get(id) ?? 0), 0);
  await p.close();
  return {
    steadyState: {
      agents: agents.length,
      heartbeats: steadyBeats,
      scheduleWritesPerHeartbeat: round(steadyWrites / steadyBeats),
      expiryInvocationsForHealthyAgents: healthyInvocations,
    },
    deadAgents: {
      agents: dead.size,
      expiredAgentsInFleet: expired,
      scheduleWritesPerDeadAgent: round(average(deadWrites)),
      invocationsPerDeadAgent: round(average(deadInvocations)),
      maxInvocationsForOneDeadAgent: Math.max(...deadInvocations),
    },
  };
}

const round = (n: number) => Math.round(n * 1000) / 1000;
const average = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
