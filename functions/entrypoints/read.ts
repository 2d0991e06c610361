import { systemClock } from '../adapters/system-clock.js';
import { readPersistence, readTokens } from '../config.js';
import { makeReadHandler } from '../handlers/read.js';
import { makeBearerAuth } from '../http/auth.js';
import { composeStore, lazyHttpHandler, log, tokenSource } from './aws.js';

const persistence = readPersistence(process.env);
const tokens = readTokens(process.env);

export const handler = lazyHttpHandler(async () =>
  makeReadHandler({
    store: await composeStore(persistence),
    authenticate: makeBearerAuth(tokenSource(tokens)),
    log,
    clock: systemClock,
  }),
);
