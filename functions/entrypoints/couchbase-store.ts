import type { CouchbaseSettings } from '../config.js';
import type { AgentStore } from '../core/ports.js';

/** Placeholder until the Couchbase adapter lands; replaced in the same change. */
export async function createCouchbaseStore(_settings: CouchbaseSettings): Promise<AgentStore> {
  throw new Error('PERSISTENCE=couchbase: the Couchbase adapter is not wired yet');
}
