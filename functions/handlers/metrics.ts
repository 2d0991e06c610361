/** The service's own metrics (CloudWatch EMF in AWS); the dashboard and alarms use these names. */
export type MetricName =
  | 'Heartbeats'
  | 'AgentsExpired'
  | 'AgentsRecovered'
  | 'ScheduleWrites'
  | 'SchedulerThrottles'
  | 'ExpiryInvocations';

export interface Metrics {
  count(name: MetricName, value?: number): void;
}

export const noMetrics: Metrics = { count: () => undefined };
