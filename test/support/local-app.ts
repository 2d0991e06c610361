import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HeartbeatPolicy } from '../../functions/core/heartbeat.js';
import type { Clock, Log } from '../../functions/core/ports.js';
import { type LocalApp, startLocalApp } from '../../functions/local/app.js';

const quiet: Log = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * The local runner in this process, on a file-backed dynalite in a fresh temporary folder, with
 * its real HTTP server on a free loopback port, logging nowhere unless given a log. `stop` closes it and removes
 * the folder.
 */
/** The operators' token of every test app unless given one. */
export const OPERATOR_TOKEN = 'test-operator-token';

export async function startTestApp(options: {
  token: string;
  operatorToken?: string;
  agentAuth?: 'fleet' | 'per-agent';
  policy?: Partial<HeartbeatPolicy>;
  reconcileIntervalSeconds?: number;
  log?: Log;
  clock?: Clock;
}): Promise<{ app: LocalApp; stop: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'hb-app-'));
  const app = await startLocalApp({
    policy: { defaultTtlSeconds: 90, defaultIntervalSeconds: 30, minTtlSeconds: 1, ...options.policy },
    host: '127.0.0.1',
    port: 0,
    store: { kind: 'dynalite', dataDir: dir },
    token: options.token,
    operatorToken: options.operatorToken ?? OPERATOR_TOKEN,
    ...(options.agentAuth === undefined ? {} : { agentAuth: options.agentAuth }),
    reconcileIntervalSeconds: options.reconcileIntervalSeconds ?? 3600,
    log: options.log ?? quiet,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  return {
    app,
    stop: async () => {
      await app.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
