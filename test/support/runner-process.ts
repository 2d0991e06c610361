import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface RunnerProcess {
  url: string;
  /** Every JSON log line the runner printed so far. */
  lines: Record<string, unknown>[];
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts the local runner exactly as `npm start` does, on a free port, and waits until it listens. */
export async function startRunner(env: Record<string, string>): Promise<RunnerProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'functions/local/main.ts'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      PORT: '0',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      OPERATOR_TOKEN: RUNNER_OPERATOR_TOKEN,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = new Promise<string>((resolve, reject) => {
    const timeout = setTimeout(
      () => reject(new Error(`runner did not start within 30 s:\n${stderr}`)),
      30_000,
    );
    child.once('exit', (code) => reject(new Error(`runner exited with ${code}:\n${stderr}`)));
    if (!child.stdout) throw new Error('runner has no stdout');
    createInterface({ input: child.stdout }).on('line', (text) => {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return; // not a log line
      }
      lines.push(line);
      if (line.message === 'heartbeat service listening' && typeof line.url === 'string') {
        clearTimeout(timeout);
        resolve(line.url);
      }
    });
  });
  return {
    url: await url,
    lines,
    async stop(signal = 'SIGTERM') {
      // Exited already, by itself or by a signal (a killed child has no exit code).
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill(signal);
      await exited;
    },
  };
}

export interface Client {
  heartbeat(body: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }>;
  agent(agentId: string): Promise<{ status: number; body: Record<string, unknown> }>;
  deregister(
    agentId: string,
    as?: 'operator' | 'agent',
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  /** POST /v1/maintenance. */
  createWindow(
    body: Record<string, unknown>,
    as?: 'operator' | 'agent',
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  listWindows(): Promise<{ status: number; body: Record<string, unknown> }>;
  endWindow(id: string): Promise<{ status: number; body: Record<string, unknown> }>;
}

/** The operators' token of every runner started here unless its env names another. */
export const RUNNER_OPERATOR_TOKEN = 'test-operator-token';

/** Reports with the agents' `token`, reads with the operators' (credentials apart). */
export function client(url: string, token: string, operatorToken = RUNNER_OPERATOR_TOKEN): Client {
  const call = async (path: string, init: RequestInit, bearer: string) => {
    const response = await fetch(`${url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  return {
    heartbeat: (body) => call('/v1/heartbeats', { method: 'POST', body: JSON.stringify(body) }, token),
    agent: (agentId) => call(`/v1/agents/${encodeURIComponent(agentId)}`, { method: 'GET' }, operatorToken),
    deregister: (agentId, as = 'operator') =>
      call(
        `/v1/agents/${encodeURIComponent(agentId)}`,
        { method: 'DELETE' },
        as === 'operator' ? operatorToken : token,
      ),
    createWindow: (body, as = 'operator') =>
      call(
        '/v1/maintenance',
        { method: 'POST', body: JSON.stringify(body) },
        as === 'operator' ? operatorToken : token,
      ),
    listWindows: () => call('/v1/maintenance', { method: 'GET' }, operatorToken),
    endWindow: (id) => call(`/v1/maintenance/${encodeURIComponent(id)}`, { method: 'DELETE' }, operatorToken),
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` returns a value or the time runs out. */
export async function waitFor<T>(
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}
