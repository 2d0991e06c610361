import { type Cluster, type Collection, type ConnectOptions, connect } from 'couchbase';

/**
 * SDK timeouts, in ms. Defaults are sized for a Lambda with a 10 s timeout: a cold start that
 * bootstraps (3 s) and then does a heartbeat's read, schedule write and conditional write
 * (1.5 s each at worst) still answers with a 503 the agent can retry, instead of being killed
 * by Lambda with nothing logged. The SDK's own defaults (10 s connect and bootstrap, 2.5 s KV,
 * 75 s query) would let a single unreachable node use up the whole invocation.
 */
export interface CouchbaseTimeouts {
  /** Each KV operation (get, insert, replace), including waiting for the bucket to open. */
  kvMs: number;
  /** Opening one KV socket to one node. */
  connectMs: number;
  /** The whole bootstrap: DNS, sockets, authentication, first cluster configuration. */
  bootstrapMs: number;
  /** DNS resolution of one host name. */
  resolveMs: number;
  /** SQL++ queries (listing by state: the read API, never the ingest path). */
  queryMs: number;
  /** Management calls (index creation in the setup step). */
  managementMs: number;
}

export const DEFAULT_COUCHBASE_TIMEOUTS: CouchbaseTimeouts = {
  kvMs: 1_500,
  connectMs: 2_000,
  bootstrapMs: 3_000,
  resolveMs: 1_000,
  queryMs: 5_000,
  managementMs: 5_000,
};

export interface CouchbaseConnectorOptions {
  connectionString: string;
  username: string;
  password: string;
  bucket: string;
  /** `_default` when absent. */
  scope?: string;
  /** `_default` when absent. */
  collection?: string;
  timeouts?: Partial<CouchbaseTimeouts>;
}

/** The place, inside one cluster, where agent documents live. */
export interface CouchbaseKeyspace {
  bucket: string;
  scope: string;
  collection: string;
}

export interface CouchbaseConnector {
  readonly keyspace: CouchbaseKeyspace;
  /** The agents' collection; connects on first use. */
  collection(): Promise<Collection>;
  /** The connected cluster (for SQL++ and the setup step); connects on first use. */
  cluster(): Promise<Cluster>;
  /** Closes the connection if one was made. A later call connects again. */
  close(): Promise<void>;
}

export type ConnectFunction = (connectionString: string, options: ConnectOptions) => Promise<Cluster>;

/**
 * One Couchbase connection per process, made on first use and shared by every invocation: create
 * the connector at module scope (outside the handler) and hand it to the store.
 *
 * The connection *promise* is cached, so concurrent first calls share one connect. A failed
 * connect is dropped from the cache, so the next invocation tries again rather than replaying the
 * failure until the Lambda environment is recycled.
 *
 * `connectFn` is a seam for tests (counting connects); it defaults to the SDK's `connect`.
 */
export function createCouchbaseConnector(
  options: CouchbaseConnectorOptions,
  connectFn: ConnectFunction = connect,
): CouchbaseConnector {
  const keyspace: CouchbaseKeyspace = {
    bucket: options.bucket,
    scope: options.scope ?? '_default',
    collection: options.collection ?? '_default',
  };
  const connectOptions = couchbaseConnectOptions(options);
  let connecting: Promise<Connected> | undefined;

  const connected = (): Promise<Connected> => {
    if (connecting === undefined) {
      const attempt = connectFn(options.connectionString, connectOptions).then((cluster) => ({
        cluster,
        // Bucket, Scope and Collection are cheap handles; the SDK opens the bucket in the
        // background here and the first KV operation waits for it (within its own timeout).
        collection: cluster.bucket(keyspace.bucket).scope(keyspace.scope).collection(keyspace.collection),
      }));
      connecting = attempt;
      // Forget only this attempt: close() or a newer attempt may have replaced it already.
      attempt.catch(() => {
        if (connecting === attempt) connecting = undefined;
      });
    }
    return connecting;
  };

  return {
    keyspace,
    cluster: async () => (await connected()).cluster,
    collection: async () => (await connected()).collection,
    close: async () => {
      const current = connecting;
      connecting = undefined;
      if (current === undefined) return;
      let cluster: Cluster;
      try {
        ({ cluster } = await current);
      } catch {
        return; // it never connected: there is nothing to close
      }
      await cluster.close();
    },
  };
}

interface Connected {
  cluster: Cluster;
  collection: Collection;
}

/**
 * The ConnectOptions every connection of this service uses.
 *
 * Observability: `Cluster.connect` creates a ThresholdLoggingTracer and a LoggingMeter for each
 * Cluster, each with its own (unref'd) `setInterval`, *before* it tries to connect; when the
 * connect fails it rejects without handing back the Cluster, so nothing can close it and both
 * intervals live on for the rest of the process (verified against SDK 4.7.1: two live Timeouts per
 * failed connect). Turning both off (and the C++ orphan reporter, which logs on its own timer)
 * means no Cluster ever owns a timer, connected or not. Slow operations show up in our own logs
 * and metrics instead.
 */
export function couchbaseConnectOptions(options: CouchbaseConnectorOptions): ConnectOptions {
  const t = { ...DEFAULT_COUCHBASE_TIMEOUTS, ...options.timeouts };
  return {
    username: options.username,
    password: options.password,
    timeouts: {
      kvTimeout: t.kvMs,
      connectTimeout: t.connectMs,
      bootstrapTimeout: t.bootstrapMs,
      resolveTimeout: t.resolveMs,
      queryTimeout: t.queryMs,
      managementTimeout: t.managementMs,
    },
    tracingConfig: { enableTracing: false },
    metricsConfig: { enableMetrics: false },
    orphanReporterConfig: { enableOrphanReporting: false },
  };
}
