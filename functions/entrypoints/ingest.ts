import { readPersistence, readPolicy, readTokens } from '../config.js';
import { makeIngestHandler } from '../handlers/ingest.js';
import { makeBearerAuth } from '../http/auth.js';
import { composeCore, lazyHttpHandler, tokenSource } from './aws.js';

const persistence = readPersistence(process.env);
const policy = readPolicy(process.env);
const tokens = readTokens(process.env);

export const handler = lazyHttpHandler(async () =>
  makeIngestHandler({
    core: await composeCore(persistence, process.env),
    policy,
    authenticate: makeBearerAuth(tokenSource(tokens)),
  }),
);
