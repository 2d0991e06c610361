import type { Cluster } from 'couchbase';
import type { CouchbaseKeyspace } from './connection.js';

/** The GSI index listing by state needs: equality on `state`, then agentId order for keyset paging. */
export const STATE_INDEX = 'agents_by_state';
export const STATE_INDEX_KEYS = ['`state`', '`agentId`'];
/**
 * Agents with undelivered events, in agentId order: a partial index, normally empty, which with
 * the state index answers the reconciler's listing of open agents (listOpen).
 */
export const OUTBOX_INDEX = 'agents_with_outbox';
export const OUTBOX_INDEX_KEYS = ['`agentId`'];
export const OUTBOX_INDEX_WHERE = 'ARRAY_LENGTH(`outbox`) > 0';

// Couchbase's own naming rules. A name that passes contains no backtick, so wrapping it in
// backticks is a complete escape; anything else is refused up front rather than spliced into SQL++.
const BUCKET_NAME = /^[A-Za-z0-9._%-]{1,100}$/;
const SCOPE_OR_COLLECTION_NAME = /^[A-Za-z0-9_%-]{1,251}$/;

/** Throws when a name could not be a Couchbase bucket, scope or collection name. */
export function assertKeyspace(keyspace: CouchbaseKeyspace): void {
  const problems = [
    BUCKET_NAME.test(keyspace.bucket) ? undefined : `bucket ${JSON.stringify(keyspace.bucket)}`,
    SCOPE_OR_COLLECTION_NAME.test(keyspace.scope) ? undefined : `scope ${JSON.stringify(keyspace.scope)}`,
    SCOPE_OR_COLLECTION_NAME.test(keyspace.collection)
      ? undefined
      : `collection ${JSON.stringify(keyspace.collection)}`,
  ].filter((problem) => problem !== undefined);
  if (problems.length > 0) {
    throw new Error(`not a valid Couchbase name: ${problems.join(', ')}`);
  }
}

/** `bucket`.`scope`.`collection`, for SQL++ statements. */
export function keyspacePath(keyspace: CouchbaseKeyspace): string {
  assertKeyspace(keyspace);
  return [keyspace.bucket, keyspace.scope, keyspace.collection].map((name) => `\`${name}\``).join('.');
}

export interface EnsuredIndex {
  index: string;
  keyspace: string;
  /** False when the index was already there (this step is idempotent). */
  created: boolean;
  state: string;
}

/**
 * Creates the indexes the listings use, when missing, and waits until they are online.
 * Idempotent: safe to run on every deploy, and from two places at once (the second create is
 * ignored). Needs a real server with the query and index services (CouchbaseMock has neither).
 */
export async function ensureCouchbaseIndexes(
  cluster: Cluster,
  keyspace: CouchbaseKeyspace,
  options: { waitMs?: number } = {},
): Promise<EnsuredIndex[]> {
  const path = keyspacePath(keyspace);
  const where = { scopeName: keyspace.scope, collectionName: keyspace.collection };
  const manager = cluster.queryIndexes();
  const wanted = [
    { name: STATE_INDEX, keys: STATE_INDEX_KEYS, condition: undefined },
    { name: OUTBOX_INDEX, keys: OUTBOX_INDEX_KEYS, condition: OUTBOX_INDEX_WHERE },
  ];
  const existing = new Set((await manager.getAllIndexes(keyspace.bucket, where)).map((index) => index.name));
  for (const index of wanted) {
    if (existing.has(index.name)) continue;
    if (index.condition === undefined) {
      await manager.createIndex(keyspace.bucket, index.name, index.keys, { ...where, ignoreIfExists: true });
    } else {
      // The SDK's createIndex has no WHERE clause: a partial index is created with SQL++. The
      // names are validated by keyspacePath, so the statement splices nothing from outside.
      await cluster.query(
        `CREATE INDEX \`${index.name}\` IF NOT EXISTS ON ${path}(${index.keys.join(', ')}) WHERE ${index.condition}`,
      );
    }
  }
  const names = wanted.map((index) => index.name);
  await manager.watchIndexes(keyspace.bucket, names, options.waitMs ?? 60_000, where);
  const after = await manager.getAllIndexes(keyspace.bucket, where);
  return names.map((name) => ({
    index: name,
    keyspace: path,
    created: !existing.has(name),
    state: after.find((index) => index.name === name)?.state ?? 'unknown',
  }));
}
