import { GetCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CallOptions } from '../../core/ports.js';
import { HOUR_MS, PULSE_RETENTION_MS, hoursCovering, pulseSlot, readHourItem } from '../../core/pulse.js';
import { withCallTimeout } from '../call-timeout.js';
import { translateError } from './errors.js';

/**
 * The fleet pulse in the agent table: one item per hour, `#pulse#<hour start ms>` (no agent id can
 * start with `#`), whose attribute `s<second of the hour>` counts the bucket starting then. Adding
 * is one UpdateItem ADD, atomic whoever else adds at the same moment; reading an agent's window
 * and the hour before it is a GetItem per hour. The items carry `expiresAtSeconds` for the table's
 * TTL, and no `state`, so neither the byState index nor the reconciler's scan filter sees them.
 */
const PULSE_KEY_PREFIX = '#pulse#';

/** The table's TTL attribute (cdk/persistence.ts); only pulse items carry it. */
export const PULSE_TTL_ATTRIBUTE = 'expiresAtSeconds';

const hourKey = (hourStart: number) => ({ agentId: `${PULSE_KEY_PREFIX}${hourStart}` });

export async function addPulse(
  client: DynamoDBDocumentClient,
  tableName: string,
  bucketStart: number,
  count: number,
  options: CallOptions | undefined,
): Promise<void> {
  const { hourStart, field } = pulseSlot(bucketStart);
  try {
    await withCallTimeout(options, (abortSignal) =>
      client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: hourKey(hourStart),
          UpdateExpression: 'ADD #bucket :count SET #expires = :expires',
          ExpressionAttributeNames: {
            '#bucket': field,
            '#expires': PULSE_TTL_ATTRIBUTE,
          },
          ExpressionAttributeValues: {
            ':count': count,
            ':expires': Math.ceil((hourStart + HOUR_MS + PULSE_RETENTION_MS) / 1000),
          },
        }),
        { abortSignal },
      ),
    );
  } catch (error) {
    throw translateError(error, 'UpdateItem', undefined);
  }
}

export async function readPulse(
  client: DynamoDBDocumentClient,
  tableName: string,
  from: number,
  to: number,
  options: CallOptions | undefined,
): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  const items = await getHourItems(client, tableName, PULSE_KEY_PREFIX, { from, to }, options);
  for (const [hourStart, item] of items) readHourItem(hourStart, item, { from, to }, counts);
  return counts;
}

/**
 * The hourly items under `keyPrefix` (`<prefix><hour start ms>`) that hold [from, to), one
 * GetItem each; an hour nobody wrote reads as an empty item.
 */
export async function getHourItems(
  client: DynamoDBDocumentClient,
  tableName: string,
  keyPrefix: string,
  range: { from: number; to: number },
  options: CallOptions | undefined,
  consistent = false,
): Promise<[number, Record<string, unknown>][]> {
  const items: [number, Record<string, unknown>][] = [];
  for (const hourStart of hoursCovering(range.from, range.to)) {
    try {
      const output = await withCallTimeout(options, (abortSignal) =>
        client.send(
          new GetCommand({
            TableName: tableName,
            Key: { agentId: `${keyPrefix}${hourStart}` },
            ConsistentRead: consistent,
          }),
          { abortSignal },
        ),
      );
      items.push([hourStart, output.Item ?? {}]);
    } catch (error) {
      throw translateError(error, 'GetItem', undefined);
    }
  }
  return items;
}
