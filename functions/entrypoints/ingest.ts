import { makeIngestHandler } from '../handlers/ingest.js';
import { makeBearerAuth } from '../http/auth.js';
import { composeAws, log } from './aws.js';

const { config, core } = composeAws(process.env);

export const handler = makeIngestHandler({
  core,
  policy: config.policy,
  authenticate: makeBearerAuth(config.tokens),
  log,
});
