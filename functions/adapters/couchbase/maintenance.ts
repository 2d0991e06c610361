import { type Collection, DocumentNotFoundError } from 'couchbase';
import type { MaintenanceWindow } from '../../core/maintenance.js';
import type { StoredWindows } from '../../core/ports.js';

/**
 * The maintenance windows beside the agents: one document, `maintenance::windows`, holding the
 * list; its CAS is the version, so a write is an insert (none stored yet) or a replace with the
 * CAS read. Without `agentId` or `state` it is never listed as an agent. Conflicts surface as the
 * SDK's DocumentExists / CasMismatch / DocumentNotFound errors, mapped by the store.
 */
const MAINTENANCE_KEY = 'maintenance::windows';

export async function readWindows(
  collection: Collection,
  options: { timeout?: number },
): Promise<StoredWindows> {
  try {
    const result = await collection.get(MAINTENANCE_KEY, options);
    const content = result.content as { windows?: MaintenanceWindow[] } | null;
    return { windows: content?.windows ?? [], version: result.cas.toString() };
  } catch (error) {
    if (error instanceof DocumentNotFoundError) return { windows: [], version: null };
    throw error;
  }
}

export async function writeWindows(
  collection: Collection,
  windows: readonly MaintenanceWindow[],
  cas: string | null,
  options: { timeout?: number },
): Promise<void> {
  const content = { windows };
  if (cas === null) await collection.insert(MAINTENANCE_KEY, content, options);
  else await collection.replace(MAINTENANCE_KEY, content, { ...options, cas });
}
