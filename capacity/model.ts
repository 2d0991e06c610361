import { CHECKS_RETENTION_MS } from '../functions/adapters/dynamodb/checks-table.js';
import { ASSUMPTIONS } from './assumptions.js';
import { PRICE_TABLE, type Sourced } from './prices.js';
import type { Measurement, PeakSeries } from './simulate.js';

/** The designs a user might pick, priced the same way from the same simulated fleet. */
export const DESIGNS = {
  coalesced: 'this service: one schedule per agent, coalesced arming',
  'per-heartbeat': 'one UpdateSchedule per heartbeat (no coalescing)',
  'cloudwatch-alarm': 'a CloudWatch alarm per agent (PutMetricData per heartbeat, missing data breaching)',
  'step-functions': 'a Step Functions execution per agent (a task with HeartbeatSeconds)',
} as const;
export type Design = keyof typeof DESIGNS;

export type Regions = 'primary' | 'other';

/** One AWS service (or one of its APIs) in an estimate. */
export interface ServiceLine {
  service: string;
  what: string;
  meanPerSecond: number;
  peakPerSecond: number;
  /** The default quota the peak is held against, if one applies. */
  quota?: { name: string; value: number; unit: string };
  /** quota / peak: below 1, the quota binds. */
  headroom?: number;
  monthlyUsd: number;
}

export interface Estimate {
  design: Design;
  agents: number;
  intervalSeconds: number;
  ttlSeconds: number;
  lines: ServiceLine[];
  monthlyUsd: number;
  /** The quota with the least headroom, and what to ask for when it binds (headroom below 1). */
  tightest?: { line: ServiceLine; request?: number };
  /** Every quota the peak exceeds, tightest first, with the value to ask for. */
  binding: { line: ServiceLine; request: number }[];
}

type QuotaName = keyof typeof PRICE_TABLE.quotas;

function quota(name: QuotaName, regions: Regions): ServiceLine['quota'] {
  const other = PRICE_TABLE.otherRegionQuotas as Partial<Record<QuotaName, Sourced>>;
  const entry: Sourced = (regions === 'other' ? other[name] : undefined) ?? PRICE_TABLE.quotas[name];
  return { name, value: entry.value, unit: entry.unit };
}

const price = PRICE_TABLE.prices;
const perMillion = (count: number, entry: Sourced) => (count / 1e6) * entry.value;

/**
 * Scales a measurement of the sample fleet to `agents` and prices it for `design`. Rates that
 * grow with the fleet are the sample's per agent times `agents`; what does not (the reconciler's
 * runs, checkpoints, the fleet pulse's one write per instance per bucket) is added as it is.
 * Peaks are the sample's busiest minute, scaled alike.
 */
export function estimate(
  m: Measurement,
  agents: number,
  design: Design,
  regions: Regions = 'primary',
): Estimate {
  const { shape, counts, scheduler, dynamo } = m;
  const scale = agents / shape.agents;
  const month = ASSUMPTIONS.secondsPerMonth;
  const rate = (count: number) => (count / m.seconds) * scale;
  const peak = (series: PeakSeries, mean: number) => peakRate(mean, (m.busiestMinute[series] / 60) * scale);
  const latency = ASSUMPTIONS.latencyMs;

  const heartbeats = rate(counts.heartbeats);
  const heartbeatsPeak = peak('heartbeats', heartbeats);
  const registrations = rate(counts.registrations + counts.recoveries);
  const expiries = rate(counts.expiries);
  const reconcileRuns = counts.reconcileRuns / m.seconds;
  const lines: ServiceLine[] = [];
  const line = (entry: Omit<ServiceLine, 'headroom'>) => {
    const headroom =
      entry.quota === undefined ? undefined : entry.quota.value / Math.max(entry.peakPerSecond, 1e-9);
    lines.push({ ...entry, ...(headroom === undefined ? {} : { headroom }) });
  };

  // What every design shares: the API, the ingest function's store read and write, the events.
  line({
    service: 'API Gateway (HTTP API)',
    what: 'heartbeat requests',
    meanPerSecond: heartbeats,
    peakPerSecond: heartbeatsPeak,
    quota: quota('apiGatewayHttpAccountRps', regions),
    monthlyUsd: apiGatewayUsd(heartbeats * month),
  });

  // Per heartbeat, the ingest function's calls in this design.
  const schedulePerHeartbeat =
    design === 'coalesced'
      ? (scheduler.updateSchedule + scheduler.createSchedule) / counts.heartbeats
      : design === 'per-heartbeat'
        ? 1 + scheduler.createSchedule / counts.heartbeats
        : 0;
  const storeCallsPerHeartbeat = (dynamo.getItem + dynamo.putItem) / Math.max(1, counts.ingestInvocations);
  const eventsPerHeartbeat = counts.putEventsCalls / counts.heartbeats;
  const designCallMs =
    design === 'cloudwatch-alarm'
      ? latency.putMetricData
      : design === 'step-functions'
        ? latency.stepFunctions
        : 0;
  const ingestMs =
    ASSUMPTIONS.handlerCpuMs +
    storeCallsPerHeartbeat * latency.dynamodb +
    schedulePerHeartbeat * latency.scheduler +
    eventsPerHeartbeat * latency.putEvents +
    designCallMs;
  const usesScheduler = design === 'coalesced' || design === 'per-heartbeat';
  const expiryInvocations = usesScheduler ? rate(counts.expiryInvocations) : 0;
  const expiryMs = ASSUMPTIONS.handlerCpuMs + 3 * latency.dynamodb + latency.scheduler + latency.putEvents;
  const reconcileMs =
    ASSUMPTIONS.reconcilePageMs * Math.max(1, Math.ceil((agents * m.storedBytesPerAgent) / 1e6)) +
    ASSUMPTIONS.reconcilePerAgentMs * agents;
  const gbSeconds =
    ASSUMPTIONS.lambdaMemoryGb *
    ((heartbeats * ingestMs + expiryInvocations * expiryMs + reconcileRuns * reconcileMs) / 1000);
  const invocations = heartbeats + expiryInvocations + reconcileRuns;
  // Concurrency is rate x duration; the fleet pulse writes once per instance per bucket.
  const concurrency = (heartbeatsPeak * ingestMs) / 1000 + (expiryInvocations * expiryMs) / 1000 + 1;
  line({
    service: 'Lambda',
    what: 'invocations (concurrency against the quota)',
    meanPerSecond: invocations,
    peakPerSecond: concurrency,
    quota: quota('lambdaConcurrentExecutions', regions),
    monthlyUsd:
      perMillion(invocations * month, price.lambdaRequestsPerMillion) +
      gbSeconds * month * price.lambdaArmGbSecond.value,
  });

  const pulseWrites = dynamo.pulseUpdates === 0 ? 0 : Math.ceil(concurrency) / 10;
  const pulseUnits =
    dynamo.pulseUpdates === 0 ? 0 : pulseWrites * (dynamo.pulseWriteUnits / dynamo.pulseUpdates);
  const writeUnitsPerAgentSecond = dynamo.writeUnits - dynamo.pulseWriteUnits - dynamo.fixedWriteUnits;
  const writeUnits = rate(writeUnitsPerAgentSecond) + pulseUnits + dynamo.fixedWriteUnits / m.seconds;
  const writePeak = peak('writeUnits', writeUnits);
  line({
    service: 'DynamoDB',
    what: 'write request units',
    meanPerSecond: writeUnits,
    peakPerSecond: writePeak,
    quota: quota('dynamoOnDemandTableMaxWrite', regions),
    monthlyUsd: perMillion(writeUnits * month, price.dynamoWriteRequestUnitPerMillion),
  });
  const readUnits = rate(dynamo.readUnits - dynamo.fixedReadUnits) + dynamo.fixedReadUnits / m.seconds;
  line({
    service: 'DynamoDB',
    what: 'read request units',
    meanPerSecond: readUnits,
    peakPerSecond: readUnits * (heartbeatsPeak / heartbeats),
    quota: quota('dynamoOnDemandTableMaxRead', regions),
    monthlyUsd: perMillion(readUnits * month, price.dynamoReadRequestUnitPerMillion),
  });
  // The checks table keeps each checks item it was given for its 30 days (CHECKS_RETENTION_MS).
  const checksStoredBytes = rate(dynamo.checksBytes) * (CHECKS_RETENTION_MS / 1000);
  const storedGb = (agents * m.storedBytesPerAgent + checksStoredBytes) / 1e9;
  line({
    service: 'DynamoDB',
    what: `storage: ${gigabytes(storedGb)}`,
    meanPerSecond: 0,
    peakPerSecond: 0,
    monthlyUsd: storedGb * price.dynamoStorageGbMonth.value,
  });

  if (usesScheduler) {
    const updates = design === 'coalesced' ? rate(scheduler.updateSchedule) : heartbeats;
    const updatesPeak = design === 'coalesced' ? peak('scheduleWrites', updates) : heartbeatsPeak;
    line({
      service: 'EventBridge Scheduler',
      what: 'UpdateSchedule',
      meanPerSecond: updates,
      peakPerSecond: updatesPeak,
      quota: quota('schedulerUpdateScheduleTps', regions),
      monthlyUsd: 0,
    });
    const creates = rate(scheduler.createSchedule);
    line({
      service: 'EventBridge Scheduler',
      what: 'CreateSchedule',
      meanPerSecond: creates,
      peakPerSecond: creates,
      quota: quota('schedulerCreateScheduleTps', regions),
      monthlyUsd: 0,
    });
    line({
      service: 'EventBridge Scheduler',
      what: 'invocations (schedules firing)',
      meanPerSecond: rate(scheduler.invocations),
      peakPerSecond: peak('invocations', rate(scheduler.invocations)),
      quota: quota('schedulerInvocationsTps', regions),
      monthlyUsd: perMillion(rate(scheduler.invocations) * month, price.schedulerInvocationsPerMillion),
    });
  }
  if (design === 'cloudwatch-alarm') {
    line({
      service: 'CloudWatch',
      what: 'PutMetricData (one per heartbeat)',
      meanPerSecond: heartbeats,
      peakPerSecond: heartbeatsPeak,
      quota: quota('cloudWatchPutMetricDataTps', regions),
      monthlyUsd: ((heartbeats * month) / 1000) * price.cloudWatchPutMetricDataPer1000Requests.value,
    });
    line({
      service: 'CloudWatch',
      what: 'alarms and metrics (one each per agent)',
      meanPerSecond: 0,
      peakPerSecond: 0,
      monthlyUsd: agents * price.cloudWatchStandardAlarmMonth.value + customMetricsUsd(agents),
    });
  }
  if (design === 'step-functions') {
    line({
      service: 'Step Functions',
      what: 'SendTaskHeartbeat (one per heartbeat)',
      meanPerSecond: heartbeats,
      peakPerSecond: heartbeatsPeak,
      quota: quota('stepFunctionsSendTaskHeartbeatTps', regions),
      monthlyUsd: 0,
    });
    line({
      service: 'Step Functions',
      what: 'StartExecution (registrations, recoveries)',
      meanPerSecond: registrations,
      peakPerSecond: registrations,
      quota: quota('stepFunctionsStartExecutionTps', regions),
      monthlyUsd:
        (((registrations * ASSUMPTIONS.stepFunctionsTransitionsPerStart +
          expiries * ASSUMPTIONS.stepFunctionsTransitionsPerExpiry) *
          month) /
          1000) *
        price.stepFunctionsStandardPer1000Transitions.value,
    });
    // Not a rate: the open executions, one per agent, against their count quota.
    line({
      service: 'Step Functions',
      what: 'open executions (one per agent; a count, not a rate)',
      meanPerSecond: agents,
      peakPerSecond: agents,
      quota: quota('stepFunctionsOpenExecutions', regions),
      monthlyUsd: 0,
    });
  }

  const putEvents = rate(counts.putEventsCalls);
  line({
    service: 'EventBridge',
    what: 'PutEvents (transitions)',
    meanPerSecond: putEvents,
    peakPerSecond: peak('putEvents', putEvents),
    quota: quota('eventBridgePutEventsTps', regions),
    monthlyUsd: perMillion(rate(counts.events) * month, price.eventBridgeCustomEventsPerMillion),
  });

  const bytes = ASSUMPTIONS.logBytes;
  const logBytesPerSecond =
    rate(counts.logBytes + counts.logLines * bytes.perLineOverhead) +
    invocations * (bytes.platformPerInvocation + bytes.metricsPerInvocation);
  const logGb = (logBytesPerSecond * month) / 1e9;
  line({
    service: 'CloudWatch Logs',
    what: `ingestion: ${gigabytes(logGb)} a month`,
    meanPerSecond: 0,
    peakPerSecond: 0,
    monthlyUsd: logGb * price.cloudWatchLogsIngestionGb.value,
  });
  line({
    service: 'CloudWatch',
    what: "the stack's alarms and metrics",
    meanPerSecond: 0,
    peakPerSecond: 0,
    monthlyUsd:
      ASSUMPTIONS.stackAlarms * price.cloudWatchStandardAlarmMonth.value +
      customMetricsUsd(ASSUMPTIONS.stackCustomMetrics),
  });

  const monthlyUsd = lines.reduce((sum, l) => sum + l.monthlyUsd, 0);
  const limited = lines
    .filter((l) => l.headroom !== undefined)
    .sort((a, b) => (a.headroom ?? 0) - (b.headroom ?? 0));
  const request = (l: ServiceLine) => roundUp(l.peakPerSecond * ASSUMPTIONS.quotaMargin);
  const binding = limited
    .filter((l) => (l.headroom ?? Infinity) < 1)
    .map((l) => ({ line: l, request: request(l) }));
  const bound = limited[0];
  return {
    design,
    agents,
    intervalSeconds: shape.intervalSeconds,
    ttlSeconds: shape.ttlSeconds,
    lines,
    monthlyUsd,
    binding,
    ...(bound === undefined
      ? {}
      : {
          tightest: { line: bound, ...((bound.headroom ?? Infinity) < 1 ? { request: request(bound) } : {}) },
        }),
  };
}

/**
 * A peak rate: the sample's busiest minute scaled up, which keeps the fleet's own bunching (the
 * heartbeats' phases, coalescing's every-other write), but no more than a Poisson bound on the
 * fleet's minute (four standard deviations): a sample's few rare events (an expiry, an event)
 * in one minute, multiplied by the scale, would otherwise claim a burst the fleet does not make.
 */
export function peakRate(mean: number, scaledBusiest: number): number {
  const perMinute = mean * 60;
  const bound = (perMinute + 4 * Math.sqrt(perMinute)) / 60;
  return Math.max(mean, Math.min(scaledBusiest, bound));
}

/** HTTP API requests: the first 300 M a month at the table's price, the rest 10 % less (see prices.ts). */
export function apiGatewayUsd(requestsPerMonth: number): number {
  const first = Math.min(requestsPerMonth, 300e6);
  return (first / 1e6) * price.apiGatewayHttpPerMillion.value + ((requestsPerMonth - first) / 1e6) * 0.9;
}

/** CloudWatch custom metrics are priced in tiers (see prices.ts's note); the first tier from the table. */
export function customMetricsUsd(metrics: number): number {
  const tiers: [number, number][] = [
    [10_000, price.cloudWatchCustomMetricMonth.value],
    [240_000, 0.1],
    [750_000, 0.05],
    [Number.POSITIVE_INFINITY, 0.02],
  ];
  let left = metrics;
  let usd = 0;
  for (const [size, each] of tiers) {
    const inTier = Math.min(left, size);
    usd += inTier * each;
    left -= inTier;
    if (left <= 0) break;
  }
  return usd;
}

function gigabytes(gb: number): string {
  return gb >= 10 ? `${Math.round(gb).toLocaleString('en-US')} GB` : `${gb.toPrecision(2)} GB`;
}

/** Two significant digits, up: a quota to ask for. */
export function roundUp(value: number): number {
  if (value <= 0) return 0;
  const magnitude = 10 ** (Math.floor(Math.log10(value)) - 1);
  return Math.ceil(value / magnitude) * magnitude;
}
