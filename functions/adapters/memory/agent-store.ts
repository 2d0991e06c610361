import * as z from 'zod/mini';
import type { AgentRecord, AgentState, StoredAgent } from '../../core/agent.js';
import { VersionConflictError } from '../../core/errors.js';
import { agentIdSchema } from '../../core/heartbeat.js';
import type {
  AgentDeleter,
  AgentPage,
  AgentStore,
  CheckpointStore,
  MaintenanceStore,
  MassExpiryStore,
  MassMinute,
  PulseStore,
  StoredWindows,
} from '../../core/ports.js';
import type { MaintenanceWindow } from '../../core/maintenance.js';
import { decodeCursor, encodeCursor } from '../cursor.js';

export type MemoryStoreOperation =
  | 'get'
  | 'create'
  | 'replace'
  | 'listByState'
  | 'listOpen'
  | 'addPulse'
  | 'readPulse'
  | 'countMassExpiry'
  | 'readMassExpiries'
  | 'claimMassSummary'
  | 'deleteAgent'
  | 'readWindows'
  | 'writeWindows';

const cursorSchema = z.strictObject({ after: agentIdSchema });

/**
 * When an injected fault strikes: `before` the operation touches anything (the store was
 * unreachable), or `after` a write was applied (it committed but the caller never heard,
 * as with a timeout on a write that went through).
 */
export type FaultTiming = 'before' | 'after';

interface Fault {
  error: Error;
  timing: FaultTiming;
}

interface Entry {
  record: AgentRecord;
  version: number;
}

/**
 * AgentStore for unit tests: a Map with the same conflict semantics as the real adapters.
 * Records are deep-copied in and out, so a test or the code under test cannot change stored
 * state by mutating an object it holds, which a real store would not allow either.
 */
export class MemoryAgentStore
  implements AgentStore, AgentDeleter, CheckpointStore, PulseStore, MassExpiryStore, MaintenanceStore
{
  #windows: { windows: MaintenanceWindow[]; version: number } | undefined;
  readonly #entries = new Map<string, Entry>();
  readonly #pulse = new Map<number, number>();
  readonly #mass = new Map<number, MassMinute>();
  readonly #checkpoints = new Map<string, string | null>();
  readonly #faults = new Map<MemoryStoreOperation, Fault[]>();
  // One counter for the whole store, so a version string is never issued twice, even for an
  // agent that is later deleted and recreated.
  #lastVersion = 0;

  /** Makes the next call of `op` throw `error`; queued faults are used one per call, in order. */
  failNext(op: MemoryStoreOperation, error: Error, timing: FaultTiming = 'before'): void {
    const queue = this.#faults.get(op) ?? [];
    queue.push({ error, timing });
    this.#faults.set(op, queue);
  }

  /** Drops every fault still queued: the store is back. */
  clearFaults(): void {
    this.#faults.clear();
  }

  async get(agentId: string): Promise<StoredAgent | undefined> {
    const fault = this.#takeFault('get');
    if (fault !== undefined) throw fault.error;
    const entry = this.#entries.get(agentId);
    return entry === undefined ? undefined : toStored(entry);
  }

  async create(record: AgentRecord): Promise<StoredAgent> {
    const fault = this.#takeFault('create');
    if (fault?.timing === 'before') throw fault.error;
    if (this.#entries.has(record.agentId)) throw new VersionConflictError(record.agentId);
    const entry = this.#store(record);
    if (fault !== undefined) throw fault.error;
    return toStored(entry);
  }

  async replace(record: AgentRecord, expectedVersion: string): Promise<StoredAgent> {
    const fault = this.#takeFault('replace');
    if (fault?.timing === 'before') throw fault.error;
    assertIssuedFormat(expectedVersion);
    const current = this.#entries.get(record.agentId);
    if (current === undefined || String(current.version) !== expectedVersion) {
      throw new VersionConflictError(record.agentId);
    }
    const entry = this.#store(record);
    if (fault !== undefined) throw fault.error;
    return toStored(entry);
  }

  async listByState(state: AgentState, page: { limit: number; cursor: string | null }): Promise<AgentPage> {
    const fault = this.#takeFault('listByState');
    if (fault !== undefined) throw fault.error;
    return this.#page(page, (record) => record.state === state);
  }

  async listOpen(page: { limit: number; cursor: string | null }): Promise<AgentPage> {
    const fault = this.#takeFault('listOpen');
    if (fault !== undefined) throw fault.error;
    return {
      ...this.#page(page, (record) => record.state === 'alive' || record.outbox.length > 0),
      unreadable: 0,
    };
  }

  async loadCheckpoint(name: string): Promise<string | null> {
    return this.#checkpoints.get(name) ?? null;
  }

  async saveCheckpoint(name: string, value: string | null): Promise<void> {
    this.#checkpoints.set(name, value);
  }

  #page(
    page: { limit: number; cursor: string | null },
    include: (record: AgentRecord) => boolean,
  ): AgentPage {
    const after = page.cursor === null ? null : decodeCursor(page.cursor, cursorSchema).after;
    const matching = [...this.#entries.values()]
      .map((entry) => entry.record)
      .filter((record) => include(record) && (after === null || record.agentId > after))
      .sort((a, b) => (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0));
    const items = matching.slice(0, page.limit).map((record) => structuredClone(record));
    const last = items.at(-1);
    return {
      items,
      cursor:
        matching.length > page.limit && last !== undefined ? encodeCursor({ after: last.agentId }) : null,
    };
  }

  async addPulse(bucketStart: number, count: number): Promise<void> {
    const fault = this.#takeFault('addPulse');
    if (fault?.timing === 'before') throw fault.error;
    this.#pulse.set(bucketStart, (this.#pulse.get(bucketStart) ?? 0) + count);
    if (fault !== undefined) throw fault.error;
  }

  async readPulse(from: number, to: number): Promise<Map<number, number>> {
    const fault = this.#takeFault('readPulse');
    if (fault !== undefined) throw fault.error;
    return new Map([...this.#pulse].filter(([bucket]) => bucket >= from && bucket < to));
  }

  async deleteAgent(agentId: string, expectedVersion: string): Promise<void> {
    const fault = this.#takeFault('deleteAgent');
    if (fault?.timing === 'before') throw fault.error;
    const entry = this.#entries.get(agentId);
    if (entry === undefined || String(entry.version) !== expectedVersion)
      throw new VersionConflictError(agentId);
    this.#entries.delete(agentId);
    if (fault !== undefined) throw fault.error;
  }

  async countMassExpiry(minuteStart: number): Promise<void> {
    const fault = this.#takeFault('countMassExpiry');
    if (fault?.timing === 'before') throw fault.error;
    const minute = this.#mass.get(minuteStart) ?? { count: 0, summarized: false };
    this.#mass.set(minuteStart, { ...minute, count: minute.count + 1 });
    if (fault !== undefined) throw fault.error;
  }

  async readMassExpiries(from: number, to: number): Promise<Map<number, MassMinute>> {
    const fault = this.#takeFault('readMassExpiries');
    if (fault !== undefined) throw fault.error;
    return new Map(
      [...this.#mass]
        .filter(([minute]) => minute >= from && minute < to)
        .map(([minute, value]) => [minute, { ...value }]),
    );
  }

  async claimMassSummary(minuteStart: number): Promise<boolean> {
    const fault = this.#takeFault('claimMassSummary');
    if (fault?.timing === 'before') throw fault.error;
    const minute = this.#mass.get(minuteStart) ?? { count: 0, summarized: false };
    this.#mass.set(minuteStart, { ...minute, summarized: true });
    if (fault !== undefined) throw fault.error;
    return !minute.summarized;
  }

  async readWindows(): Promise<StoredWindows> {
    const fault = this.#takeFault('readWindows');
    if (fault !== undefined) throw fault.error;
    return this.#windows === undefined
      ? { windows: [], version: null }
      : { windows: structuredClone(this.#windows.windows), version: String(this.#windows.version) };
  }

  async writeWindows(windows: readonly MaintenanceWindow[], expectedVersion: string | null): Promise<void> {
    const fault = this.#takeFault('writeWindows');
    if (fault?.timing === 'before') throw fault.error;
    const current = this.#windows === undefined ? null : String(this.#windows.version);
    if (current !== expectedVersion) throw new VersionConflictError('#maintenance');
    this.#windows = { windows: structuredClone([...windows]), version: ++this.#lastVersion };
    if (fault !== undefined) throw fault.error;
  }

  #store(record: AgentRecord): Entry {
    const entry = { record: structuredClone(record), version: ++this.#lastVersion };
    this.#entries.set(record.agentId, entry);
    return entry;
  }

  #takeFault(op: MemoryStoreOperation): Fault | undefined {
    return this.#faults.get(op)?.shift();
  }
}

/** Same rule as the DynamoDB adapter: a token this store could never have issued is a caller's bug. */
function assertIssuedFormat(version: string): void {
  if (!/^[1-9][0-9]*$/.test(version)) {
    throw new TypeError(`not a version issued by the memory agent store: ${JSON.stringify(version)}`);
  }
}

function toStored(entry: Entry): StoredAgent {
  return { record: structuredClone(entry.record), version: String(entry.version) };
}
