import { systemClock } from '../adapters/system-clock.js';
import { readPersistence } from '../config.js';
import { makeReadHandler } from '../handlers/read.js';
import { requireIamCaller } from '../http/auth.js';
import { composeStore, lazyHttpHandler, log } from './aws.js';

const persistence = readPersistence(process.env);

// The read routes are IAM-authorized by API Gateway (cdk/api.ts): operators sign with SigV4; an
// agent's bearer token is refused (403) before this function runs.
export const handler = lazyHttpHandler(async () => {
  const store = await composeStore(persistence);
  return makeReadHandler({
    store,
    maintenance: store,
    authenticate: requireIamCaller,
    log,
    clock: systemClock,
  });
});
