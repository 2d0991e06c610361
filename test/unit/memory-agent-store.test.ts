import { describe, expect, it } from 'vitest';
import { MemoryAgentStore } from '../../functions/adapters/memory/agent-store.js';
import { BackendUnavailableError, VersionConflictError } from '../../functions/core/errors.js';
import { makeAgentRecord } from '../support/records.js';
import {
  describeAgentStoreContract,
  describeCheckpointContract,
  describeListByStateContract,
  describeListOpenContract,
} from '../support/store-contract.js';
import { describePulseContract } from '../support/pulse-contract.js';
import { describeMaintenanceContract } from '../support/maintenance-contract.js';

describeAgentStoreContract('MemoryAgentStore', async () => ({ store: new MemoryAgentStore() }));
describeListByStateContract('MemoryAgentStore', async () => ({ store: new MemoryAgentStore() }));
describeListOpenContract('MemoryAgentStore', async () => ({ store: new MemoryAgentStore() }));
describeCheckpointContract('MemoryAgentStore', async () => ({ store: new MemoryAgentStore() }));
describePulseContract('MemoryAgentStore', async () => ({ store: new MemoryAgentStore(), lists: true }));
describeMaintenanceContract('MemoryAgentStore', async () => ({ store: new MemoryAgentStore(), lists: true }));

describe('MemoryAgentStore fault injection', () => {
  const down = () => new BackendUnavailableError('store', 'injected');

  it('fails the next call of the chosen operation once, then behaves normally', async () => {
    const store = new MemoryAgentStore();
    const record = makeAgentRecord();
    store.failNext('create', down());

    await expect(store.create(record)).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(store.get(record.agentId)).resolves.toBeUndefined();
    await expect(store.create(record)).resolves.toMatchObject({ record });
  });

  it('leaves other operations alone', async () => {
    const store = new MemoryAgentStore();
    const created = await store.create(makeAgentRecord());
    store.failNext('replace', down());

    await expect(store.get(created.record.agentId)).resolves.toStrictEqual(created);
  });

  it('uses queued faults one per call, in order', async () => {
    const store = new MemoryAgentStore();
    const first = new Error('first');
    const second = new Error('second');
    store.failNext('get', first);
    store.failNext('get', second);

    await expect(store.get('srv-0001')).rejects.toBe(first);
    await expect(store.get('srv-0001')).rejects.toBe(second);
    await expect(store.get('srv-0001')).resolves.toBeUndefined();
  });

  it('can fail a replace after applying it, as a write whose response was lost', async () => {
    const store = new MemoryAgentStore();
    const created = await store.create(makeAgentRecord({ seq: 1 }));
    const next = makeAgentRecord({ seq: 2 });
    store.failNext('replace', down(), 'after');

    await expect(store.replace(next, created.version)).rejects.toBeInstanceOf(BackendUnavailableError);

    const stored = await store.get(next.agentId);
    expect(stored?.record).toStrictEqual(next);
    expect(stored?.version).not.toBe(created.version);
  });

  it('fails listByState when told to', async () => {
    const store = new MemoryAgentStore();
    await store.create(makeAgentRecord());
    store.failNext('listByState', down());

    await expect(store.listByState('alive', { limit: 10, cursor: null })).rejects.toBeInstanceOf(
      BackendUnavailableError,
    );
  });
});

describe('MemoryAgentStore versions', () => {
  it('rejects a version it could never have issued as a caller bug, not a conflict', async () => {
    const store = new MemoryAgentStore();
    const created = await store.create(makeAgentRecord({ seq: 1 }));

    await expect(store.replace(makeAgentRecord({ seq: 2 }), 'not-a-version')).rejects.toBeInstanceOf(
      TypeError,
    );
    await expect(store.get(created.record.agentId)).resolves.toStrictEqual(created);
  });

  it('never reissues a version, even across agents', async () => {
    const store = new MemoryAgentStore();
    const a = await store.create(makeAgentRecord({ agentId: 'srv-a' }));
    const b = await store.create(makeAgentRecord({ agentId: 'srv-b' }));

    await expect(
      store.replace(makeAgentRecord({ agentId: 'srv-b', seq: 2 }), a.version),
    ).rejects.toBeInstanceOf(VersionConflictError);
    expect(a.version).not.toBe(b.version);
  });
});
