import { readEventsConfig, readPersistence, readReapAfterMs, readSchedulerConfig } from '../config.js';
import { makeReconcileHandler } from '../handlers/reconcile.js';
import { composeCore, lazyHandler } from './aws.js';

const persistence = readPersistence(process.env);
readEventsConfig(process.env);
readSchedulerConfig(process.env); // fail the cold start on a bad setting

/**
 * EventBridge Scheduler's at() fires within a minute of its time: a fire time more than that in
 * the past is a lost timer. Undelivered events older than five minutes have outlived the expiry
 * function (30 s) and Lambda's two retries of it (1 and 2 minutes later), so normally no one
 * else is delivering them. A retry held back longer (a throttled function: up to the hour of its
 * maximum event age) may deliver one again: a duplicate line, never a lost one.
 */
const settings = {
  precisionMs: 60_000,
  reportGraceMs: 5 * 60_000,
  fallbackMs: 60_000,
  reapAfterMs: readReapAfterMs(process.env),
};

/** Invoked by a rate schedule (every `reconcileMinutes`, default 5): one reconciler run. */
export const handler = lazyHandler(async () => {
  const core = await composeCore(persistence, process.env);
  return makeReconcileHandler({ core, settings, deleter: core.deleter });
});
