import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { awsRetryStrategy } from '../../functions/adapters/aws-retry.js';
import { ensureTestVenv } from './python-venv.js';

const STARTUP_TIMEOUT_MS = 30_000;
const STDERR_TAIL_CHARS = 4000;

export interface MotoServer {
  /** e.g. http://127.0.0.1:41234 */
  endpoint: string;
  stop(): Promise<void>;
}

/** Asks the OS for a free port. Another process could take it before moto binds; startup would then fail loudly. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port assigned')),
      );
    });
  });
}

/** Starts moto_server on a free loopback port. Throws (never skips) when it cannot. */
export async function startMoto(): Promise<MotoServer> {
  const { motoServer: bin } = await ensureTestVenv();
  const port = await freeLoopbackPort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });

  // moto logs every request to stderr: keep only the tail, for error messages.
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
  });
  let exited: string | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = `exited with code ${code} signal ${signal}`;
      resolve();
    });
    child.once('error', (err) => {
      exited = `could not be spawned: ${err.message}`;
      resolve();
    });
  });

  const stop = async (): Promise<void> => {
    if (exited !== undefined) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exit;
    clearTimeout(killer);
  };

  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    if (exited !== undefined) {
      throw new Error(`moto_server ${exited} before answering on ${endpoint}; stderr:\n${stderr}`);
    }
    if (await answers(`${endpoint}/moto-api/`)) return { endpoint, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `moto_server did not answer on ${endpoint} within ${STARTUP_TIMEOUT_MS} ms; stderr:\n${stderr}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

/** A client for moto: fixed region, dummy credentials, so nothing can reach real AWS. */
export function motoSchedulerClient(endpoint: string): SchedulerClient {
  return new SchedulerClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    // The policy every deployed client uses.
    retryStrategy: awsRetryStrategy(),
  });
}
