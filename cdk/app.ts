/**
 * The CDK app, as `cdk.json` runs it (`npx tsx cdk/app.ts`). Context keys and their defaults are
 * in `cdk/config.ts`; `npm run synth` synthesizes offline into `cdk.out/`.
 */
import { createHeartbeatApp } from './heartbeat-app.js';

createHeartbeatApp().app.synth();
