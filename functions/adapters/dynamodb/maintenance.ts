import { GetCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { MaintenanceWindow } from '../../core/maintenance.js';
import type { CallOptions, StoredWindows } from '../../core/ports.js';
import { withCallTimeout } from '../call-timeout.js';
import { translateError } from './errors.js';

/**
 * The maintenance windows in the agent table: one item, `#maintenance#windows` (no agent id can
 * start with `#`), holding the list and a version counter; replaced whole with a condition on the
 * version. It has no `state` and no outbox, so neither the byState index nor the reconciler's scan
 * filter sees it. Read strongly consistent: a window created a moment ago must count.
 */
export const MAINTENANCE_KEY = '#maintenance#windows';

export async function readWindows(
  client: DynamoDBDocumentClient,
  tableName: string,
  options: CallOptions | undefined,
): Promise<StoredWindows> {
  try {
    const output = await withCallTimeout(options, (abortSignal) =>
      client.send(
        new GetCommand({ TableName: tableName, Key: { agentId: MAINTENANCE_KEY }, ConsistentRead: true }),
        { abortSignal },
      ),
    );
    const item = output.Item;
    if (item === undefined) return { windows: [], version: null };
    return { windows: (item['windows'] ?? []) as MaintenanceWindow[], version: String(item['version']) };
  } catch (error) {
    throw translateError(error, 'GetItem', undefined);
  }
}

export async function writeWindows(
  client: DynamoDBDocumentClient,
  tableName: string,
  windows: readonly MaintenanceWindow[],
  expectedVersion: string | null,
  options: CallOptions | undefined,
): Promise<void> {
  const version = expectedVersion === null ? 1 : Number(expectedVersion) + 1;
  if (!Number.isSafeInteger(version)) throw new TypeError(`not a windows version: ${expectedVersion}`);
  try {
    await withCallTimeout(options, (abortSignal) =>
      client.send(
        new PutCommand({
          TableName: tableName,
          Item: { agentId: MAINTENANCE_KEY, windows, version },
          ...(expectedVersion === null
            ? { ConditionExpression: 'attribute_not_exists(agentId)' }
            : {
                ConditionExpression: '#version = :expected',
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: { ':expected': Number(expectedVersion) },
              }),
        }),
        { abortSignal },
      ),
    );
  } catch (error) {
    // A failed condition is a lost race: VersionConflictError, retried by the caller.
    throw translateError(error, 'PutItem', MAINTENANCE_KEY);
  }
}
