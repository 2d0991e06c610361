import { readEventsConfig, readPersistence, readSchedulerConfig } from '../config.js';
import { makeExpiryHandler } from '../handlers/expiry.js';
import { composeCore, lazyHandler } from './aws.js';

const persistence = readPersistence(process.env);
readEventsConfig(process.env);
readSchedulerConfig(process.env); // fail the cold start, not the first firing, on a bad setting

export const handler = lazyHandler(async () =>
  makeExpiryHandler({ core: await composeCore(persistence, process.env) }),
);
