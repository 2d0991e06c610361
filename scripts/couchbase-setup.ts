/**
 * Idempotent setup step for the Couchbase store: creates the GSI index that listing agents by
 * state needs (`agents_by_state` on (state, agentId)), if it is missing, and waits until it is
 * online. Safe to run on every deploy. KV (heartbeats, expiry) works without it.
 *
 *   COUCHBASE_CONNSTR=couchbases://cb.example.com COUCHBASE_USERNAME=... COUCHBASE_PASSWORD=... \
 *   COUCHBASE_BUCKET=heartbeats [COUCHBASE_SCOPE=_default COUCHBASE_COLLECTION=_default] \
 *   npx tsx scripts/couchbase-setup.ts
 *
 * Needs a server with the query and index services, and a user allowed to create indexes there.
 */
import { createCouchbaseConnector } from '../functions/adapters/couchbase/connection.js';
import { ensureCouchbaseIndexes } from '../functions/adapters/couchbase/indexes.js';
import { couchbaseSettingsSchema } from '../functions/config.js';

const env = process.env;
const parsed = couchbaseSettingsSchema.safeParse({
  connectionString: env.COUCHBASE_CONNSTR,
  username: env.COUCHBASE_USERNAME,
  password: env.COUCHBASE_PASSWORD,
  bucket: env.COUCHBASE_BUCKET,
  scope: env.COUCHBASE_SCOPE || undefined,
  collection: env.COUCHBASE_COLLECTION || undefined,
});
if (!parsed.success) {
  const missing = parsed.error.issues.map((issue) => issue.path.join('.')).join(', ');
  console.error(
    `couchbase-setup: set COUCHBASE_CONNSTR, COUCHBASE_USERNAME, COUCHBASE_PASSWORD and COUCHBASE_BUCKET ` +
      `(optionally COUCHBASE_SCOPE, COUCHBASE_COLLECTION); invalid or missing: ${missing}`,
  );
  process.exit(2);
}

// A setup step is not bound by a Lambda's timeout: give the server time to build the index.
const connector = createCouchbaseConnector({
  ...parsed.data,
  timeouts: { bootstrapMs: 10_000, connectMs: 10_000, managementMs: 60_000, queryMs: 60_000 },
});
try {
  const started = Date.now();
  const results = await ensureCouchbaseIndexes(await connector.cluster(), connector.keyspace, {
    waitMs: 5 * 60_000,
  });
  for (const result of results) {
    console.log(
      `couchbase-setup: index ${result.index} on ${result.keyspace} ` +
        `${result.created ? 'created' : 'already existed'}, state ${result.state}`,
    );
  }
  console.log(`couchbase-setup: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} catch (error) {
  console.error('couchbase-setup failed:', error);
  process.exitCode = 1;
} finally {
  await connector.close();
}
