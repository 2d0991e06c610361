import {
  readAgentAuth,
  readEventsConfig,
  readPersistence,
  readPolicy,
  readPulseConfig,
  readTokens,
} from '../config.js';
import { PulseRecorder } from '../core/pulse.js';
import { makeIngestHandler } from '../handlers/ingest.js';
import { makeBearerAuth, makePerAgentAuth } from '../http/auth.js';
import { composeCore, lazyHttpHandler, tokenSource } from './aws.js';

const persistence = readPersistence(process.env);
const policy = readPolicy(process.env);
const tokens = readTokens(process.env);
const pulse = readPulseConfig(process.env);
readEventsConfig(process.env); // fail the cold start on a missing bus
// Per-agent: the secret's current and previous values are the keys agents' tokens derive from.
const authenticate =
  readAgentAuth(process.env) === 'per-agent'
    ? makePerAgentAuth(tokenSource(tokens))
    : makeBearerAuth(tokenSource(tokens));

export const handler = lazyHttpHandler(async () => {
  const core = await composeCore(persistence, process.env);
  return makeIngestHandler({
    core,
    policy,
    authenticate,
    // One per execution environment: it flushes each bucket's count once (core/pulse.ts).
    pulse: new PulseRecorder({
      store: core.pulseStore,
      bucketMs: pulse.bucketMs,
      log: core.log,
      metrics: core.metrics,
    }),
  });
});
