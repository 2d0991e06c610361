import type { Metrics } from '../core/ports.js';

/** For the local runner and tests: counts nothing (locally the log lines say it all). */
export const noMetrics: Metrics = { count: () => undefined };
