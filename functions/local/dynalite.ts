import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';

export interface StartDynaliteOptions {
  /** LevelDB directory: data survives a restart. In memory when absent. */
  path?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
}

export interface LocalDynamo {
  endpoint: string;
  /** Stops the server and closes the store, releasing the directory lock. */
  close(): Promise<void>;
}

/**
 * Runs dynalite in this process, for the local runner and the tests. Tables are ACTIVE as soon
 * as they are created (dynalite otherwise keeps them CREATING for 500 ms).
 */
export async function startDynalite(options: StartDynaliteOptions = {}): Promise<LocalDynamo> {
  const { path, host = '127.0.0.1', port = 0 } = options;
  if (path !== undefined) {
    await mkdir(path, { recursive: true });
    await assertDirectoryFree(path);
  }
  closeLevelIteratorsOnDestroy();
  const server = dynalite({
    ...(path === undefined ? {} : { path }),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    endpoint: `http://${urlHost}:${address.port}`,
    close: () =>
      // dynalite's close stops the HTTP server (Node closes idle keep-alive sockets), waits for
      // pending LevelDB operations, then closes LevelDB, so the same path can be reopened.
      new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}

type IteratorPrototype = { close?: () => Promise<void> };

/**
 * dynalite 4.0.0 reads Query and Scan results through abstract-level iterators wrapped in
 * Readable streams, and the streams' destroy() closes the iterator only `if (iterator.return)`
 * (dynalite/db/index.js, createKeyStream and createValueStream). abstract-level iterators have
 * close() but no return(), so none is ever closed: each stays in the database's set of open
 * resources (with its LevelDB iterator and snapshot when file-backed) until the database closes,
 * and a long-running local runner grows by 1-2 MB of heap and more of RSS per 1,000 queries.
 * Giving the iterators a return() that closes them lets dynalite's own destroy() release them.
 * close() is idempotent and waits for a read in progress. Process-wide, applied once; a no-op
 * should abstract-level ever define return() itself.
 */
function closeLevelIteratorsOnDestroy(): void {
  const fromDynalite = createRequire(createRequire(import.meta.url).resolve('dynalite'));
  // The abstract-level that classic-level (file-backed) and memory-level (in memory) extend.
  const backends = [
    createRequire(fromDynalite.resolve('level')).resolve('classic-level'),
    fromDynalite.resolve('memory-level'),
  ];
  for (const backend of backends) {
    const abstractLevel = createRequire(backend)('abstract-level') as Record<
      string,
      { prototype: IteratorPrototype } | undefined
    >;
    for (const name of ['AbstractIterator', 'AbstractKeyIterator', 'AbstractValueIterator']) {
      const prototype = abstractLevel[name]?.prototype;
      if (prototype === undefined || typeof prototype.close !== 'function' || 'return' in prototype) continue;
      Object.defineProperty(prototype, 'return', {
        configurable: true,
        writable: true,
        value: function (this: Required<IteratorPrototype>) {
          return this.close().then(() => ({ done: true, value: undefined }));
        },
      });
    }
  }
}

interface LevelProbe {
  open(): Promise<void>;
  close(): Promise<void>;
}
type LevelModule = { Level: new (location: string) => LevelProbe };

/**
 * dynalite opens LevelDB lazily, and when the directory is locked (another runner on the same
 * data dir) its first request throws from a callback and takes the whole process down. Opening
 * the directory once with the very `level` dynalite uses turns that into a clear startup error.
 */
async function assertDirectoryFree(path: string): Promise<void> {
  const fromDynalite = createRequire(createRequire(import.meta.url).resolve('dynalite'));
  const { Level } = fromDynalite('level') as LevelModule;
  const probe = new Level(path);
  try {
    await probe.open();
  } catch (error) {
    throw new Error(`cannot open the dynalite data directory ${path} (is another local runner using it?)`, {
      cause: error,
    });
  }
  await probe.close();
}

export interface LocalDynamoClientOptions {
  /** SDK attempts per call (default 3). */
  maxAttempts?: number;
  /** Fail a call that gets no response within this many ms (default: no limit). */
  requestTimeoutMs?: number;
}

/**
 * A DynamoDB client for a local endpoint only: fixed region and dummy credentials, so nothing
 * from the environment (profiles, real keys) is picked up and a request can never reach AWS.
 */
export function createLocalDynamoClient(
  endpoint: string,
  options: LocalDynamoClientOptions = {},
): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
    ...(options.requestTimeoutMs === undefined
      ? {}
      : {
          requestHandler: {
            connectionTimeout: options.requestTimeoutMs,
            requestTimeout: options.requestTimeoutMs,
            // Without this the SDK only logs a warning when requestTimeout passes and keeps waiting.
            throwOnRequestTimeout: true,
          },
        }),
  });
}
