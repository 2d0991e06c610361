import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { MASS_RETENTION_MS, massSlot, readMassHourItem } from '../../core/mass-expiry.js';
import type { CallOptions, MassMinute } from '../../core/ports.js';
import { HOUR_MS } from '../../core/pulse.js';
import { withCallTimeout } from '../call-timeout.js';
import { translateError } from './errors.js';
import { PULSE_TTL_ATTRIBUTE, getHourItems } from './pulse.js';

/**
 * The mass-expiry minutes in the agent table, laid out as the pulse is (./pulse.ts): one item per
 * hour, `#mass#<hour start ms>`, with a counter `m<second>` per minute (UpdateItem ADD) and the
 * summary's claim `c<second>` (a conditional SET: one caller wins). TTL'd, and with no `state`,
 * so neither the index nor the reconciler's filter sees them.
 */
export const MASS_KEY_PREFIX = '#mass#';

const hourKey = (hourStart: number) => ({ agentId: `${MASS_KEY_PREFIX}${hourStart}` });
const expires = (hourStart: number) => Math.ceil((hourStart + HOUR_MS + MASS_RETENTION_MS) / 1000);

type Client = DynamoDBDocumentClient;

export async function countMassExpiry(
  client: Client,
  tableName: string,
  minuteStart: number,
  options: CallOptions | undefined,
): Promise<void> {
  const { hourStart, count } = massSlot(minuteStart);
  await update(client, options, {
    TableName: tableName,
    Key: hourKey(hourStart),
    UpdateExpression: 'ADD #count :one SET #expires = :expires',
    ExpressionAttributeNames: { '#count': count, '#expires': PULSE_TTL_ATTRIBUTE },
    ExpressionAttributeValues: { ':one': 1, ':expires': expires(hourStart) },
  });
}

export async function claimMassSummary(
  client: Client,
  tableName: string,
  minuteStart: number,
  options: CallOptions | undefined,
): Promise<boolean> {
  const { hourStart, claim } = massSlot(minuteStart);
  try {
    await update(client, options, {
      TableName: tableName,
      Key: hourKey(hourStart),
      UpdateExpression: 'SET #claim = :claimed, #expires = :expires',
      ConditionExpression: 'attribute_not_exists(#claim)',
      ExpressionAttributeNames: { '#claim': claim, '#expires': PULSE_TTL_ATTRIBUTE },
      ExpressionAttributeValues: { ':claimed': true, ':expires': expires(hourStart) },
    });
    return true;
  } catch (error) {
    if (error instanceof Error && error.cause instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

export async function readMassExpiries(
  client: Client,
  tableName: string,
  from: number,
  to: number,
  options: CallOptions | undefined,
): Promise<Map<number, MassMinute>> {
  const minutes = new Map<number, MassMinute>();
  // Consistent: a claim just made elsewhere must read as made.
  const items = await getHourItems(client, tableName, MASS_KEY_PREFIX, { from, to }, options, true);
  for (const [hourStart, item] of items) readMassHourItem(hourStart, item, { from, to }, minutes);
  return minutes;
}

async function update(
  client: Client,
  options: CallOptions | undefined,
  input: ConstructorParameters<typeof UpdateCommand>[0],
): Promise<void> {
  try {
    await withCallTimeout(options, (abortSignal) => client.send(new UpdateCommand(input), { abortSignal }));
  } catch (error) {
    throw translateError(error, 'UpdateItem', undefined);
  }
}
