import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import {
  AmbiguousTimeoutError,
  CasMismatchError,
  type Collection,
  CouchbaseError,
  DocumentExistsError,
  DocumentLockedError,
  DocumentNotFoundError,
  DurableWriteInProgressError,
  DurableWriteReCommitInProgressError,
  IndexNotFoundError,
  InternalServerFailureError,
  QueryScanConsistency,
  RateLimitedError,
  RequestCanceledError,
  ServiceNotAvailableError,
  TemporaryFailureError,
  TimeoutError,
} from 'couchbase';
import { z } from 'zod';
import type { AgentRecord, AgentState, StoredAgent } from '../../core/agent.js';
import { BackendUnavailableError, VersionConflictError } from '../../core/errors.js';
import type { AgentPage, AgentStore } from '../../core/ports.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import type { CouchbaseConnector } from './connection.js';
import { STATE_INDEX, keyspacePath } from './indexes.js';

/**
 * Document key scheme: `agent::<agentId>`, the agentId verbatim (UTF-8, no normalisation). The
 * prefix keeps agent documents apart from anything else that may share the collection.
 *
 * Couchbase keys are at most 250 bytes, and a valid agentId (128 letters of any script) can take
 * up to 512 bytes in UTF-8. Such an id is stored under `agent#sha256:<hex of its UTF-8 bytes>`
 * instead: the `#` after `agent` cannot follow the `agent::` prefix, so the two forms never
 * collide, and the document itself always holds the full agentId.
 */
export const AGENT_KEY_PREFIX = 'agent::';
const LONG_AGENT_KEY_PREFIX = 'agent#sha256:';
const MAX_KEY_BYTES = 250;

export function agentKey(agentId: string): string {
  const key = `${AGENT_KEY_PREFIX}${agentId}`;
  if (Buffer.byteLength(key, 'utf8') <= MAX_KEY_BYTES) return key;
  return `${LONG_AGENT_KEY_PREFIX}${createHash('sha256').update(agentId, 'utf8').digest('hex')}`;
}

const cursorSchema = z.strictObject({ after: z.string().min(1) });

/**
 * One JSON document per agent: exactly the AgentRecord (schemaVersion 1), nothing added. The
 * version at the port is the document's CAS as a decimal string (`cas.toString()`), which the SDK
 * accepts back as a CasInput. A CAS is a 64-bit value (a hybrid logical clock on real servers),
 * so it is never turned into a JS number.
 *
 * The hot path is KV only: `get`, `insert` (create-if-absent) and `replace` with `cas`. Listing by
 * state uses SQL++ and needs the index from `ensureCouchbaseIndexes` (scripts/couchbase-setup.ts).
 */
export class CouchbaseAgentStore implements AgentStore {
  readonly #connector: CouchbaseConnector;
  readonly #keyspacePath: string;

  constructor(connector: CouchbaseConnector) {
    this.#connector = connector;
    // Validates the names now, so a bad bucket/scope/collection fails at init, not at first listing.
    this.#keyspacePath = keyspacePath(connector.keyspace);
  }

  async get(agentId: string): Promise<StoredAgent | undefined> {
    const key = agentKey(agentId);
    try {
      const collection = await this.#connector.collection();
      return await read(collection, key, agentId);
    } catch (error) {
      throw translateError(error, 'get', agentId);
    }
  }

  async create(record: AgentRecord): Promise<StoredAgent> {
    const key = agentKey(record.agentId);
    let collection: Collection | undefined;
    try {
      collection = await this.#connector.collection();
      const result = await collection.insert(key, record);
      return { record, version: result.cas.toString() };
    } catch (error) {
      if (error instanceof DocumentExistsError)
        throw new VersionConflictError(record.agentId, { cause: error });
      if (error instanceof AmbiguousTimeoutError && collection !== undefined) {
        return settleAmbiguousWrite(collection, key, record, undefined, error);
      }
      throw translateError(error, 'insert', record.agentId);
    }
  }

  async replace(record: AgentRecord, expectedVersion: string): Promise<StoredAgent> {
    const key = agentKey(record.agentId);
    const cas = parseVersion(expectedVersion);
    let collection: Collection | undefined;
    try {
      collection = await this.#connector.collection();
      const result = await collection.replace(key, record, { cas });
      return { record, version: result.cas.toString() };
    } catch (error) {
      // A missing document has no CAS to match: a replace never recreates an agent that is gone.
      if (error instanceof CasMismatchError || error instanceof DocumentNotFoundError) {
        throw new VersionConflictError(record.agentId, { cause: error });
      }
      if (error instanceof AmbiguousTimeoutError && collection !== undefined) {
        return settleAmbiguousWrite(collection, key, record, cas, error);
      }
      throw translateError(error, 'replace', record.agentId);
    }
  }

  /**
   * Keyset pagination in agentId order over the `agents_by_state` index (state, agentId): each
   * page asks for one row more than it returns to know whether another page follows, and the
   * cursor is the last agentId returned. `request_plus` makes the index catch up with every write
   * acknowledged before the query, so a listing never shows an agent in a state it has left.
   */
  async listByState(state: AgentState, page: { limit: number; cursor: string | null }): Promise<AgentPage> {
    const after = page.cursor === null ? '' : decodeCursor(page.cursor, cursorSchema).after;
    const statement =
      `SELECT RAW d FROM ${this.#keyspacePath} AS d ` +
      'WHERE d.`state` = $state AND d.agentId > $after ' +
      'ORDER BY d.agentId LIMIT $limit';
    let rows: unknown[];
    try {
      const cluster = await this.#connector.cluster();
      const result = await cluster.query<unknown>(statement, {
        parameters: { state, after, limit: page.limit + 1 },
        scanConsistency: QueryScanConsistency.RequestPlus,
        readOnly: true,
      });
      rows = result.rows;
    } catch (error) {
      if (error instanceof IndexNotFoundError) {
        throw new Error(
          `Couchbase has no ${STATE_INDEX} index on ${this.#keyspacePath}: run scripts/couchbase-setup.ts`,
          { cause: error },
        );
      }
      throw translateError(error, 'query', undefined);
    }
    const items = rows.slice(0, page.limit).map((row) => toRecord(row, undefined));
    const last = items.at(-1);
    return {
      items,
      cursor: rows.length > page.limit && last !== undefined ? encodeCursor({ after: last.agentId }) : null,
    };
  }
}

async function read(collection: Collection, key: string, agentId: string): Promise<StoredAgent | undefined> {
  let result;
  try {
    result = await collection.get(key);
  } catch (error) {
    if (error instanceof DocumentNotFoundError) return undefined;
    throw error;
  }
  return { record: toRecord(result.content, agentId), version: result.cas.toString() };
}

/**
 * An ambiguous timeout on a write means the request went out and no answer came back: the
 * write may or may not have been applied. Reporting it as a plain failure would be wrong when it
 * did apply: the core's loop treats any non-conflict failure as "nothing was written" and puts
 * the previous schedule back, so the record could name a schedule that no longer exists (I6).
 * One read settles it in most cases:
 * - the document holds exactly what we wrote, under a new CAS: it applied; return it;
 * - the document is unchanged (same CAS; absent, for an insert): it did not apply, so the core
 *   may safely undo its schedule write (503, the agent retries);
 * - anything else: another writer got there (before or after us), which is a lost race: the core
 *   re-reads and decides again, exactly as for a CAS mismatch.
 * If the read fails as well the outcome stays unknown and is reported as BackendUnavailableError.
 * A write still queued on the server when we read could apply afterwards; that window is the
 * residue no client can close without durable writes.
 */
async function settleAmbiguousWrite(
  collection: Collection,
  key: string,
  record: AgentRecord,
  expectedCas: string | undefined,
  ambiguous: AmbiguousTimeoutError,
): Promise<StoredAgent> {
  let current: StoredAgent | undefined;
  try {
    current = await read(collection, key, record.agentId);
  } catch (readError) {
    throw new BackendUnavailableError(
      'store',
      `Couchbase write for agent ${record.agentId} timed out and its outcome could not be read back`,
      1,
      { cause: new AggregateError([ambiguous, readError]) },
    );
  }
  const intended: unknown = JSON.parse(JSON.stringify(record));
  if (
    current !== undefined &&
    current.version !== expectedCas &&
    isDeepStrictEqual(current.record, intended)
  ) {
    return { record, version: current.version };
  }
  const unchanged = current === undefined ? expectedCas === undefined : current.version === expectedCas;
  if (unchanged) {
    throw new BackendUnavailableError(
      'store',
      `Couchbase write for agent ${record.agentId} timed out without being applied`,
      1,
      { cause: ambiguous },
    );
  }
  throw new VersionConflictError(record.agentId, { cause: ambiguous });
}

// Versions this adapter issues are CAS values: decimal strings of a non-zero 64-bit unsigned integer.
const MAX_CAS = 2n ** 64n - 1n;

/**
 * Anything else cannot have come from this store, so it is a caller's bug, not a race. It must
 * never reach the SDK either: a CAS of "0" (or "") means "no CAS check" to Couchbase and would turn
 * the conditional replace into a blind overwrite, and a string the SDK's native layer cannot parse
 * as a 64-bit integer aborts the whole process (SDK 4.7.1: std::out_of_range from stoull).
 */
function parseVersion(version: string): string {
  if (!/^[1-9][0-9]{0,19}$/.test(version) || BigInt(version) > MAX_CAS) {
    throw new TypeError(`not a version issued by the Couchbase agent store: ${JSON.stringify(version)}`);
  }
  return version;
}

function toRecord(content: unknown, agentId: string | undefined): AgentRecord {
  const fields = (typeof content === 'object' && content !== null ? content : {}) as Record<string, unknown>;
  const id = agentId ?? String(fields['agentId']);
  if (fields['schemaVersion'] !== 1) {
    // A newer writer (or a bad manual edit): reading it as v1 could silently drop fields.
    throw new Error(
      `agent document for ${id} has schemaVersion ${String(fields['schemaVersion'])}; only 1 is understood`,
    );
  }
  if (agentId !== undefined && fields['agentId'] !== agentId) {
    throw new Error(`agent document ${agentKey(id)} holds another agentId`);
  }
  // Only this adapter writes these documents, from AgentRecords; beyond the checks above the
  // shape is trusted rather than parsed field by field on every read.
  return fields as unknown as AgentRecord;
}

// The C++ core reports socket-level trouble (resolve failure, no endpoints left, closed stream,
// full queue...) as errors of its `network` category, codes 1001-1013, which the Node SDK passes
// through without a class of their own. Most such trouble ends as a timeout anyway.
const NETWORK_ERROR_CODES = { min: 1001, max: 1013 };

/**
 * Maps SDK errors to domain errors, keeping the original as `cause` (the same rule as the
 * DynamoDB adapter):
 * - timeouts (ambiguous or not), temporary failures, an unavailable service, a cancelled request,
 *   an internal server failure, rate limiting, a locked document or an in-flight durable write,
 *   and network errors may pass: BackendUnavailableError (503 + Retry-After);
 * - everything else (authentication failure, missing bucket or collection, a value too large, a
 *   document this adapter cannot read, using a closed cluster) is a bug or misconfiguration no
 *   retry fixes: a plain Error, i.e. a 500 that alarms, not a 503 that hides it behind retries.
 * Conflicts (DocumentExists, CasMismatch) are mapped by the operations themselves.
 */
function translateError(error: unknown, operation: string, agentId: string | undefined): Error {
  if (error instanceof VersionConflictError || error instanceof BackendUnavailableError) return error;
  const subject = agentId === undefined ? '' : ` for agent ${agentId}`;
  const message = `Couchbase ${operation}${subject} failed: ${describe(error)}`;
  if (isTransient(error)) return new BackendUnavailableError('store', message, 1, { cause: error });
  return new Error(message, { cause: error });
}

function isTransient(error: unknown): boolean {
  if (
    error instanceof TimeoutError ||
    error instanceof TemporaryFailureError ||
    error instanceof ServiceNotAvailableError ||
    error instanceof RequestCanceledError ||
    error instanceof InternalServerFailureError ||
    error instanceof RateLimitedError ||
    error instanceof DocumentLockedError ||
    error instanceof DurableWriteInProgressError ||
    error instanceof DurableWriteReCommitInProgressError
  ) {
    return true;
  }
  if (error instanceof CouchbaseError || !(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' && code >= NETWORK_ERROR_CODES.min && code <= NETWORK_ERROR_CODES.max;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.message === '' ? error.name : `${error.name} (${error.message})`;
}
