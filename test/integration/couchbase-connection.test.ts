import { type Server, type Socket, createConnection, createServer } from 'node:net';
import {
  type Cluster,
  type ConnectOptions,
  DocumentNotFoundError,
  UnambiguousTimeoutError,
  connect,
} from 'couchbase';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import {
  type CouchbaseConnectorOptions,
  createCouchbaseConnector,
} from '../../functions/adapters/couchbase/connection.js';
import { timeoutTracker } from '../support/live-timers.js';

const timeouts = timeoutTracker();

beforeAll(() => {
  timeouts.enable();
});

afterAll(() => {
  timeouts.disable();
});

const settledTimeouts = () => timeouts.settled();

const FAST_FAIL = { bootstrapMs: 400, connectMs: 200, kvMs: 300 };
const FAILURES = 5;

describe('Couchbase connector lifecycle', () => {
  const mock = inject('couchbaseMock');
  const target: CouchbaseConnectorOptions = { ...mock, timeouts: FAST_FAIL };

  it(`fails to connect ${FAILURES} times without leaving a timer behind, then connects once the cluster is up`, async () => {
    const port = await closedPort();
    const connector = createCouchbaseConnector({
      ...target,
      connectionString: `couchbase://127.0.0.1:${port}`,
    });
    onTestFinished(() => connector.close());
    const before = await settledTimeouts();

    for (let i = 0; i < FAILURES; i++) {
      await expect(connector.collection()).rejects.toBeInstanceOf(UnambiguousTimeoutError);
    }
    const afterFailures = await settledTimeouts();

    // The cluster comes up at the address the connector was given: the next call connects.
    const proxy = await forward(port, kvPort(mock.connectionString));
    onTestFinished(() => proxy.close());
    const collection = await connector.collection();
    await expect(collection.get('connector-probe')).rejects.toBeInstanceOf(DocumentNotFoundError);

    // Two leaked intervals per failure (the SDK's tracer and meter) would be 10 here.
    expect(afterFailures - before).toBeLessThanOrEqual(0);
  });

  it('control: with the SDK defaults, the same failed connects do leak timers', async () => {
    const port = await closedPort();
    const defaults: ConnectOptions = {
      username: mock.username,
      password: mock.password,
      timeouts: { bootstrapTimeout: FAST_FAIL.bootstrapMs, connectTimeout: FAST_FAIL.connectMs },
    };
    const before = await settledTimeouts();

    for (let i = 0; i < 2; i++) {
      await expect(connect(`couchbase://127.0.0.1:${port}`, defaults)).rejects.toBeInstanceOf(
        UnambiguousTimeoutError,
      );
    }

    // This is what the connector's options prevent; if it ever stops being true, the test above
    // no longer proves anything and should be revisited.
    expect((await settledTimeouts()) - before).toBeGreaterThanOrEqual(2);
  });

  it('connects once for many concurrent first calls, and holds no timer while connected', async () => {
    let connects = 0;
    const counting = (connectionString: string, options: ConnectOptions): Promise<Cluster> => {
      connects++;
      return connect(connectionString, options);
    };
    const connector = createCouchbaseConnector(target, counting);
    onTestFinished(() => connector.close());
    const before = await settledTimeouts();

    const [collections, clusters] = await Promise.all([
      Promise.all(Array.from({ length: 50 }, () => connector.collection())),
      Promise.all(Array.from({ length: 10 }, () => connector.cluster())),
    ]);
    await expect(collections[0]?.get('connector-probe')).rejects.toBeInstanceOf(DocumentNotFoundError);

    expect(connects).toBe(1);
    expect(new Set(collections).size).toBe(1);
    expect(new Set(clusters).size).toBe(1);
    expect((await settledTimeouts()) - before).toBeLessThanOrEqual(0);
  });

  it('uses the default scope and collection unless told otherwise', async () => {
    const connector = createCouchbaseConnector(mock);
    onTestFinished(() => connector.close());

    const collection = await connector.collection();

    expect(connector.keyspace).toStrictEqual({
      bucket: mock.bucket,
      scope: '_default',
      collection: '_default',
    });
    expect(collection.name).toBe('_default');
    expect(collection.scope.name).toBe('_default');
  });

  it('connects again after close()', async () => {
    let connects = 0;
    const connector = createCouchbaseConnector(target, (s, o) => {
      connects++;
      return connect(s, o);
    });
    onTestFinished(() => connector.close());

    const first = await connector.cluster();
    await connector.close();
    const second = await connector.cluster();

    expect(connects).toBe(2);
    expect(second).not.toBe(first);
    await expect((await connector.collection()).get('connector-probe')).rejects.toBeInstanceOf(
      DocumentNotFoundError,
    );
  });
});

function kvPort(connectionString: string): number {
  const match = /^couchbase:\/\/127\.0\.0\.1:(\d+)/.exec(connectionString);
  if (!match?.[1]) throw new Error(`unexpected mock connection string ${connectionString}`);
  return Number(match[1]);
}

/** A loopback port nothing listens on: bound once to get a free number, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts listening on `port` and pipes every connection to 127.0.0.1:`to`, as if the node came up. */
async function forward(port: number, to: number): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection(to, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
