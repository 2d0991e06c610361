import { MetricUnit, Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import type { MetricName, Metrics } from '../core/ports.js';

/**
 * Metrics as CloudWatch Embedded Metric Format log lines: no API calls, no agent, no timers.
 * The composition code says which namespace and service (from the function's environment).
 */
export function createEmfMetrics(options: { namespace: string; serviceName: string }): Metrics & {
  flush(): void;
} {
  const metrics = new PowertoolsMetrics(options);
  let stored = 0;
  return {
    count(name: MetricName, value = 1) {
      if (value === 0) return;
      metrics.addMetric(name, MetricUnit.Count, value);
      stored++;
    },
    /** Publishes what this invocation counted; called once per invocation, after the handler. */
    flush() {
      if (stored === 0) return;
      stored = 0;
      metrics.publishStoredMetrics();
    },
  };
}
