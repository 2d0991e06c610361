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
  for (const hourStart of hoursCovering(from, to)) {
    let content: unknown;
    try {
      content = (await collection.get(`${PULSE_KEY_PREFIX}${hourStart}`, options)).content;
    } catch (error) {
      if (error instanceof DocumentNotFoundError) continue;
      throw error;
    }
    readHourItem(hourStart, (content ?? {}) as Record<string, unknown>, { from, to }, counts);
  }
  return counts;
}
