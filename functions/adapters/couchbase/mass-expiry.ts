import { type Collection, MutateInSpec, PathExistsError, StoreSemantics } from 'couchbase';
import { MASS_RETENTION_MS, massSlot, readMassHourItem } from '../../core/mass-expiry.js';
import type { MassMinute } from '../../core/ports.js';
import { HOUR_MS } from '../../core/pulse.js';
import { getHourDocuments } from './pulse.js';

/**
 * The mass-expiry minutes beside the agents, laid out as the pulse is (./pulse.ts): one document
 * per hour, `mass::<hour start ms>`, with a counter `m<second>` per minute (a sub-document
 * increment) and the summary's claim `c<second>` (a sub-document insert, which fails for every
 * caller but the first). The documents expire; without `state` they are never listed.
 */
const MASS_KEY_PREFIX = 'mass::';

const writeOptions = (options: { timeout?: number }) => ({
  ...options,
  storeSemantics: StoreSemantics.Upsert,
  expiry: Math.ceil((HOUR_MS + MASS_RETENTION_MS) / 1000),
});

export async function countMassExpiry(
  collection: Collection,
  minuteStart: number,
  options: { timeout?: number },
): Promise<void> {
  const { hourStart, count } = massSlot(minuteStart);
  await collection.mutateIn(
    `${MASS_KEY_PREFIX}${hourStart}`,
    [MutateInSpec.increment(count, 1)],
    writeOptions(options),
  );
}

export async function claimMassSummary(
  collection: Collection,
  minuteStart: number,
  options: { timeout?: number },
): Promise<boolean> {
  const { hourStart, claim } = massSlot(minuteStart);
  try {
    await collection.mutateIn(
      `${MASS_KEY_PREFIX}${hourStart}`,
      [MutateInSpec.insert(claim, true)],
      writeOptions(options),
    );
    return true;
  } catch (error) {
    if (error instanceof PathExistsError) return false;
    throw error;
  }
}

export async function readMassExpiries(
  collection: Collection,
  from: number,
  to: number,
  options: { timeout?: number },
): Promise<Map<number, MassMinute>> {
  const minutes = new Map<number, MassMinute>();
  const documents = await getHourDocuments(collection, MASS_KEY_PREFIX, { from, to }, options);
  for (const [hourStart, fields] of documents) readMassHourItem(hourStart, fields, { from, to }, minutes);
  return minutes;
}
