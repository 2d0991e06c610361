import { hash } from 'node:crypto';
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AgentRecord, CheckResult } from '../../core/agent.js';
import { BackendUnavailableError } from '../../core/errors.js';
import type { CallOptions, Clock } from '../../core/ports.js';
import { withCallTimeout } from '../call-timeout.js';
import { translateError } from './errors.js';

/**
 * Checks kept apart from the agent item (issue 11): DynamoDB bills a write by the whole item, and
 * the checks are most of a record (5 checks of 200 B: 1.5 KB, two write units; 50 large ones:
 * 60). A heartbeat whose checks are the same as the stored record's writes only the small agent
 * item (about 0.5 KB, one unit) naming them by digest; the checks live in an item of a table of
 * their own, keyed by agent and digest.
 *
 * Why it stays consistent: a checks item is written before the agent item that names it commits,
 * and never changed afterwards (its key is its content's digest), so every committed agent item
 * names checks that exist. It is kept alive by the writes that keep naming it: each one that finds
 * less than REFRESH_BELOW_MS left writes it again with a new expiry, and an alive agent is written
 * at least every two weeks (its expiry, a maintenance hold of at most a week plus its TTL of at
 * most a week); an agent that is not alive keeps its checks inline, in its own item. Items no
 * agent names any more expire by the table's TTL, which costs nothing; they are never scanned
 * (the reconciler scans the agent table only).
 */
export const CHECKS_RETENTION_MS = 30 * 86_400_000;
/** Written again when less than this is left: more than an alive agent can go without a write. */
export const REFRESH_BELOW_MS = 16 * 86_400_000;
/** Checks smaller than this stay inline: apart, they would save no write unit. */
export const SPLIT_MIN_BYTES = 512;

/** The checks table's TTL attribute (cdk/persistence.ts must name the same). */
export const CHECKS_TTL_ATTRIBUTE = 'expiresAtSeconds';

/** A digest of the checks' content, whatever order a store gives their fields back in. */
export function checksDigest(checks: readonly CheckResult[]): string {
  const canonical = checks.map((check) => [check.name, check.status, check.output ?? null]);
  return hash('sha256', JSON.stringify(canonical), 'base64url').slice(0, 32);
}

/** Whether checks are worth keeping apart (see SPLIT_MIN_BYTES). */
export function worthSplitting(checks: readonly CheckResult[]): boolean {
  return Buffer.byteLength(JSON.stringify(checks)) >= SPLIT_MIN_BYTES;
}

/** What a store knows of an agent's stored version: which checks it names, and how. */
export interface KnownChecks {
  version: string;
  /** The digest of the version's checks, when they are worth keeping apart. */
  digest?: string;
  /** Set when they are kept apart: their item's expiry, in epoch seconds. */
  expiresAtSeconds?: number;
}

/** What a write of `record` over `expectedVersion` does with its checks (none: inline). */
export interface ChecksPlan {
  digest: string;
  /** Write the checks item first (the replaced version had them inline, or their expiry nears). */
  put: boolean;
  /** The expiry the item has, when it is not written. */
  expiresAtSeconds?: number;
}

/**
 * The rule (pure): apart only for an alive agent whose checks, worth splitting, are the same as
 * those of the version replaced, as the store read or wrote it (a version it does not know keeps
 * them inline: safe, one write dearer). Their item is written when that version had them inline,
 * or when their expiry draws near; otherwise the write is the small agent item alone.
 */
export function planChecks(
  record: AgentRecord,
  known: KnownChecks | undefined,
  expectedVersion: string,
  now: number,
): ChecksPlan | undefined {
  if (record.state !== 'alive' || known?.version !== expectedVersion || known.digest === undefined)
    return undefined;
  if (!worthSplitting(record.checks)) return undefined;
  const digest = checksDigest(record.checks);
  if (digest !== known.digest) return undefined;
  const fresh =
    known.expiresAtSeconds !== undefined && known.expiresAtSeconds * 1000 - now >= REFRESH_BELOW_MS;
  return fresh ? { digest, put: false, expiresAtSeconds: known.expiresAtSeconds } : { digest, put: true };
}

/** What the store knows after reading or writing a version. */
export function knownChecks(version: string, record: AgentRecord, expiresAtSeconds?: number): KnownChecks {
  return {
    version,
    ...(worthSplitting(record.checks) ? { digest: checksDigest(record.checks) } : {}),
    ...(expiresAtSeconds === undefined ? {} : { expiresAtSeconds }),
  };
}

/** The expiry a checks item written now gets, in epoch seconds. */
export function checksExpiry(now: number): number {
  return Math.ceil((now + CHECKS_RETENTION_MS) / 1000);
}

/** A reference to stored checks: the agent's, with this digest. */
export interface ChecksRef {
  agentId: string;
  digest: string;
}

const keyOf = (ref: ChecksRef) => ({ id: `${ref.agentId}#${ref.digest}` });

export class ChecksTable {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
    private readonly clock: Clock,
  ) {}

  get now(): number {
    return this.clock.now();
  }

  /** Writes the checks (again); resolves the expiry given them, in epoch seconds. */
  async put(ref: ChecksRef, checks: readonly CheckResult[], options?: CallOptions): Promise<number> {
    const expiresAtSeconds = checksExpiry(this.clock.now());
    try {
      await withCallTimeout(options, (abortSignal) =>
        this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...keyOf(ref), checks, [CHECKS_TTL_ATTRIBUTE]: expiresAtSeconds },
          }),
          { abortSignal },
        ),
      );
    } catch (error) {
      throw translateError(error, 'PutItem', ref.agentId);
    }
    return expiresAtSeconds;
  }

  async get(ref: ChecksRef, options?: CallOptions): Promise<CheckResult[]> {
    let item: Record<string, unknown> | undefined;
    try {
      const output = await withCallTimeout(options, (abortSignal) =>
        this.client.send(
          new GetCommand({ TableName: this.tableName, Key: keyOf(ref), ConsistentRead: true }),
          {
            abortSignal,
          },
        ),
      );
      item = output.Item;
    } catch (error) {
      throw translateError(error, 'GetItem', ref.agentId);
    }
    return checksOf(item, ref);
  }

  /** The checks of several agents, by agent id; BatchGet asked again for what it leaves unprocessed. */
  async getMany(refs: readonly ChecksRef[], options?: CallOptions): Promise<Map<string, CheckResult[]>> {
    const found = new Map<string, Record<string, unknown>>();
    for (let start = 0; start < refs.length; start += 100) {
      let pending: Record<string, unknown>[] = refs.slice(start, start + 100).map(keyOf);
      for (let round = 0; pending.length > 0; round++) {
        if (round === 5)
          throw new BackendUnavailableError('store', 'DynamoDB BatchGetItem kept leaving checks unprocessed');
        let output;
        try {
          output = await withCallTimeout(options, (abortSignal) =>
            this.client.send(
              new BatchGetCommand({
                RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } },
              }),
              { abortSignal },
            ),
          );
        } catch (error) {
          throw translateError(error, 'BatchGetItem', undefined);
        }
        for (const item of output.Responses?.[this.tableName] ?? []) found.set(String(item['id']), item);
        pending = output.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    // What is missing is left out: the caller decides what a record without its checks is.
    return new Map(
      refs.flatMap((ref) => {
        const checks = found.get(keyOf(ref).id)?.['checks'];
        return Array.isArray(checks) ? [[ref.agentId, checks as CheckResult[]]] : [];
      }),
    );
  }
}

function checksOf(item: Record<string, unknown> | undefined, ref: ChecksRef): CheckResult[] {
  const checks = item?.['checks'];
  if (!Array.isArray(checks)) throw missingChecks(ref);
  return checks as CheckResult[];
}

/** Cannot happen while the rules above hold: a bug or a hand-made change, not an outage. */
export function missingChecks(ref: ChecksRef): Error {
  return new Error(`agent ${ref.agentId} names checks ${ref.digest}, which are not stored`);
}

/**
 * The checks table: one item per agent and digest. The CDK stack defines the same, with its TTL
 * on CHECKS_TTL_ATTRIBUTE; locally dynalite keeps no TTL, so unnamed checks stay (a few KB each).
 */
export function checksTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  };
}
