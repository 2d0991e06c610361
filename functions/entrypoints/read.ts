import { makeReadHandler } from '../handlers/read.js';
import { makeBearerAuth } from '../http/auth.js';
import { composeAws, log } from './aws.js';

const { config, core } = composeAws(process.env);

export const handler = makeReadHandler({
  store: core.store,
  authenticate: makeBearerAuth(config.tokens),
  log,
});
