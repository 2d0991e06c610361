import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BackendUnavailableError } from '../../core/errors.js';
import type { CallOptions } from '../../core/ports.js';
import { withCallTimeout } from '../call-timeout.js';
import { translateError } from './errors.js';

/** BatchGetItem's limit of keys per request. */
const KEYS_PER_REQUEST = 100;
/** Rounds asking again for keys left unprocessed, before the table counts as unavailable. */
const ROUNDS = 5;

/**
 * Every item of `keys` that exists, read strongly consistent, 100 keys a request. BatchGet may
 * leave keys unprocessed under load: those are asked for again, a bounded number of times.
 */
export async function batchGetAll(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Record<string, unknown>[],
  options: CallOptions | undefined,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for (let start = 0; start < keys.length; start += KEYS_PER_REQUEST) {
    let pending = keys.slice(start, start + KEYS_PER_REQUEST);
    for (let round = 0; pending.length > 0; round++) {
      if (round === ROUNDS) {
        throw new BackendUnavailableError(
          'store',
          `DynamoDB BatchGetItem kept leaving keys of ${tableName} unprocessed`,
        );
      }
      let output;
      try {
        output = await withCallTimeout(options, (abortSignal) =>
          client.send(
            new BatchGetCommand({
              RequestItems: { [tableName]: { Keys: [...pending], ConsistentRead: true } },
            }),
            { abortSignal },
          ),
        );
      } catch (error) {
        throw translateError(error, 'BatchGetItem', undefined);
      }
      items.push(...(output.Responses?.[tableName] ?? []));
      pending = output.UnprocessedKeys?.[tableName]?.Keys ?? [];
    }
  }
  return items;
}
