import { readPolicy, readTokens } from '../config.js';
import { makeIngestHandler } from '../handlers/ingest.js';
import { makeBearerAuth } from '../http/auth.js';
import { composeCore, log } from './aws.js';

export const handler = makeIngestHandler({
  core: composeCore(process.env),
  policy: readPolicy(process.env),
  authenticate: makeBearerAuth(readTokens(process.env)),
  log,
});
