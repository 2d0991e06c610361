import { hash } from 'node:crypto';
import {
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
import * as z from 'zod/mini';
import { type AgentRecord, type AgentState, type StoredAgent, upgradeRecord } from '../../core/agent.js';
import { BackendUnavailableError, VersionConflictError } from '../../core/errors.js';
import { agentIdSchema } from '../../core/heartbeat.js';
import type {
  AgentDeleter,
  AgentPage,
  AgentStore,
  CallOptions,
  CheckpointStore,
  MaintenanceStore,
  MassExpiryStore,
  MassMinute,
  PulseStore,
  StoredWindows,
} from '../../core/ports.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import type { CouchbaseConnector } from './connection.js';
import { OUTBOX_INDEX, STATE_INDEX, keyspacePath } from './indexes.js';
import { claimMassSummary, countMassExpiry, readMassExpiries } from './mass-expiry.js';
import { addPulse, readPulse } from './pulse.js';
import { readWindows, writeWindows } from './maintenance.js';
import type { MaintenanceWindow } from '../../core/maintenance.js';

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
  return `${LONG_AGENT_KEY_PREFIX}${hash('sha256', agentId, 'hex')}`;
}

// Positions are agent ids (a forged one could only make the query slower, but is no position of
// ours: the client's 400, not a query the server has to answer).
const cursorSchema = z.strictObject({ after: agentIdSchema });
const openCursorSchema = z.strictObject({
  phase: z.enum(['alive', 'outbox']),
  after: z.union([z.literal(''), agentIdSchema]),
});

/** Checkpoints are documents beside the agents, under a prefix no agent key can have. */
const CHECKPOINT_KEY_PREFIX = 'checkpoint::';

/**
 * One JSON document per agent: exactly the AgentRecord, nothing added. The
 * version at the port is the document's CAS as a decimal string (`cas.toString()`), which the SDK
 * accepts back as a CasInput. A CAS is a 64-bit value (a hybrid logical clock on real servers),
 * so it is never turned into a JS number.
 *
 * The hot path is KV only: `get`, `insert` (create-if-absent) and `replace` with `cas`, each with
 * the caller's timeout when it is shorter than the connection's. Listing uses SQL++ and needs the
 * indexes from `ensureCouchbaseIndexes` (scripts/couchbase-setup.ts).
 *
 * A write that times out ambiguously (sent, never answered) is reported as
 * BackendUnavailableError: the core's write protocol reads the document back and recognises its
 * own write, as it does for every store.
 */
export class CouchbaseAgentStore
  implements AgentStore, AgentDeleter, CheckpointStore, PulseStore, MassExpiryStore, MaintenanceStore
{
  readonly #connector: CouchbaseConnector;
  readonly #keyspacePath: string;

  constructor(connector: CouchbaseConnector) {
    this.#connector = connector;
    // Validates the names now, so a bad bucket/scope/collection fails at init, not at first listing.
    this.#keyspacePath = keyspacePath(connector.keyspace);
  }

  async get(agentId: string, options?: CallOptions): Promise<StoredAgent | undefined> {
    const key = agentKey(agentId);
    try {
      const collection = await this.#connector.collection();
      return await read(collection, key, agentId, options);
    } catch (error) {
      throw translateError(error, 'get', agentId);
    }
  }

  async create(record: AgentRecord, options?: CallOptions): Promise<StoredAgent> {
    try {
      const collection = await this.#connector.collection();
      const result = await collection.insert(agentKey(record.agentId), record, kvOptions(options));
      return { record, version: result.cas.toString() };
    } catch (error) {
      if (error instanceof DocumentExistsError)
        throw new VersionConflictError(record.agentId, { cause: error });
      throw translateError(error, 'insert', record.agentId);
    }
  }

  async replace(record: AgentRecord, expectedVersion: string, options?: CallOptions): Promise<StoredAgent> {
    const cas = parseVersion(expectedVersion);
    try {
      const collection = await this.#connector.collection();
      const result = await collection.replace(agentKey(record.agentId), record, {
        cas,
        ...kvOptions(options),
      });
      return { record, version: result.cas.toString() };
    } catch (error) {
      // A missing document has no CAS to match: a replace never recreates an agent that is gone.
      if (error instanceof CasMismatchError || error instanceof DocumentNotFoundError) {
        throw new VersionConflictError(record.agentId, { cause: error });
      }
      throw translateError(error, 'replace', record.agentId);
    }
  }

  async deleteAgent(agentId: string, expectedVersion: string, options?: CallOptions): Promise<void> {
    const cas = parseVersion(expectedVersion);
    try {
      const collection = await this.#connector.collection();
      await collection.remove(agentKey(agentId), { cas, ...kvOptions(options) });
    } catch (error) {
      if (error instanceof CasMismatchError || error instanceof DocumentNotFoundError) {
        throw new VersionConflictError(agentId, { cause: error });
      }
      throw translateError(error, 'remove', agentId);
    }
  }

  async readWindows(options?: CallOptions): Promise<StoredWindows> {
    try {
      return await readWindows(await this.#connector.collection(), kvOptions(options));
    } catch (error) {
      throw translateError(error, 'get', undefined);
    }
  }

  async writeWindows(
    windows: readonly MaintenanceWindow[],
    expectedVersion: string | null,
    options?: CallOptions,
  ): Promise<void> {
    const cas = expectedVersion === null ? null : parseVersion(expectedVersion);
    try {
      await writeWindows(await this.#connector.collection(), windows, cas, kvOptions(options));
    } catch (error) {
      if (
        error instanceof DocumentExistsError ||
        error instanceof CasMismatchError ||
        error instanceof DocumentNotFoundError
      ) {
        throw new VersionConflictError('#maintenance', { cause: error });
      }
      throw translateError(error, 'replace', undefined);
    }
  }

  async addPulse(bucketStart: number, count: number, options?: CallOptions): Promise<void> {
    try {
      await addPulse(await this.#connector.collection(), bucketStart, count, kvOptions(options));
    } catch (error) {
      throw translateError(error, 'mutateIn', undefined);
    }
  }

  async readPulse(from: number, to: number, options?: CallOptions): Promise<Map<number, number>> {
    try {
      return await readPulse(await this.#connector.collection(), from, to, kvOptions(options));
    } catch (error) {
      throw translateError(error, 'get', undefined);
    }
  }

  async countMassExpiry(minuteStart: number, options?: CallOptions): Promise<void> {
    try {
      await countMassExpiry(await this.#connector.collection(), minuteStart, kvOptions(options));
    } catch (error) {
      throw translateError(error, 'mutateIn', undefined);
    }
  }

  async readMassExpiries(from: number, to: number, options?: CallOptions): Promise<Map<number, MassMinute>> {
    try {
      return await readMassExpiries(await this.#connector.collection(), from, to, kvOptions(options));
    } catch (error) {
      throw translateError(error, 'get', undefined);
    }
  }

  async claimMassSummary(minuteStart: number, options?: CallOptions): Promise<boolean> {
    try {
      return await claimMassSummary(await this.#connector.collection(), minuteStart, kvOptions(options));
    } catch (error) {
      throw translateError(error, 'mutateIn', undefined);
    }
  }

  async loadCheckpoint(name: string, options?: CallOptions): Promise<string | null> {
    try {
      const collection = await this.#connector.collection();
      const result = await collection.get(`${CHECKPOINT_KEY_PREFIX}${name}`, kvOptions(options));
      const value = (result.content as { value?: unknown } | null)?.value;
      return typeof value === 'string' ? value : null;
    } catch (error) {
      if (error instanceof DocumentNotFoundError) return null;
      throw translateError(error, 'get', undefined);
    }
  }

  async saveCheckpoint(name: string, value: string | null, options?: CallOptions): Promise<void> {
    try {
      const collection = await this.#connector.collection();
      await collection.upsert(`${CHECKPOINT_KEY_PREFIX}${name}`, { value }, kvOptions(options));
    } catch (error) {
      throw translateError(error, 'upsert', undefined);
    }
  }

  /**
   * Keyset pagination in agentId order over the `agents_by_state` index (state, agentId): each
   * page asks for one row more than it returns to know whether another page follows, and the
   * cursor is the last agentId returned. `request_plus` makes the index catch up with every write
   * acknowledged before the query, so a listing never shows an agent in a state it has left.
   */
  async listByState(
    state: AgentState,
    page: { limit: number; cursor: string | null },
    options?: CallOptions,
  ): Promise<AgentPage> {
    const after = page.cursor === null ? '' : decodeCursor(page.cursor, cursorSchema).after;
    return this.#rows('d.`state` = $state', { state }, after, page.limit, options).then((rows) => {
      const items = rows.slice(0, page.limit).map((row) => toRecord(row.doc, undefined));
      const last = rows[page.limit - 1];
      return {
        items,
        cursor: rows.length > page.limit && last !== undefined ? encodeCursor({ after: last.id }) : null,
      };
    });
  }

  /**
   * Alive agents over the state index, then agents with undelivered events over the partial
   * `agents_with_outbox` index (normally empty), each in agentId order: two simple index scans,
   * each with its LIMIT pushed down, rather than one OR that would sort the union for every page.
   * A record that cannot be read is counted and skipped, so one bad document cannot stop the
   * reconciler for good. Like every SQL++ path, it needs a real server.
   */
  async listOpen(page: { limit: number; cursor: string | null }, options?: CallOptions): Promise<AgentPage> {
    const position =
      page.cursor === null
        ? { phase: 'alive' as const, after: '' }
        : decodeCursor(page.cursor, openCursorSchema);
    const where =
      position.phase === 'alive'
        ? "d.`state` = 'alive'"
        : "ARRAY_LENGTH(d.outbox) > 0 AND d.`state` != 'alive'";
    const rows = await this.#rows(where, {}, position.after, page.limit, options);
    const items: AgentRecord[] = [];
    let unreadable = 0;
    for (const row of rows.slice(0, page.limit)) {
      try {
        items.push(toRecord(row.doc, undefined));
      } catch {
        unreadable++;
      }
    }
    const last = rows[page.limit - 1];
    const cursor =
      rows.length > page.limit && last !== undefined
        ? encodeCursor({ phase: position.phase, after: last.id })
        : position.phase === 'alive'
          ? encodeCursor({ phase: 'outbox', after: '' })
          : null;
    return { items, cursor, unreadable };
  }

  /** Up to `limit + 1` rows after `after` in agentId order: one more tells whether a page follows. */
  async #rows(
    where: string,
    parameters: Record<string, unknown>,
    after: string,
    limit: number,
    options: CallOptions | undefined,
  ): Promise<Array<{ id: string; doc: unknown }>> {
    const statement =
      `SELECT d.agentId AS id, d AS doc FROM ${this.#keyspacePath} AS d ` +
      `WHERE ${where} AND d.agentId > $after ` +
      'ORDER BY d.agentId LIMIT $limit';
    try {
      const cluster = await this.#connector.cluster();
      const result = await cluster.query<{ id: string; doc: unknown }>(statement, {
        parameters: { ...parameters, after, limit: limit + 1 },
        // The index catches up with every write acknowledged before the query, so a listing
        // never shows an agent in a state it has left.
        scanConsistency: QueryScanConsistency.RequestPlus,
        readOnly: true,
        ...(options?.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
      });
      return result.rows;
    } catch (error) {
      if (error instanceof IndexNotFoundError) {
        throw new Error(
          `Couchbase lacks the ${STATE_INDEX} or ${OUTBOX_INDEX} index on ${this.#keyspacePath}: run scripts/couchbase-setup.ts`,
          { cause: error },
        );
      }
      throw translateError(error, 'query', undefined);
    }
  }
}

/** The caller's timeout, for one KV operation; without one the connection's kvTimeout applies. */
function kvOptions(options: CallOptions | undefined): { timeout?: number } {
  return options?.timeoutMs === undefined ? {} : { timeout: options.timeoutMs };
}

async function read(
  collection: Collection,
  key: string,
  agentId: string,
  options: CallOptions | undefined,
): Promise<StoredAgent | undefined> {
  let result;
  try {
    result = await collection.get(key, kvOptions(options));
  } catch (error) {
    if (error instanceof DocumentNotFoundError) return undefined;
    throw error;
  }
  return { record: toRecord(result.content, agentId), version: result.cas.toString() };
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
  if (agentId !== undefined && fields['agentId'] !== agentId) {
    throw new Error(`agent document ${agentKey(id)} holds another agentId`);
  }
  return upgradeRecord(fields, `agent document for ${id}`);
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
