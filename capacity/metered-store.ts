import { MemoryAgentStore } from '../functions/adapters/memory/agent-store.js';
import { agentItem } from '../functions/adapters/dynamodb/agent-store.js';
import {
  CHECKS_TTL_ATTRIBUTE,
  type KnownChecks,
  checksExpiry,
  knownChecks,
  planChecks,
} from '../functions/adapters/dynamodb/checks-table.js';
import type { AgentRecord, AgentState, StoredAgent } from '../functions/core/agent.js';
import type { MaintenanceWindow } from '../functions/core/maintenance.js';
import { pulseSlot } from '../functions/core/pulse.js';
import type {
  AgentDeleter,
  AgentPage,
  AgentStore,
  CheckpointStore,
  Clock,
  MaintenanceStore,
  MassExpiryStore,
  MassMinute,
  PulseStore,
  StoredWindows,
} from '../functions/core/ports.js';
import { dynamoItemBytes, readUnits, writeUnits } from './dynamo-size.js';

/** DynamoDB requests and request units, as the DynamoDB adapter would spend them. */
export interface DynamoMeter {
  getItem: number;
  putItem: number;
  updateItem: number;
  deleteItem: number;
  /** Pages of the reconciler's scan, and of the reaper's queries. */
  scan: number;
  query: number;
  readUnits: number;
  writeUnits: number;
  /** Of which: the byState index (keys only), written when an item is created, changes state or goes. */
  indexWriteUnits: number;
  /** Write units of record writes alone (the agent items), and how many there were. */
  recordWrites: number;
  recordWriteUnits: number;
  /** Checks written apart (checks-table.ts), their write units and bytes. */
  checksWrites: number;
  checksWriteUnits: number;
  checksBytes: number;
  /**
   * The fleet pulse's writes: one per function instance per bucket, whatever the fleet's size, so
   * they scale with instances, not agents.
   */
  pulseUpdates: number;
  pulseWriteUnits: number;
  /** Units that do not grow with the fleet: checkpoints, and the reaper's queries of 16 shards. */
  fixedReadUnits: number;
  fixedWriteUnits: number;
}

export function emptyDynamoMeter(): DynamoMeter {
  return {
    getItem: 0,
    putItem: 0,
    updateItem: 0,
    deleteItem: 0,
    scan: 0,
    query: 0,
    readUnits: 0,
    writeUnits: 0,
    indexWriteUnits: 0,
    recordWrites: 0,
    recordWriteUnits: 0,
    checksWrites: 0,
    checksWriteUnits: 0,
    checksBytes: 0,
    pulseUpdates: 0,
    pulseWriteUnits: 0,
    fixedReadUnits: 0,
    fixedWriteUnits: 0,
  };
}

/**
 * Every store port over the in-memory store, metering what the DynamoDB adapter would send for
 * each call: its request, and its request units from the size of the item as that adapter writes
 * it (agentItem: the record with `version` and `stateShard`, its checks inline or kept apart by
 * the adapter's own rule, planChecks; the pulse's hourly item; the windows item).
 * Reads of records are strongly consistent, as the adapter's are; the reconciler's scan is
 * eventually consistent and reads every item of the table, open or not (its filter applies after
 * the read), which is how it is counted: each pass, the whole table.
 */
export class MeteredStore
  implements AgentStore, AgentDeleter, CheckpointStore, PulseStore, MassExpiryStore, MaintenanceStore
{
  readonly meter = emptyDynamoMeter();
  readonly inner = new MemoryAgentStore();
  /** Item sizes by agent id, to bill writes by the larger of the old and new item. */
  readonly #bytes = new Map<string, number>();
  readonly #pulseHours = new Map<number, Record<string, number>>();
  /** As the adapter knows them: which checks each agent's version names, and how. */
  readonly #known = new Map<string, KnownChecks>();
  /** Sizes of the checks items the agents' items name (what reading them costs). */
  readonly #checksBytes = new Map<string, number>();

  /** `checksApart` false: every record keeps its checks inline (the adapter without a checks table). */
  constructor(
    private readonly clock: Clock,
    private readonly options: { checksApart: boolean } = { checksApart: true },
  ) {}

  reset(): void {
    Object.assign(this.meter, emptyDynamoMeter());
  }

  /** Bytes of every agent item: what a scan reads, and what is stored. */
  get tableBytes(): number {
    let total = 0;
    for (const bytes of this.#bytes.values()) total += bytes;
    return total;
  }

  get items(): number {
    return this.#bytes.size;
  }

  async get(agentId: string): Promise<StoredAgent | undefined> {
    this.meter.getItem++;
    this.meter.readUnits += readUnits(this.#bytes.get(agentId) ?? 0) + this.#checksReadUnits(agentId);
    const stored = await this.inner.get(agentId);
    // As the adapter reads them off the item: this store saw every write, so its last is the item's.
    const last = this.#known.get(agentId);
    if (stored !== undefined && last !== undefined)
      this.#known.set(agentId, { ...last, version: stored.version });
    return stored;
  }

  async create(record: AgentRecord): Promise<StoredAgent> {
    const stored = await this.#conditional(record.agentId, () => this.inner.create(record));
    this.#written(record, stored.version, undefined, { sameRun: 0 });
    return stored;
  }

  async replace(record: AgentRecord, expectedVersion: string): Promise<StoredAgent> {
    const before = (await this.inner.get(record.agentId))?.record;
    // The adapter's rule for the checks: apart (written first if need be), or inline.
    const plan = this.options.checksApart
      ? planChecks(record, this.#known.get(record.agentId), expectedVersion, this.clock.now())
      : { sameRun: 0 };
    let written: { apart?: { digest: string; expiresAtSeconds: number }; sameRun: number } = {
      sameRun: plan.sameRun,
    };
    if (plan.apart !== undefined) {
      let expiresAtSeconds = plan.apart.expiresAtSeconds;
      if (plan.apart.put || expiresAtSeconds === undefined) {
        expiresAtSeconds = checksExpiry(this.clock.now());
        const bytes = dynamoItemBytes({
          id: `${record.agentId}#${plan.apart.digest}`,
          checks: record.checks,
          [CHECKS_TTL_ATTRIBUTE]: expiresAtSeconds,
        });
        this.meter.putItem++;
        this.meter.checksWrites++;
        this.meter.checksWriteUnits += writeUnits(bytes);
        this.meter.checksBytes += bytes;
        this.#bill(writeUnits(bytes), 0);
        this.#checksBytes.set(record.agentId, bytes);
      }
      written = { sameRun: plan.sameRun, apart: { digest: plan.apart.digest, expiresAtSeconds } };
    }
    const stored = await this.#conditional(record.agentId, () => this.inner.replace(record, expectedVersion));
    this.#written(record, stored.version, before, written);
    return stored;
  }

  #checksReadUnits(agentId: string): number {
    const apart = this.#known.get(agentId)?.expiresAtSeconds !== undefined;
    return apart ? readUnits(this.#checksBytes.get(agentId) ?? 0) : 0;
  }

  /** A conditional write whose condition fails is billed as a write of the stored item. */
  async #conditional(agentId: string, write: () => Promise<StoredAgent>): Promise<StoredAgent> {
    try {
      return await write();
    } catch (error) {
      this.meter.putItem++;
      this.#bill(writeUnits(this.#bytes.get(agentId) ?? 0), 0);
      throw error;
    }
  }

  async deleteAgent(agentId: string, expectedVersion: string): Promise<void> {
    await this.inner.deleteAgent(agentId, expectedVersion);
    this.meter.deleteItem++;
    this.#bill(writeUnits(this.#bytes.get(agentId) ?? 0), 1);
    this.#bytes.delete(agentId);
    this.#known.delete(agentId);
  }

  async listByState(state: AgentState, page: { limit: number; cursor: string | null }): Promise<AgentPage> {
    const result = await this.inner.listByState(state, page);
    // The adapter queries the index's 16 shards of the state (keys only, eventually consistent,
    // half a unit each at these sizes), then reads the records with a consistent BatchGet.
    this.meter.query += 16;
    this.meter.readUnits += 16 * 0.5;
    this.meter.fixedReadUnits += 16 * 0.5;
    for (const record of result.items) {
      this.meter.readUnits +=
        readUnits(this.#bytes.get(record.agentId) ?? 0) + this.#checksReadUnits(record.agentId);
    }
    return result;
  }

  async listOpen(page: { limit: number; cursor: string | null }): Promise<AgentPage> {
    const result = await this.inner.listOpen(page);
    if (page.cursor === null) {
      // A pass scans the whole table: every item, read eventually consistent, per 4 KB.
      this.meter.scan += Math.max(1, Math.ceil(this.#bytes.size / page.limit));
      this.meter.readUnits += readUnits(this.tableBytes, false);
    }
    // The checks of the open agents that keep them apart, read with a consistent BatchGet.
    for (const record of result.items) this.meter.readUnits += this.#checksReadUnits(record.agentId);
    return result;
  }

  async loadCheckpoint(name: string): Promise<string | null> {
    this.meter.getItem++;
    this.meter.readUnits += 1;
    this.meter.fixedReadUnits += 1;
    return this.inner.loadCheckpoint(name);
  }

  async saveCheckpoint(name: string, value: string | null): Promise<void> {
    this.meter.putItem++;
    this.meter.fixedWriteUnits += 1;
    this.#bill(1, 0);
    await this.inner.saveCheckpoint(name, value);
  }

  async addPulse(bucketStart: number, count: number): Promise<void> {
    const { hourStart, field } = pulseSlot(bucketStart);
    const fields = this.#pulseHours.get(hourStart) ?? {};
    const before = pulseItemBytes(hourStart, fields);
    fields[field] = (fields[field] ?? 0) + count;
    this.#pulseHours.set(hourStart, fields);
    const units = writeUnits(pulseItemBytes(hourStart, fields), before);
    this.meter.updateItem++;
    this.meter.pulseUpdates++;
    this.meter.pulseWriteUnits += units;
    this.#bill(units, 0);
    await this.inner.addPulse(bucketStart, count);
  }

  async readPulse(from: number, to: number): Promise<Map<number, number>> {
    // One eventually consistent GetItem per hour covered.
    for (let hour = from - (from % 3_600_000); hour < to; hour += 3_600_000) {
      this.meter.getItem++;
      this.meter.readUnits += readUnits(pulseItemBytes(hour, this.#pulseHours.get(hour) ?? {}), false);
    }
    return this.inner.readPulse(from, to);
  }

  async countMassExpiry(minuteStart: number): Promise<void> {
    this.meter.updateItem++;
    this.#bill(1, 0);
    await this.inner.countMassExpiry(minuteStart);
  }

  async readMassExpiries(from: number, to: number): Promise<Map<number, MassMinute>> {
    this.meter.getItem++;
    this.meter.readUnits += 0.5;
    return this.inner.readMassExpiries(from, to);
  }

  async claimMassSummary(minuteStart: number): Promise<boolean> {
    this.meter.updateItem++;
    this.#bill(1, 0);
    return this.inner.claimMassSummary(minuteStart);
  }

  async readWindows(): Promise<StoredWindows> {
    const stored = await this.inner.readWindows();
    this.meter.getItem++;
    this.meter.readUnits += readUnits(windowsItemBytes(stored.windows));
    return stored;
  }

  async writeWindows(windows: readonly MaintenanceWindow[], expectedVersion: string | null): Promise<void> {
    this.meter.putItem++;
    this.#bill(writeUnits(windowsItemBytes(windows)), 0);
    await this.inner.writeWindows(windows, expectedVersion);
  }

  #written(
    record: AgentRecord,
    version: string,
    before: AgentRecord | undefined,
    written: { apart?: { digest: string; expiresAtSeconds: number }; sameRun: number },
  ): void {
    const bytes = dynamoItemBytes(agentItem(record, Number(version), written));
    this.#known.set(
      record.agentId,
      knownChecks(version, record, {
        expiresAtSeconds: written.apart?.expiresAtSeconds,
        sameRun: written.sameRun,
      }),
    );
    const units = writeUnits(bytes, this.#bytes.get(record.agentId) ?? 0);
    // The keys-only index: an entry put on create, and moved (delete + put) on a change of state.
    const indexWrites = before === undefined ? 1 : before.state === record.state ? 0 : 2;
    this.meter.putItem++;
    this.meter.recordWrites++;
    this.meter.recordWriteUnits += units;
    this.#bill(units, indexWrites);
    this.#bytes.set(record.agentId, bytes);
  }

  #bill(units: number, indexWrites: number): void {
    this.meter.writeUnits += units + indexWrites;
    this.meter.indexWriteUnits += indexWrites;
  }
}

function pulseItemBytes(hourStart: number, fields: Record<string, number>): number {
  return dynamoItemBytes({ agentId: `#pulse#${hourStart}`, ...fields, expiresAtSeconds: 1_800_000_000 });
}

function windowsItemBytes(windows: readonly MaintenanceWindow[]): number {
  return windows.length === 0 ? 0 : dynamoItemBytes({ agentId: '#maintenance#windows', windows, version: 1 });
}
