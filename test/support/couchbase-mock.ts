import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { type Server, type Socket, createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

// Pinned: the mock's protocol coverage changes between releases. This is the server the
// Couchbase SDKs' own test suites run against (KV, CAS, expiry; no SQL++, no collections).
export const COUCHBASE_MOCK_VERSION = '1.5.27';
const ARTIFACT = `com.couchbase.mock:CouchbaseMock:${COUCHBASE_MOCK_VERSION}`;
const JAR_NAME = `CouchbaseMock-${COUCHBASE_MOCK_VERSION}.jar`;

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const STARTUP_TIMEOUT_MS = 60_000;
const OUTPUT_TAIL_CHARS = 4000;

/** The mock's built-in cluster administrator (hard-coded in CouchbaseMock). */
const ADMIN = { username: 'Administrator', password: 'password' };

const run = promisify(execFile);

/** Where one bucket of a running mock is reached with the Node SDK. */
export interface CouchbaseMockBucket {
  /** `couchbase://127.0.0.1:<kv port>[,...]`: the bucket's own KV ports, bootstrapped over CCCP. */
  connectionString: string;
  /** The mock authenticates by bucket: the user is the bucket's name, the password its SASL password. */
  username: string;
  password: string;
  bucket: string;
  /** The mock's REST port (cluster management, `/mock/*` control commands). */
  httpPort: number;
}

export interface CouchbaseMockServer extends CouchbaseMockBucket {
  stop(): Promise<void>;
}

export function couchbaseMockDir(): string {
  return path.join(process.env.HEARTBEAT_CACHE_DIR ?? path.join(REPO_ROOT, '.cache'), 'couchbase-mock');
}

/**
 * Fetches the mock's jar from Maven Central with Maven, once per cache dir, and returns its path.
 * Maven checks the artifact's checksum (strictly); the jar is copied into a temporary folder and
 * moved into place only when complete, so an interrupted download is never mistaken for a good jar.
 */
export async function ensureCouchbaseMockJar(dir = couchbaseMockDir()): Promise<string> {
  const jar = path.join(dir, JAR_NAME);
  if (existsSync(jar) && (await stat(jar)).size > 0) return jar;

  await mkdir(dir, { recursive: true });
  const staging = await mkdtemp(path.join(dir, 'download-'));
  try {
    await run(
      'mvn',
      [
        '--batch-mode',
        '--quiet',
        '--strict-checksums',
        'dependency:copy',
        `-Dartifact=${ARTIFACT}`,
        `-DoutputDirectory=${staging}`,
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    await rename(path.join(staging, JAR_NAME), jar);
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    throw new Error(
      `could not fetch ${ARTIFACT} from Maven Central into ${dir} (needs Maven and a JDK on PATH):\n${stdout}${stderr}`,
      { cause: err },
    );
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return jar;
}

export interface StartCouchbaseMockOptions {
  bucket?: string;
  password?: string;
}

/**
 * Starts CouchbaseMock with CCCP bootstrap (what the SDK's C++ core uses), one node, no replicas
 * and one bucket. Throws (never skips) when it cannot.
 *
 * The mock is started in its "harakiri" mode: it connects back to a loopback socket of ours, tells
 * us its REST port there (it picks a free one itself, so no port race), and exits as soon as that
 * socket closes, so even a crashed test run leaves no java process behind. Its KV ports listen on
 * 127.0.0.1; its REST port binds every interface (the mock has no option to change that).
 */
export async function startCouchbaseMock(
  options: StartCouchbaseMockOptions = {},
): Promise<CouchbaseMockServer> {
  const bucket = options.bucket ?? 'agents';
  const password = options.password ?? 'agents-password';
  const jar = await ensureCouchbaseMockJar();

  const control = createServer();
  await new Promise<void>((resolve, reject) => {
    control.once('error', reject);
    control.listen(0, '127.0.0.1', () => resolve());
  });
  const controlPort = (control.address() as { port: number }).port;

  const child = spawn(
    'java',
    [
      '-jar',
      jar,
      '--cccp',
      '--harakiri-monitor',
      `127.0.0.1:${controlPort}`,
      '--port',
      '0',
      '--nodes',
      '1',
      '--replicas',
      '0',
      '--vbuckets',
      '32',
      '--buckets',
      `${bucket}:${password}:couchbase`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const keep = (chunk: string) => {
    output = (output + chunk).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.setEncoding('utf8').on('data', keep);
  child.stderr?.setEncoding('utf8').on('data', keep);
  let exited: string | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = `exited with code ${code} signal ${signal}`;
      resolve();
    });
    child.once('error', (err) => {
      exited = `could not be spawned (is a JDK on PATH?): ${err.message}`;
      resolve();
    });
  });

  let socket: Socket | undefined;
  const stop = async (): Promise<void> => {
    if (control.listening) control.close();
    socket?.destroy();
    await stopProcess(child, () => exited !== undefined, exit);
  };

  try {
    const handshake = await acceptPort(
      control,
      exit,
      () => exited,
      () => output,
    );
    socket = handshake.socket;
    control.close(); // one mock, one connection: stop listening
    const httpPort = handshake.port;
    await waitUntilAnswers(
      httpPort,
      bucket,
      () => exited,
      () => output,
    );
    const connectionString = await mockConnectionString(httpPort, bucket);
    return { connectionString, username: bucket, password, bucket, httpPort, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Waits for the mock to connect to our control socket and send its REST port ("<port>\0"). */
function acceptPort(
  control: Server,
  exit: Promise<void>,
  exited: () => string | undefined,
  output: () => string,
): Promise<{ socket: Socket; port: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(`CouchbaseMock did not report its port within ${STARTUP_TIMEOUT_MS} ms:\n${output()}`),
        ),
      STARTUP_TIMEOUT_MS,
    );
    void exit.then(() => {
      clearTimeout(timer);
      reject(new Error(`CouchbaseMock ${exited()} before reporting its port; output:\n${output()}`));
    });
    control.once('connection', (socket) => {
      socket.on('error', () => undefined); // the mock closing its end at shutdown is expected
      let received = '';
      socket.setEncoding('utf8');
      socket.on('data', function onData(chunk: string) {
        received += chunk;
        const end = received.indexOf('\0');
        if (end < 0) return;
        socket.off('data', onData);
        clearTimeout(timer);
        const port = Number(received.slice(0, end));
        if (!Number.isInteger(port) || port <= 0) {
          reject(new Error(`CouchbaseMock reported a bad port ${JSON.stringify(received.slice(0, end))}`));
          return;
        }
        resolve({ socket, port });
      });
    });
  });
}

async function waitUntilAnswers(
  httpPort: number,
  bucket: string,
  exited: () => string | undefined,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    const status = exited();
    if (status !== undefined) throw new Error(`CouchbaseMock ${status}; output:\n${output()}`);
    try {
      await kvPorts(httpPort, bucket);
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(`CouchbaseMock did not answer on port ${httpPort} within ${STARTUP_TIMEOUT_MS} ms`, {
          cause: error,
        });
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stopProcess(child: ChildProcess, gone: () => boolean, exit: Promise<void>): Promise<void> {
  if (gone()) return;
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exit;
  clearTimeout(killer);
}

/** The bucket's KV ports, from the mock's `/mock/get_mcports` control command. */
export async function kvPorts(httpPort: number, bucket: string): Promise<number[]> {
  const url = `http://127.0.0.1:${httpPort}/mock/get_mcports?bucket=${encodeURIComponent(bucket)}`;
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
  const body = (await response.json()) as { status?: string; payload?: unknown };
  const ports = body.payload;
  if (
    !response.ok ||
    body.status !== 'ok' ||
    !Array.isArray(ports) ||
    ports.length === 0 ||
    !ports.every((p) => Number.isInteger(p))
  ) {
    throw new Error(`unexpected answer from ${url}: ${response.status} ${JSON.stringify(body)}`);
  }
  return ports as number[];
}

/**
 * How the Node SDK (4.x, C++ core) reaches a bucket of the mock: every KV port of that bucket,
 * bootstrapping over CCCP, as the SDK's own test harness does. No `?` options are needed: the core
 * negotiates features with HELLO and the mock simply does not offer collections or SQL++.
 */
export async function mockConnectionString(httpPort: number, bucket: string): Promise<string> {
  const ports = await kvPorts(httpPort, bucket);
  return `couchbase://${ports.map((port) => `127.0.0.1:${port}`).join(',')}`;
}

/**
 * Adds a bucket to a running mock (REST, as the cluster administrator). A bucket has its own KV
 * ports in the mock, so it is reached with its own connection string.
 */
export async function createMockBucket(
  httpPort: number,
  bucket: string,
  password = `${bucket}-password`,
): Promise<CouchbaseMockBucket> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/pools/default/buckets`, {
    method: 'POST',
    headers: { authorization: basic(ADMIN.username, ADMIN.password) },
    body: new URLSearchParams({
      name: bucket,
      authType: 'sasl',
      saslPassword: password,
      bucketType: 'couchbase',
      ramQuotaMB: '100',
      replicaNumber: '0',
    }),
    signal: AbortSignal.timeout(5000),
  });
  if (response.status !== 202) {
    throw new Error(
      `CouchbaseMock refused to create bucket ${bucket}: ${response.status} ${await response.text()}`,
    );
  }
  return {
    connectionString: await mockConnectionString(httpPort, bucket),
    username: bucket,
    password,
    bucket,
    httpPort,
  };
}

/** Removes every document of a bucket (the REST doFlush endpoint; synchronous in the mock). */
export async function flushMockBucket(target: CouchbaseMockBucket): Promise<void> {
  const url = `http://127.0.0.1:${target.httpPort}/pools/default/buckets/${encodeURIComponent(target.bucket)}/controller/doFlush`;
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: basic(target.username, target.password) },
    signal: AbortSignal.timeout(5000),
  });
  await response.body?.cancel();
  if (!response.ok)
    throw new Error(`CouchbaseMock did not flush bucket ${target.bucket}: ${response.status}`);
}

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}
