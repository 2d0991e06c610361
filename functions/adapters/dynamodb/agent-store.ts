import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import {
  type AgentRecord,
  type AgentState,
  type CheckResult,
  type StoredAgent,
  upgradeRecord,
} from '../../core/agent.js';
import { agentIdSchema } from '../../core/heartbeat.js';
import type {
  AgentDeleter,
  Clock,
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
import { withCallTimeout } from '../call-timeout.js';
import { ChecksTable, type KnownChecks, knownChecks, planChecks } from './checks-table.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { batchGetAll } from './batch-get.js';
import { translateError } from './errors.js';
import { claimMassSummary, countMassExpiry, readMassExpiries } from './mass-expiry.js';
import { addPulse, readPulse } from './pulse.js';
import { readWindows, writeWindows } from './maintenance.js';
import type { MaintenanceWindow } from '../../core/maintenance.js';
import { STATE_INDEX, STATE_SHARDS, stateShard, stateShardOf } from './table.js';

/**
 * The Document client every DynamoDbAgentStore should be given. Create it once per process,
 * next to the DynamoDBClient it wraps.
 */
export function createDocumentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: {
      // An optional field holding undefined (a check without `output`) is stored as absent, as
      // a JSON round trip would do; without this the marshaller throws on it.
      removeUndefinedValues: true,
      // Empty strings are valid attribute values: keep '' as '' rather than turning it into NULL.
      convertEmptyValues: false,
      // Records are plain data. A class instance (Date, Map) reaching the store is a bug: fail
      // loudly rather than store its enumerable fields.
      convertClassInstanceToMap: false,
      // Every number in a record is an integer far below 2^53 (epoch ms, seconds, seq); refuse
      // anything that would be stored rounded.
      allowImpreciseNumbers: false,
    },
    // Plain JS numbers back; an integer beyond 2^53 would throw here rather than come back rounded.
    unmarshallOptions: { wrapNumbers: false },
  });
}

// The cursor names a shard and the last agentId read in it; the index key is rebuilt from the
// state asked for, so a cursor cannot smuggle arbitrary keys into the query.
/**
 * Checkpoints live in the agent table under keys no agent can have (agentIds never contain `#`):
 * no second table to create, grant and back up. They carry no `state` and no `stateShard`, so
 * neither listing sees them.
 */
export const CHECKPOINT_KEY_PREFIX = '#checkpoint#';

// `after` must be an agent id: anything else (a 2 KB string, say) is no position of ours, and
// DynamoDB would refuse it as a key with a ValidationException, a 500 instead of the client's 400.
const cursorSchema = z.strictObject({
  shard: z.int().check(z.minimum(0), z.maximum(STATE_SHARDS)),
  after: z.optional(agentIdSchema),
});
// A scan's position is the last key it evaluated: an agent id, or the key of one of the items
// that are not agents (a checkpoint, an hour of the pulse or of the mass-expiry counts, the
// maintenance windows).
const INTERNAL_KEY = /^#(?:checkpoint|pulse|mass|maintenance)#/;
const scanCursorSchema = z.strictObject({
  after: z.union([agentIdSchema, z.string().check(z.regex(INTERNAL_KEY), z.maxLength(200))]),
});

export interface DynamoDbAgentStoreOptions {
  tableName: string;
  /**
   * A table for checks kept apart (checks-table.ts), and the clock their expiry is reckoned by;
   * without one every record keeps its checks in its own item.
   */
  checks?: { tableName: string; clock: Clock };
}

/** Agents remembered at most (a Lambda instance serves one request at a time; the runner many). */
const KNOWN_CHECKS_MAX = 10_000;

/**
 * One item per agent: the AgentRecord's fields plus a numeric `version` that every conditional
 * write checks and bumps. At the port the version is the opaque string `String(version)`. With a
 * checks table, an alive agent whose checks are unchanged since the version it replaces keeps
 * them there, and its item names them (`checksRef`, `checksExpiresAt`): see checks-table.ts.
 */
export class DynamoDbAgentStore
  implements AgentStore, AgentDeleter, CheckpointStore, PulseStore, MassExpiryStore, MaintenanceStore
{
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;
  readonly #checks: ChecksTable | undefined;
  readonly #known = new Map<string, KnownChecks>();

  constructor(client: DynamoDBDocumentClient, options: DynamoDbAgentStoreOptions) {
    this.#client = client;
    this.#tableName = options.tableName;
    this.#checks =
      options.checks === undefined
        ? undefined
        : new ChecksTable(client, options.checks.tableName, options.checks.clock);
  }

  async get(agentId: string, options?: CallOptions): Promise<StoredAgent | undefined> {
    let item: Record<string, unknown> | undefined;
    try {
      const output = await withCallTimeout(options, (abortSignal) =>
        this.#client.send(
          new GetCommand({
            TableName: this.#tableName,
            Key: { agentId },
            // The CAS loop re-reads after a conflict and must see the write that beat it; an
            // eventually consistent read could return the old version and conflict again.
            ConsistentRead: true,
          }),
          { abortSignal },
        ),
      );
      item = output.Item;
    } catch (error) {
      throw translateError(error, 'GetItem', agentId);
    }
    if (item === undefined) return undefined;
    const parts = splitItem(item);
    const checks =
      parts.ref === undefined
        ? undefined
        : ((await this.#checksTable(agentId).get({ agentId, digest: parts.ref }, options)) ?? []);
    const stored = toStoredAgent(parts, checks);
    this.#remember(stored, { expiresAtSeconds: parts.expiresAtSeconds, sameRun: parts.sameRun });
    return stored;
  }

  async create(record: AgentRecord, options?: CallOptions): Promise<StoredAgent> {
    const version = 1;
    try {
      await withCallTimeout(options, (abortSignal) =>
        this.#client.send(
          new PutCommand({
            TableName: this.#tableName,
            // A new agent's checks are inline: whether they stay the same is yet to be seen.
            Item: agentItem(record, version, { sameRun: 0 }),
            ConditionExpression: 'attribute_not_exists(agentId)',
          }),
          { abortSignal },
        ),
      );
    } catch (error) {
      throw translateError(error, 'PutItem', record.agentId);
    }
    const stored = { record, version: String(version) };
    this.#remember(stored, { sameRun: 0 });
    return stored;
  }

  async replace(record: AgentRecord, expectedVersion: string, options?: CallOptions): Promise<StoredAgent> {
    const expected = parseVersion(expectedVersion);
    const version = expected + 1;
    const checks = await this.#planChecks(record, expectedVersion, options);
    try {
      await withCallTimeout(options, (abortSignal) =>
        this.#client.send(
          new PutCommand({
            TableName: this.#tableName,
            Item: agentItem(record, version, checks),
            // Also fails when the item does not exist (no version to compare), so a replace
            // never recreates an agent that is gone.
            ConditionExpression: '#version = :expected',
            ExpressionAttributeNames: { '#version': 'version' },
            ExpressionAttributeValues: { ':expected': expected },
          }),
          { abortSignal },
        ),
      );
    } catch (error) {
      throw translateError(error, 'PutItem', record.agentId);
    }
    const stored = { record, version: String(version) };
    this.#remember(stored, { expiresAtSeconds: checks.apart?.expiresAtSeconds, sameRun: checks.sameRun });
    return stored;
  }

  /** Where the record's checks go (planChecks), their item written first if need be. */
  async #planChecks(
    record: AgentRecord,
    expectedVersion: string,
    options: CallOptions | undefined,
  ): Promise<{ apart?: { digest: string; expiresAtSeconds: number }; sameRun: number }> {
    const inline = { sameRun: 0 };
    if (this.#checks === undefined) return inline;
    const plan = planChecks(record, this.#known.get(record.agentId), expectedVersion, this.#checks.now);
    const apart = plan.apart;
    if (apart === undefined) return { sameRun: plan.sameRun };
    if (!apart.put && apart.expiresAtSeconds !== undefined) {
      return {
        sameRun: plan.sameRun,
        apart: { digest: apart.digest, expiresAtSeconds: apart.expiresAtSeconds },
      };
    }
    try {
      const ref = { agentId: record.agentId, digest: apart.digest };
      const expiresAtSeconds = await this.#checks.put(ref, record.checks, options);
      return { sameRun: plan.sameRun, apart: { digest: apart.digest, expiresAtSeconds } };
    } catch {
      // Inline is always right: a checks item that could not be written costs this write a unit
      // more, never the heartbeat. (If it was written after all, it is unnamed, and expires.)
      return { sameRun: plan.sameRun };
    }
  }

  #remember(stored: StoredAgent, written: { expiresAtSeconds?: number | undefined; sameRun: number }): void {
    if (this.#checks === undefined) return;
    const agentId = stored.record.agentId;
    this.#known.delete(agentId);
    if (this.#known.size >= KNOWN_CHECKS_MAX) this.#known.delete(this.#known.keys().next().value ?? '');
    this.#known.set(agentId, knownChecks(stored.version, stored.record, written));
  }

  #checksTable(agentId: string): ChecksTable {
    if (this.#checks === undefined) {
      throw new Error(`agent item ${agentId} keeps its checks apart, but no checks table is configured`);
    }
    return this.#checks;
  }

  /**
   * Items as records, their checks kept apart read in one BatchGet. Checks that are not stored
   * (which the rules in checks-table.ts leave to a restore of one table without the other, or a
   * hand-made change) read as none, as in `get`: the agent's next heartbeat writes its checks
   * inline again, where a failed read would fail that heartbeat, and every one after it, for good.
   * Items that are not records at all are counted in `missing`.
   */
  async #toRecords(
    items: readonly Record<string, unknown>[],
    options: CallOptions | undefined,
  ): Promise<{ records: AgentRecord[]; missing: number }> {
    const parts = items.map(splitItem);
    const refs = parts.flatMap((p) =>
      p.ref === undefined ? [] : [{ agentId: String(p.fields['agentId']), digest: p.ref }],
    );
    const checks =
      refs.length === 0
        ? new Map<string, CheckResult[]>()
        : await this.#checksTable(refs[0]?.agentId ?? '').getMany(refs, options);
    const records: AgentRecord[] = [];
    let missing = 0;
    for (const part of parts) {
      const agentId = String(part.fields['agentId']);
      try {
        records.push(
          toStoredAgent(part, part.ref === undefined ? undefined : (checks.get(agentId) ?? [])).record,
        );
      } catch {
        missing++;
      }
    }
    return { records, missing };
  }

  async deleteAgent(agentId: string, expectedVersion: string, options?: CallOptions): Promise<void> {
    const expected = parseVersion(expectedVersion);
    try {
      await withCallTimeout(options, (abortSignal) =>
        this.#client.send(
          new DeleteCommand({
            TableName: this.#tableName,
            Key: { agentId },
            // Fails when a heartbeat changed it since it was read, or it is gone.
            ConditionExpression: '#version = :expected',
            ExpressionAttributeNames: { '#version': 'version' },
            ExpressionAttributeValues: { ':expected': expected },
          }),
          { abortSignal },
        ),
      );
    } catch (error) {
      throw translateError(error, 'DeleteItem', agentId);
    }
    this.#known.delete(agentId);
  }

  /**
   * Pages through the `byState` index shard by shard, then reads the records themselves with a
   * consistent BatchGet. The index is eventually consistent, so a record that has since changed
   * state is dropped from the page: a page may hold fewer than `limit` items.
   */
  async listByState(
    state: AgentState,
    page: { limit: number; cursor: string | null },
    options?: CallOptions,
  ): Promise<AgentPage> {
    let position: z.infer<typeof cursorSchema> =
      page.cursor === null ? { shard: 0 } : decodeCursor(page.cursor, cursorSchema);
    const keys: string[] = [];
    while (position.shard < STATE_SHARDS && keys.length < page.limit) {
      let output;
      try {
        output = await withCallTimeout(options, (abortSignal) =>
          this.#client.send(
            new QueryCommand({
              TableName: this.#tableName,
              IndexName: STATE_INDEX,
              KeyConditionExpression: '#shard = :shard',
              ExpressionAttributeNames: { '#shard': 'stateShard' },
              ExpressionAttributeValues: { ':shard': stateShard(state, position.shard) },
              Limit: page.limit - keys.length,
              ...(position.after === undefined
                ? {}
                : {
                    ExclusiveStartKey: {
                      stateShard: stateShard(state, position.shard),
                      agentId: position.after,
                    },
                  }),
            }),
            { abortSignal },
          ),
        );
      } catch (error) {
        throw translateError(error, 'Query', undefined);
      }
      for (const item of output.Items ?? []) keys.push(String(item['agentId']));
      const next = output.LastEvaluatedKey?.['agentId'];
      position =
        typeof next === 'string' ? { shard: position.shard, after: next } : { shard: position.shard + 1 };
    }
    const records = await this.#batchGet(keys, options);
    return {
      items: keys.flatMap((id) => {
        const record = records.get(id);
        return record?.state === state ? [record] : [];
      }),
      cursor: position.shard < STATE_SHARDS ? encodeCursor(position) : null,
    };
  }

  /**
   * A Scan of the table itself, not an index: it sees every item whatever an index says (dynalite
   * writes an item and its index entries separately, so a crash between them can leave an entry
   * missing). Eventually consistent, which halves its cost: the reconciler re-reads with a
   * consistent get before it changes anything. The filter drops healthy expired agents and
   * checkpoints on the server (they are still read, and paid for, as Scans are).
   */
  async listOpen(page: { limit: number; cursor: string | null }, options?: CallOptions): Promise<AgentPage> {
    const after = page.cursor === null ? undefined : decodeCursor(page.cursor, scanCursorSchema).after;
    let output;
    try {
      output = await withCallTimeout(options, (abortSignal) =>
        this.#client.send(
          new ScanCommand({
            TableName: this.#tableName,
            Limit: page.limit,
            FilterExpression: '#state = :alive OR size(#outbox) > :none',
            ExpressionAttributeNames: { '#state': 'state', '#outbox': 'outbox' },
            ExpressionAttributeValues: { ':alive': 'alive', ':none': 0 },
            ...(after === undefined ? {} : { ExclusiveStartKey: { agentId: after } }),
          }),
          { abortSignal },
        ),
      );
    } catch (error) {
      throw translateError(error, 'Scan', undefined);
    }
    const next = output.LastEvaluatedKey?.['agentId'];
    // One record that cannot be read (an unknown schemaVersion, a bad manual edit) is counted and
    // skipped: failing the page would stop the reconciler at it for good.
    const { records: items, missing: unreadable } = await this.#toRecords(output.Items ?? [], options);
    return { items, cursor: typeof next === 'string' ? encodeCursor({ after: next }) : null, unreadable };
  }

  addPulse(bucketStart: number, count: number, options?: CallOptions): Promise<void> {
    return addPulse(this.#client, this.#tableName, bucketStart, count, options);
  }

  readPulse(from: number, to: number, options?: CallOptions): Promise<Map<number, number>> {
    return readPulse(this.#client, this.#tableName, from, to, options);
  }

  countMassExpiry(minuteStart: number, options?: CallOptions): Promise<void> {
    return countMassExpiry(this.#client, this.#tableName, minuteStart, options);
  }

  readMassExpiries(from: number, to: number, options?: CallOptions): Promise<Map<number, MassMinute>> {
    return readMassExpiries(this.#client, this.#tableName, from, to, options);
  }

  claimMassSummary(minuteStart: number, options?: CallOptions): Promise<boolean> {
    return claimMassSummary(this.#client, this.#tableName, minuteStart, options);
  }

  readWindows(options?: CallOptions): Promise<StoredWindows> {
    return readWindows(this.#client, this.#tableName, options);
  }

  writeWindows(
    windows: readonly MaintenanceWindow[],
    expectedVersion: string | null,
    options?: CallOptions,
  ): Promise<void> {
    return writeWindows(this.#client, this.#tableName, windows, expectedVersion, options);
  }

  async loadCheckpoint(name: string, options?: CallOptions): Promise<string | null> {
    try {
      const output = await withCallTimeout(options, (abortSignal) =>
        this.#client.send(
          new GetCommand({
            TableName: this.#tableName,
            Key: { agentId: checkpointKey(name) },
            ConsistentRead: true,
          }),
          { abortSignal },
        ),
      );
      const value = output.Item?.['value'];
      return typeof value === 'string' ? value : null;
    } catch (error) {
      throw translateError(error, 'GetItem', undefined);
    }
  }

  async saveCheckpoint(name: string, value: string | null, options?: CallOptions): Promise<void> {
    try {
      await withCallTimeout(options, (abortSignal) =>
        this.#client.send(
          new PutCommand({ TableName: this.#tableName, Item: { agentId: checkpointKey(name), value } }),
          { abortSignal },
        ),
      );
    } catch (error) {
      throw translateError(error, 'PutItem', undefined);
    }
  }

  async #batchGet(agentIds: string[], options: CallOptions | undefined): Promise<Map<string, AgentRecord>> {
    const keys = agentIds.map((agentId) => ({ agentId }));
    const items = await batchGetAll(this.#client, this.#tableName, keys, options);
    const { records, missing } = await this.#toRecords(items, options);
    if (missing > 0) throw new Error(`${missing} listed agent items could not be read`);
    return new Map(records.map((record) => [record.agentId, record]));
  }
}

/**
 * Versions this adapter issues are `String(n)` for a positive integer n. Anything else cannot
 * have come from this store (a Couchbase CAS, a typo), so it is a caller's bug, not a race:
 * reporting it as a conflict would only send the CAS loop round again.
 */
function parseVersion(version: string): number {
  const n = /^[1-9][0-9]*$/.test(version) ? Number(version) : Number.NaN;
  if (!Number.isSafeInteger(n)) {
    throw new TypeError(`not a version issued by the DynamoDB agent store: ${JSON.stringify(version)}`);
  }
  return n;
}

function checkpointKey(name: string): string {
  return `${CHECKPOINT_KEY_PREFIX}${name}`;
}

interface ItemParts {
  fields: Record<string, unknown>;
  version: unknown;
  /** The digest of checks kept apart, and their item's expiry. */
  ref?: string;
  expiresAtSeconds?: number;
  /** Writes in a row whose checks repeated the write before (checks-table.ts planChecks). */
  sameRun: number;
}

/** An agent item's record fields, apart from what only the item has. */
function splitItem(item: Record<string, unknown>): ItemParts {
  // stateShard is the index key, derived from the record: not part of it.
  const { version, stateShard: _shard, checksRef, checksExpiresAt, checksSame, ...fields } = item;
  return {
    fields,
    version,
    sameRun: typeof checksSame === 'number' ? checksSame : 0,
    ...(typeof checksRef === 'string' ? { ref: checksRef } : {}),
    ...(typeof checksExpiresAt === 'number' ? { expiresAtSeconds: checksExpiresAt } : {}),
  };
}

function toStoredAgent(parts: ItemParts, checks?: CheckResult[]): StoredAgent {
  const { fields, version } = parts;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw new Error(`agent item ${String(fields['agentId'])} has no valid version attribute`);
  }
  return {
    record: upgradeRecord(
      checks === undefined ? fields : { ...fields, checks },
      `agent item ${String(fields['agentId'])}`,
    ),
    version: String(version),
  };
}

/**
 * The item a record is written as: with its checks, or naming them where they are kept apart;
 * `checksSame` (absent: 0) counts the writes in a row whose checks repeated the one before.
 */
export function agentItem(
  record: AgentRecord,
  version: number,
  checks: { apart?: { digest: string; expiresAtSeconds: number }; sameRun: number },
): Record<string, unknown> {
  const shard = stateShardOf(record);
  const same = checks.sameRun === 0 ? {} : { checksSame: checks.sameRun };
  if (checks.apart === undefined) return { ...record, ...same, version, stateShard: shard };
  const { checks: _checks, ...rest } = record;
  return {
    ...rest,
    checksRef: checks.apart.digest,
    checksExpiresAt: checks.apart.expiresAtSeconds,
    ...same,
    version,
    stateShard: shard,
  };
}
