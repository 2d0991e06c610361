/**
 * What the calculator cannot measure on this machine and so assumes, each with its reason. The
 * call counts are measured (capacity/simulate.ts); these turn them into Lambda time and log
 * volume. Change one here and every figure follows.
 */
export const ASSUMPTIONS = {
  /** Lambda memory of every function (cdk/heartbeat-function.ts FUNCTION_DEFAULTS; a test checks it). */
  lambdaMemoryGb: 0.5,
  /**
   * Latency of one call from a function in the same region, in ms, for billed duration: typical
   * single-digit-ms DynamoDB point reads and writes, tens of ms for control-plane style APIs.
   */
  latencyMs: {
    dynamodb: 6,
    scheduler: 25,
    putEvents: 20,
    putMetricData: 15,
    stepFunctions: 20,
  },
  /** Our own CPU per invocation at 512 MB (the bench's warm path is ~0.1 ms at full speed). */
  handlerCpuMs: 3,
  /** A reconciler run: a scan page (1 MB) takes about this long, plus this much per agent checked. */
  reconcilePageMs: 80,
  reconcilePerAgentMs: 0.05,
  logBytes: {
    /** Fields Powertools adds to each of our lines (timestamp, service, function name and ARN, request ids, ...). */
    perLineOverhead: 320,
    /** Lambda's START, END and REPORT lines for every invocation. */
    platformPerInvocation: 350,
    /** One Embedded Metric Format line per invocation that counted a metric (all of them do). */
    metricsPerInvocation: 350,
  },
  /** The stack's fixed CloudWatch bill: its alarms, and the custom metrics its functions emit. */
  stackAlarms: 13,
  stackCustomMetrics: 30,
  /** Seconds in a month, as AWS prices by (730 hours). */
  secondsPerMonth: 730 * 3600,
  /** A quota increase is asked for with this much room above the peak. */
  quotaMargin: 1.25,
  /** Step Functions: state transitions of an agent's execution being started, and timing out into "expired". */
  stepFunctionsTransitionsPerStart: 3,
  stepFunctionsTransitionsPerExpiry: 2,
} as const;
