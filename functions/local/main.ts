import { type LocalStoreConfig, readLocalConfig } from './config.js';
import { systemClock } from '../adapters/system-clock.js';
import { createJsonLinesLog } from '../observability/logger.js';
import { startLocalApp } from './app.js';

// `npm start`: the whole pipeline on this machine. Configuration is read once; a bad value stops here.
const config = readLocalConfig(process.env);
const log = createJsonLinesLog({
  serviceName: 'heartbeat',
  clock: systemClock,
  level: process.env.POWERTOOLS_LOG_LEVEL,
});
const app = await startLocalApp({ ...config, log });

log.info('heartbeat service listening', {
  url: app.url,
  store: describeStore(config.store),
  token: config.tokenIsDefault ? config.token : '(from HEARTBEAT_TOKEN)',
  tokenIsDevDefault: config.tokenIsDefault,
  operatorToken: config.operatorTokenIsDefault ? config.operatorToken : '(from OPERATOR_TOKEN)',
  ttlSeconds: config.policy.defaultTtlSeconds,
  intervalSeconds: config.policy.defaultIntervalSeconds,
  minTtlSeconds: config.policy.minTtlSeconds,
  reconcileIntervalSeconds: config.reconcileIntervalSeconds,
  eventsWebhook: config.eventsWebhookUrl ?? null,
  pulseBucketSeconds: config.pulseBucketSeconds,
  schedules: app.scheduler.size,
});

let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (closing) return;
    closing = true;
    log.info('shutting down', { signal });
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error('shutdown failed', { error });
        process.exit(1);
      },
    );
  });
}

function describeStore(store: LocalStoreConfig): string {
  if (store.kind === 'dynalite') return `dynalite in ${store.dataDir}`;
  if (store.kind === 'dynamodb') return `DynamoDB-compatible server at ${store.endpoint}`;
  return `couchbase ${store.settings.connectionString} bucket ${store.settings.bucket}`;
}
