import { readPersistence } from '../config.js';
import { makeOperateHandler } from '../handlers/operate.js';
import { requireIamCaller } from '../http/auth.js';
import { composeCore, lazyHttpHandler } from './aws.js';

const persistence = readPersistence(process.env);

// The operator routes: IAM-authorized by API Gateway (cdk/api.ts); no agent token reaches here.
export const handler = lazyHttpHandler(async () =>
  makeOperateHandler({ core: await composeCore(persistence, process.env), authenticate: requireIamCaller }),
);
