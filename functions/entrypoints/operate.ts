import { readEventsConfig, readPersistence } from '../config.js';
import { makeOperateHandler } from '../handlers/operate.js';
import { requireIamCaller } from '../http/auth.js';
import { composeCore, lazyHttpHandler } from './aws.js';

const persistence = readPersistence(process.env);
readEventsConfig(process.env); // fail the cold start, not the first request, on a missing bus

// The operator routes: IAM-authorized by API Gateway (cdk/api.ts); no agent token reaches here.
export const handler = lazyHttpHandler(async () => {
  const core = await composeCore(persistence, process.env);
  return makeOperateHandler({ core, maintenance: core.maintenance, authenticate: requireIamCaller });
});
