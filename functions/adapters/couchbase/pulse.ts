import { type Collection, DocumentNotFoundError, MutateInSpec, StoreSemantics } from 'couchbase';
import { HOUR_MS, PULSE_RETENTION_MS, hoursCovering, pulseSlot, readHourItem } from '../../core/pulse.js';

/**
 * The fleet pulse beside the agents: one document per hour, `pulse::<hour start ms>` (agent keys
 * start with `agent`), whose field `s<second of the hour>` counts the bucket starting then. Adding
 * is a sub-document increment that creates the document or the field if need be, atomic whoever
 * else adds at the same moment; the document expires with the pulse's retention. Reading is a
 * get per hour. Documents without `state` never show in the SQL++ listings.
 */
const PULSE_KEY_PREFIX = 'pulse::';

export async function addPulse(
  collection: Collection,
  bucketStart: number,
  count: number,
  options: { timeout?: number },
): Promise<void> {
  const { hourStart, field } = pulseSlot(bucketStart);
  await collection.mutateIn(`${PULSE_KEY_PREFIX}${hourStart}`, [MutateInSpec.increment(field, count)], {
    ...options,
    storeSemantics: StoreSemantics.Upsert,
    expiry: Math.ceil((HOUR_MS + PULSE_RETENTION_MS) / 1000),
  });
}

export async function readPulse(
  collection: Collection,
  from: number,
  to: number,
  options: { timeout?: number },
): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  const documents = await getHourDocuments(collection, PULSE_KEY_PREFIX, { from, to }, options);
  for (const [hourStart, fields] of documents) readHourItem(hourStart, fields, { from, to }, counts);
  return counts;
}

/**
 * The hourly documents under `keyPrefix` (`<prefix><hour start ms>`) that hold [from, to), one
 * get each (KV reads are consistent); an hour nobody wrote reads as an empty document.
 */
export async function getHourDocuments(
  collection: Collection,
  keyPrefix: string,
  range: { from: number; to: number },
  options: { timeout?: number },
): Promise<[number, Record<string, unknown>][]> {
  const documents: [number, Record<string, unknown>][] = [];
  for (const hourStart of hoursCovering(range.from, range.to)) {
    try {
      const { content } = await collection.get(`${keyPrefix}${hourStart}`, options);
      documents.push([hourStart, (content ?? {}) as Record<string, unknown>]);
    } catch (error) {
      if (!(error instanceof DocumentNotFoundError)) throw error;
    }
  }
  return documents;
}
