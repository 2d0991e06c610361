import { readTokens } from '../config.js';
import { makeReadHandler } from '../handlers/read.js';
import { makeBearerAuth } from '../http/auth.js';
import { composeStore, log } from './aws.js';

export const handler = makeReadHandler({
  store: composeStore(process.env),
  authenticate: makeBearerAuth(readTokens(process.env)),
  log,
});
