import { hash } from 'node:crypto';
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AgentRecord, CheckResult } from '../../core/agent.js';
import type { CallOptions, Clock } from '../../core/ports.js';
import { withCallTimeout } from '../call-timeout.js';
import { batchGetAll } from './batch-get.js';
import { translateError } from './errors.js';

/**
 * Checks kept apart from the agent item (issue 11): DynamoDB bills a write by the whole item, and
 * the checks are most of a record (5 checks of 200 B: 1.5 KB, two write units; 50 large ones:
 * 60). An alive agent whose checks stay the same keeps them in an item of a table of their own,
 * keyed by agent and digest, and a heartbeat then writes only the small agent item (about 0.5 KB,
 * one unit) naming them; when they go apart, and when they stay inline, is planChecks' rule.
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
  /** Writes in a row, up to this version's, whose checks were the same as the write before. */
  sameRun: number;
}

/** What a write of a record does with its checks. */
export interface ChecksPlan {
  /** Kept apart: the checks item written first (`put`), or the one named already. */
  apart?: { digest: string; put: boolean; expiresAtSeconds?: number };
  /** Stored with the agent item (`checksSame`), for the next write's plan. */
  sameRun: number;
}

/**
 * The rule (pure), for an alive agent whose checks are worth keeping apart, written over a
 * version the store read or wrote (any other keeps them inline: safe, a unit dearer). DynamoDB
 * bills a write by the larger of the old and the new item, so turning an inline item into a small
 * one costs the inline size and the checks item besides, and pays only if the checks then stay
 * the same a while; so:
 * - checks the same as the version's: apart if they are already, or if this is the second write
 *   in a row that repeats them; otherwise inline;
 * - changed checks: apart (a new checks item) if they were apart and had repeated before this
 *   change, as a steady agent's checks do; inline if they changed at the write before as well
 *   (outputs that change at every heartbeat), or were inline.
 * So checks that change at every heartbeat, or every other, cost what inline costs; steadier ones
 * less, down to one unit. Their item is written again when its expiry draws near.
 */
export function planChecks(
  record: AgentRecord,
  known: KnownChecks | undefined,
  expectedVersion: string,
  now: number,
): ChecksPlan {
  const digest = worthSplitting(record.checks) ? checksDigest(record.checks) : undefined;
  const before = known?.version === expectedVersion ? known : undefined;
  const same = digest !== undefined && before?.digest === digest;
  const sameRun = same && before !== undefined ? before.sameRun + 1 : 0;
  if (record.state !== 'alive' || digest === undefined || before === undefined) return { sameRun };
  const apartBefore = before.expiresAtSeconds !== undefined;
  const keepApart = same ? apartBefore || sameRun >= 2 : apartBefore && before.sameRun >= 1;
  if (!keepApart) return { sameRun };
  const named = same ? before.expiresAtSeconds : undefined;
  const fresh = named !== undefined && named * 1000 - now >= REFRESH_BELOW_MS;
  return { sameRun, apart: fresh ? { digest, put: false, expiresAtSeconds: named } : { digest, put: true } };
}

/** What the store knows after reading or writing a version. */
export function knownChecks(
  version: string,
  record: AgentRecord,
  stored: { expiresAtSeconds?: number | undefined; sameRun: number },
): KnownChecks {
  return {
    version,
    ...(worthSplitting(record.checks) ? { digest: checksDigest(record.checks) } : {}),
    ...(stored.expiresAtSeconds === undefined ? {} : { expiresAtSeconds: stored.expiresAtSeconds }),
    sameRun: stored.sameRun,
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

  /** The checks, or undefined if they are not stored (see the agent store for what then). */
  async get(ref: ChecksRef, options?: CallOptions): Promise<CheckResult[] | undefined> {
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
    const checks = item?.['checks'];
    return Array.isArray(checks) ? (checks as CheckResult[]) : undefined;
  }

  /** The checks of several agents, by agent id (batchGetAll). */
  async getMany(refs: readonly ChecksRef[], options?: CallOptions): Promise<Map<string, CheckResult[]>> {
    const items = await batchGetAll(this.client, this.tableName, refs.map(keyOf), options);
    const found = new Map(items.map((item) => [String(item['id']), item]));
    // What is missing is left out: the caller decides what a record without its checks is.
    return new Map(
      refs.flatMap((ref) => {
        const checks = found.get(keyOf(ref).id)?.['checks'];
        return Array.isArray(checks) ? [[ref.agentId, checks as CheckResult[]]] : [];
      }),
    );
  }
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
