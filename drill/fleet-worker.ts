import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

// The drill's simulated fleet, in a worker thread so that it keeps reporting while the service
// (the main thread) is frozen. Each agent POSTs a heartbeat every interval on a fixed cadence,
// gives up on an answer after `timeoutMs`, and never retries in between: the next heartbeat is
// its retry. An agent that is killed stops for good.

export interface FleetConfig {
  url: string;
  token: string;
  agents: number;
  intervalMs: number;
  ttlSeconds: number;
  timeoutMs: number;
}

export interface AgentReport {
  agentId: string;
  /** When it stopped for good (epoch ms); null while it still reports. */
  diedAt: number | null;
  /** When it last sent a heartbeat that the service accepted (2xx), epoch ms. */
  lastAccepted: number | null;
  sent: number;
  accepted: number;
  /** Failed sends by kind: an HTTP status, `timeout` or `error`. */
  failures: Record<string, number>;
}

export type FleetCommand = { type: 'kill'; agentIds: string[] } | { type: 'report' } | { type: 'end' };

export type FleetMessage = { type: 'report'; agents: AgentReport[] };

const config = workerData as FleetConfig;
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 64 });
const target = new URL('/v1/heartbeats', config.url);

interface Agent extends AgentReport {
  seq: number;
  timer: NodeJS.Timeout | undefined;
}

const agents: Agent[] = Array.from({ length: config.agents }, (_, i) => ({
  agentId: `drill-${String(i).padStart(5, '0')}`,
  diedAt: null,
  lastAccepted: null,
  sent: 0,
  accepted: 0,
  failures: {},
  seq: 0,
  timer: undefined,
}));
const byId = new Map(agents.map((agent) => [agent.agentId, agent]));
const bootId = `boot-${Date.now()}`;
let ended = false;

function send(agent: Agent): void {
  if (agent.diedAt !== null || ended) return;
  const startedAt = Date.now();
  agent.sent++;
  const body = JSON.stringify({
    agentId: agent.agentId,
    bootId,
    seq: agent.seq++,
    ttlSeconds: config.ttlSeconds,
    intervalSeconds: Math.max(1, Math.round(config.intervalMs / 1000)),
    checks: [{ name: 'disk:/', status: 'pass' }],
    labels: { drill: 'true' },
  });
  // Each send ends once: answered, timed out, or failed, whichever comes first.
  let settled = false;
  const settle = (failure?: string) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    if (failure === undefined) {
      agent.accepted++;
      agent.lastAccepted = startedAt;
    } else agent.failures[failure] = (agent.failures[failure] ?? 0) + 1;
  };
  const request = http.request(target, {
    method: 'POST',
    agent: keepAlive,
    headers: {
      authorization: `Bearer ${config.token}`,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    },
  });
  const timer = setTimeout(() => {
    settle('timeout');
    request.destroy();
  }, config.timeoutMs);
  request.on('response', (response) => {
    response.resume();
    const status = response.statusCode ?? 0;
    response.on('end', () => settle(status >= 200 && status < 300 ? undefined : String(status)));
  });
  request.on('error', () => settle('error'));
  request.end(body);
}

/** A fixed cadence from a random phase, so the fleet's heartbeats spread over each interval. */
function start(agent: Agent): void {
  const first = Date.now() + Math.random() * config.intervalMs;
  let n = 0;
  const tick = () => {
    if (agent.diedAt !== null || ended) return;
    send(agent);
    n++;
    agent.timer = setTimeout(tick, Math.max(0, first + n * config.intervalMs - Date.now()));
  };
  agent.timer = setTimeout(tick, first - Date.now());
}

function report(): FleetMessage {
  return {
    type: 'report',
    agents: agents.map(({ agentId, diedAt, lastAccepted, sent, accepted, failures }) => ({
      agentId,
      diedAt,
      lastAccepted,
      sent,
      accepted,
      failures: { ...failures },
    })),
  };
}

parentPort?.on('message', (command: FleetCommand) => {
  if (command.type === 'kill') {
    const now = Date.now();
    for (const id of command.agentIds) {
      const agent = byId.get(id);
      if (agent === undefined || agent.diedAt !== null) continue;
      agent.diedAt = now;
      clearTimeout(agent.timer);
    }
  } else if (command.type === 'report') {
    parentPort?.postMessage(report());
  } else {
    ended = true;
    for (const agent of agents) clearTimeout(agent.timer);
    parentPort?.postMessage(report());
    keepAlive.destroy();
    parentPort?.close();
  }
});

for (const agent of agents) start(agent);
