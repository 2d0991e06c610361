import type { TestProject } from 'vitest/node';
import { type CouchbaseMockBucket, startCouchbaseMock } from './couchbase-mock.js';
import { startMoto } from './moto.js';

declare module 'vitest' {
  export interface ProvidedContext {
    motoEndpoint: string;
    /** CouchbaseMock's default bucket; test files add buckets of their own with createMockBucket. */
    couchbaseMock: CouchbaseMockBucket;
  }
}

type Stop = () => Promise<void>;

// One entry per server the tests need: start it, provide its address, return how to stop it.
// Tests read the address with `inject('<key>')`.
const servers: Array<(project: TestProject) => Promise<Stop>> = [
  async (project) => {
    const moto = await startMoto();
    project.provide('motoEndpoint', moto.endpoint);
    return moto.stop;
  },
  async (project) => {
    const { stop, ...bucket } = await startCouchbaseMock();
    project.provide('couchbaseMock', bucket);
    return stop;
  },
];

/** Starts every server in parallel; if any fails, stops the others and fails the run loudly. */
export default async function setup(project: TestProject): Promise<Stop> {
  const results = await Promise.allSettled(servers.map((start) => start(project)));
  const stops = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const teardown: Stop = async () => {
    await Promise.allSettled(stops.map((stop) => stop()));
  };
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length > 0) {
    await teardown();
    throw new AggregateError(failures, `test servers failed to start:\n${failures.map(String).join('\n')}`);
  }
  return teardown;
}
