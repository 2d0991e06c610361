import { CouchbaseAgentStore } from '../adapters/couchbase/agent-store.js';
import { createCouchbaseConnector } from '../adapters/couchbase/connection.js';
import type { CouchbaseSettings } from '../config.js';

/**
 * Kept in a module of its own so that importing it (dynamically, only when PERSISTENCE=couchbase)
 * is what loads the Couchbase SDK and its native binding. The connector connects on first use
 * and is shared by every invocation of this execution environment.
 */
export function createCouchbaseStore(settings: CouchbaseSettings): CouchbaseAgentStore {
  return new CouchbaseAgentStore(createCouchbaseConnector(settings));
}
