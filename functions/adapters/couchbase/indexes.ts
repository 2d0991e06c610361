import type { Cluster } from 'couchbase';
import type { CouchbaseKeyspace } from './connection.js';

/** The GSI index listing by state needs: equality on `state`, then agentId order for keyset paging. */
export const STATE_INDEX = 'agents_by_state';
export const STATE_INDEX_KEYS = ['`state`', '`agentId`'];

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
 * Creates the index `listByState` queries use, if it is missing, and waits until it is online.
 * Idempotent: safe to run on every deploy, and from two places at once (the second create is
 * ignored). Needs a real server with the query and index services (CouchbaseMock has neither).
 */
export async function ensureCouchbaseIndexes(
  cluster: Cluster,
  keyspace: CouchbaseKeyspace,
  options: { waitMs?: number } = {},
): Promise<EnsuredIndex> {
  const path = keyspacePath(keyspace);
  const where = { scopeName: keyspace.scope, collectionName: keyspace.collection };
  const manager = cluster.queryIndexes();
  const existing = (await manager.getAllIndexes(keyspace.bucket, where)).find((i) => i.name === STATE_INDEX);
  if (existing === undefined) {
    await manager.createIndex(keyspace.bucket, STATE_INDEX, STATE_INDEX_KEYS, {
      ...where,
      ignoreIfExists: true,
    });
  }
  await manager.watchIndexes(keyspace.bucket, [STATE_INDEX], options.waitMs ?? 60_000, where);
  const after = (await manager.getAllIndexes(keyspace.bucket, where)).find((i) => i.name === STATE_INDEX);
  return {
    index: STATE_INDEX,
    keyspace: path,
    created: existing === undefined,
    state: after?.state ?? 'unknown',
  };
}
