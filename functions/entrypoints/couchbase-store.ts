import { CouchbaseAgentStore } from '../adapters/couchbase/agent-store.js';
import { createCouchbaseConnector } from '../adapters/couchbase/connection.js';
import type { CouchbaseSettings } from '../config.js';

/**
 * The Couchbase store for the functions. The connector connects on first use and is shared by
 * every invocation of this execution environment.
 */
export function createCouchbaseStore(settings: CouchbaseSettings): CouchbaseAgentStore {
  return new CouchbaseAgentStore(createCouchbaseConnector(settings));
}
