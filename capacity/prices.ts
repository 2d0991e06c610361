/**
 * AWS list prices and default service quotas for the capacity and cost calculator.
 *
 * What it is for: the calculator turns a heartbeat workload (agents, heartbeat interval, checks,
 * alarms) into monthly request counts and peak request rates; this table turns those into dollars
 * and into "which default quota binds first".
 *
 * Conventions:
 * - Region us-east-1 unless a note says otherwise. Prices are USD list prices BEFORE any free tier
 *   and before Savings Plans or other discounts. Where a monthly free tier exists it is stated in
 *   the entry's note, never subtracted from `value`.
 * - Quotas are the account's DEFAULT values per Region; almost all are adjustable through Service
 *   Quotas, and new accounts may start lower (noted where a source says so). Rate quotas are per
 *   second. For token-bucket quotas `value` is the sustained refill rate and a separate `...Burst`
 *   entry holds the bucket size.
 * - `otherRegionQuotas` holds the value for "each of the other supported Regions", i.e. the lowest
 *   default tier a service documents, which is what `--regions other` should assume. Where a
 *   service has intermediate tiers (EventBridge PutEvents has five) the note says so.
 * - `source` is the page the figure was read from (or the page that should hold it, when the stored
 *   copy could not be read; the note then says so). `note` records inference, disagreement between
 *   sources, and figures taken from general knowledge.
 *
 * How to update: re-read each `source` (for prices the AWS Price List API is authoritative:
 * https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/<ServiceCode>/current/us-east-1/index.json;
 * for quotas, the Service Quotas console or `aws service-quotas list-aws-default-service-quotas`),
 * change the values and notes, and set `asOf` to the day you read them. Change figures and date
 * together, never one without the other.
 */

/** One figure and where it comes from. */
export interface Sourced {
  value: number;
  unit: string;
  source: string;
  note?: string;
}

export const PRICE_TABLE = {
  /** When these figures were read; update the table and this date together. */
  asOf: '2026-12-03',
  region: 'us-east-1',
  prices: {
    lambdaRequestsPerMillion: {
      value: 0.2,
      unit: 'USD per 1M requests',
      source: 'https://aws.amazon.com/lambda/pricing/',
      note:
        'Same for x86 and arm64. The stored copy of the AWS page renders rates client-side; $0.20/M was read from a ' +
        'transcription of that page (https://raw.githubusercontent.com/api-evangelist/aws-lambda/refs/heads/main/plans/aws-lambda-plans-pricing.yml). ' +
        'Free tier (perpetual): 1M requests and 400,000 GB-s per month.',
    },
    lambdaArmGbSecond: {
      value: 0.0000133334,
      unit: 'USD per GB-second (arm64, first 7.5B GB-s/month)',
      source: 'https://cloudchipr.com/blog/aws-lambda-pricing',
      note:
        'Third-party page quoting the AWS pricing page; agrees with the artillery price table ' +
        '(https://app.unpkg.com/artillery@2.0.28/files/lib/platform/aws-lambda/prices.js, arm64 1333340e-11). Next tiers: ' +
        '$0.0000120001 (next 11.25B GB-s), lower above. x86 is $0.0000166667. Other Regions cost more, e.g. ' +
        'af-south-1 $0.00001768, eu-south-1 $0.00001561 (artillery table). Billed per 1 ms.',
    },
    apiGatewayHttpPerMillion: {
      value: 1.0,
      unit: 'USD per 1M HTTP API requests (first 300M/month)',
      source: 'https://aws.amazon.com/api-gateway/pricing/',
      note:
        'The stored AWS page shows no rate numbers (client-side rendering); $1.00/M first 300M and $0.90/M above ' +
        "were read from the page's worked example as transcribed at " +
        'https://raw.githubusercontent.com/api-evangelist/amazon-web-services/refs/heads/main/plans/amazon-web-services-plans-pricing.yml ' +
        'and agree with https://www.apigatewaycost.com/aws. Requests are metered in 512 KB increments. Free tier: ' +
        '1M HTTP API calls/month for the first 12 months only (new accounts). Data transfer out is extra.',
    },
    dynamoWriteRequestUnitPerMillion: {
      value: 0.625,
      unit: 'USD per 1M write request units (on-demand, standard table class)',
      source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
      note:
        'The stored AWS page excerpt did not show the number; $0.625 is from ' +
        'https://airbyte.com/data-engineering-resources/dynamodb-pricing. On-demand throughput prices were cut 50% ' +
        'effective 2024-11-01 (was $1.25/M WRU); global tables replicated writes cut up to 67% ' +
        '(https://www.jusdb.com/blog/dynamodb-cost-optimization-a-comprehensive-guide-by-jusdb). 1 WRU = one write of ' +
        'up to 1 KB; transactional writes cost 2 WRU per KB.',
    },
    dynamoReadRequestUnitPerMillion: {
      value: 0.125,
      unit: 'USD per 1M read request units (on-demand, standard table class)',
      source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
      note:
        'Number from https://airbyte.com/data-engineering-resources/dynamodb-pricing (after the 2024-11-01 cut; was ' +
        '$0.25/M). 1 RRU = one strongly consistent read up to 4 KB; eventually consistent = 0.5 RRU, transactional = 2.',
    },
    dynamoStorageGbMonth: {
      value: 0.25,
      unit: 'USD per GB-month (standard table class)',
      source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
      note:
        'Not shown in the stored AWS page excerpt; $0.25/GB-month seen only in an older third-party table ' +
        '(https://gist.github.com/bluejack/68dd851e8ff1c480d623fc0b09e0423b) and matches general knowledge; verify. ' +
        'First 25 GB-month free per account (perpetual). Each item carries ~100 bytes of overhead.',
    },
    schedulerInvocationsPerMillion: {
      value: 1.0,
      unit: 'USD per 1M scheduled invocations (after free tier)',
      source: 'https://aws.amazon.com/eventbridge/pricing/',
      note:
        'The stored AWS page excerpt covered only event buses. $1.00/M with 14M invocations/month free from ' +
        'https://cloudburn.io/blog/amazon-eventbridge-pricing; the 14M free tier and a regional rate ($1.25/M in ' +
        'ap-northeast-1) confirmed by the AWS Price List mirror ' +
        'https://huggingface.co/datasets/labofsahil/aws-pricing-dataset/blob/main/AWSEvents.csv. One source ' +
        '(https://www.wring.co/blog/aws-eventbridge-pricing-guide) says invocations are free: contradicted by the price ' +
        'list, ignore it. Create/Update/DeleteSchedule API calls are not charged (only invocations are billed), per ' +
        'https://awsnegotiations.com/eventbridge-scheduler-cost ("creating and storing schedules is included"); not ' +
        'confirmed on an AWS page in the stored sources. Whether retry attempts are billed as invocations: not found.',
    },
    eventBridgeCustomEventsPerMillion: {
      value: 1.0,
      unit: 'USD per 1M custom events published (PutEvents), per 64 KB chunk',
      source: 'https://aws.amazon.com/eventbridge/pricing/',
      note:
        'The AWS page states each 64 KB chunk of a payload is billed as one event; the $1.00/M rate was not visible in ' +
        'the stored excerpt and is from https://cloudburn.io/blog/amazon-eventbridge-pricing (also ' +
        'https://www.wring.co/blog/aws-eventbridge-pricing-guide). Each entry in a PutEvents batch is billed. AWS ' +
        'management events are free; cross-account delivery is billed again.',
    },
    cloudWatchLogsIngestionGb: {
      value: 0.5,
      unit: 'USD per GB ingested (Standard log class)',
      source: 'https://www.duckbillgroup.com/?p=9080',
      note:
        'Flat $0.50/GB for custom logs; since 2025-05-01 Lambda function logs are vended logs with tiered pricing whose ' +
        'first tier is still $0.50/GB in us-east-1 (cheaper only at many TB/month). Free tier: 5 GB/month of ' +
        'ingestion+storage+Insights scan (https://aws.amazon.com/cloudwatch/pricing/). Storage $0.03/GB-month. Other ' +
        'Regions cost more (e.g. $0.76/GB in ap-northeast-1).',
    },
    cloudWatchPutMetricDataPer1000Requests: {
      value: 0.01,
      unit: 'USD per 1,000 API requests (PutMetricData and most other metric APIs)',
      source: 'https://aws.amazon.com/cloudwatch/pricing/',
      note:
        'Rate not visible in the stored AWS page excerpt (client-side rendering); $0.01 per 1,000 is the figure every ' +
        'secondary source repeats. Free tier: 1M API requests/month. Metrics emitted as Embedded Metric Format log ' +
        'lines (Powertools Metrics) pay no PutMetricData request charge, only log ingestion plus the custom metric ' +
        '(https://docs.aws.amazon.com/zh_tw/wellarchitected/latest/serverless-applications-lens/logging-ingestion-and-storage.html).',
    },
    cloudWatchCustomMetricMonth: {
      value: 0.3,
      unit: 'USD per custom metric-month (first 10,000 metrics)',
      source: 'https://signoz.io/guides/cloudwatch-pricing',
      note:
        'Every unique namespace+name+dimension-values combination is one metric; prorated hourly. Lower tiers above ' +
        '10,000 metrics. Free tier: 10 metrics/month (https://aws.amazon.com/cloudwatch/pricing/).',
    },
    cloudWatchStandardAlarmMonth: {
      value: 0.1,
      unit: 'USD per standard-resolution metric alarm-month (per metric in the alarm)',
      source: 'https://aws.amazon.com/cloudwatch/pricing/',
      note:
        'Rate not visible in the stored AWS page excerpt; $0.10 from secondary sources and general knowledge, verify. ' +
        'High-resolution alarms cost $0.30. Free tier: 10 standard alarm metrics/month.',
    },
    stepFunctionsStandardPer1000Transitions: {
      value: 0.025,
      unit: 'USD per 1,000 state transitions (Standard workflows)',
      source: 'https://aws.amazon.com/step-functions/pricing/',
      note:
        'Read from the AWS page. Retries count as transitions. Free tier: 4,000 transitions/month (perpetual). Other ' +
        'Regions differ: us-west-1 $0.0279, eu-west-3 $0.0297, ap-south-1 $0.0285, sa-east-1 $0.0375.',
    },
    stepFunctionsExpressPerMillionRequests: {
      value: 1.0,
      unit: 'USD per 1M Express workflow requests (plus duration)',
      source: 'https://www.wring.co/blog/aws-step-functions-pricing-guide',
      note:
        'Third-party page; AWS page excerpt describes the model (requests + duration in 64 MB chunks, 100 ms rounding) ' +
        'without the number. Duration extra: $0.00001667 per GB-second (first tier). No free tier.',
    },
    sqsPerMillionRequests: {
      value: 0.4,
      unit: 'USD per 1M requests (standard queue, per 64 KB chunk)',
      source: 'https://cloudburn.io/blog/amazon-sqs-pricing',
      note:
        'AWS pricing page (https://aws.amazon.com/sqs/pricing/) not read in the stored sources; figure from ' +
        'third-party pages quoting it. FIFO: $0.50/M. Free tier: 1M requests/month (perpetual). Every API call ' +
        '(including empty receives) counts.',
    },
  },
  quotas: {
    apiGatewayHttpAccountRps: {
      value: 10_000,
      unit: 'requests per second, per account per Region (all HTTP, REST and WebSocket APIs together)',
      source: 'https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html',
      note: 'Adjustable (quota L-8A5B8E43). Token bucket; burst in apiGatewayHttpAccountBurst.',
    },
    apiGatewayHttpAccountBurst: {
      value: 5_000,
      unit: 'requests (token-bucket capacity)',
      source: 'https://docs.amazonaws.cn/en_us/apigateway/latest/developerguide/limits.md',
      note: 'Set by the API Gateway team from the RPS quota; cannot be requested directly.',
    },
    lambdaConcurrentExecutions: {
      value: 1_000,
      unit: 'concurrent executions per account per Region',
      source: 'https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html',
      note:
        'Read from a transcription of that page ' +
        '(https://raw.githubusercontent.com/api-evangelist/aws-lambda/refs/heads/main/rate-limits/aws-lambda-rate-limits.yml), ' +
        'which adds that new accounts may start lower. Also: each function scales by at most 1,000 execution ' +
        'environments per 10 s (lambdaFunctionScalingPer10s).',
    },
    lambdaFunctionScalingPer10s: {
      value: 1_000,
      unit: 'new execution environments per function per 10 seconds',
      source: 'https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html',
      note: 'Via the same transcription as lambdaConcurrentExecutions.',
    },
    dynamoOnDemandTableMaxWrite: {
      value: 40_000,
      unit: 'write request units per second, per on-demand table (table-level quota)',
      source: 'https://docs.amazonaws.cn/en_us/amazondynamodb/latest/developerguide/Limits.html',
      note:
        'Read in the China-partition copy of the quota page (the English page, ' +
        'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.md, was cut before the table). ' +
        'Adjustable; account-level throughput quotas (80,000) apply only to provisioned tables ' +
        '(https://repost.aws/ja/questions/QUxpWRwkR9TtenaJqCLrVY3w/understanding-rcu-limits-in-on-demand-mode-for-dynamodb). ' +
        'A NEW on-demand table starts at 4,000 WRU/s (dynamoOnDemandNewTableInitialWrite) and throttles if traffic ' +
        'more than doubles its previous peak within 30 minutes.',
    },
    dynamoOnDemandTableMaxRead: {
      value: 40_000,
      unit: 'read request units per second, per on-demand table (table-level quota)',
      source: 'https://docs.amazonaws.cn/en_us/amazondynamodb/latest/developerguide/Limits.html',
      note: 'Same page and caveats as dynamoOnDemandTableMaxWrite; new tables start at 12,000 RRU/s.',
    },
    dynamoOnDemandNewTableInitialWrite: {
      value: 4_000,
      unit: 'write request units per second a newly created on-demand table serves at once',
      source: 'https://www.repost.aws/knowledge-center/on-demand-table-throttling-dynamodb',
      note: 'Or 12,000 RRU/s, or a linear combination. Pre-warming (warm throughput) raises it.',
    },
    dynamoOnDemandNewTableInitialRead: {
      value: 12_000,
      unit: 'read request units per second a newly created on-demand table serves at once',
      source: 'https://www.repost.aws/knowledge-center/on-demand-table-throttling-dynamodb',
    },
    dynamoPartitionWriteUnitsPerSecond: {
      value: 1_000,
      unit: 'write units per second per partition (hence per partition key)',
      source: 'https://www.repost.aws/knowledge-center/on-demand-table-throttling-dynamodb',
      note: 'Hard per-partition limit: 3,000 RRU or 1,000 WRU per second, or a linear combination of both.',
    },
    dynamoPartitionReadUnitsPerSecond: {
      value: 3_000,
      unit: 'read units per second per partition',
      source: 'https://www.repost.aws/knowledge-center/on-demand-table-throttling-dynamodb',
    },
    schedulerCreateScheduleTps: {
      value: 5_000,
      unit: 'CreateSchedule requests per second (us-east-1 and the other 10 primary Regions)',
      source: 'https://docs.aws.amazon.com/scheduler/latest/UserGuide/scheduler-quotas.md',
      note:
        'Current English page: 5,000 in us-east-1, us-east-2, us-west-2, ap-northeast-1, ap-south-1, ap-southeast-1, ' +
        'ap-southeast-2, eu-central-1, eu-west-1, eu-west-2, sa-east-1; 250 elsewhere; adjustable. Sources disagree by ' +
        'age: the translated and China-partition copies (e.g. ' +
        'https://docs.amazonaws.cn/scheduler/latest/UserGuide/scheduler-quotas.html) still say 1,000 in those Regions, ' +
        'and the 2024-08-21 announcement raised it from 50 to 1,000. Matches DESIGN.md section 5.',
    },
    schedulerUpdateScheduleTps: {
      value: 1_000,
      unit: 'UpdateSchedule requests per second (primary Regions)',
      source:
        'https://aws.amazon.com/cn/about-aws/whats-new/2024/08/amazon-eventbridge-scheduler-higher-quotas',
      note:
        'The 2024-08-21 announcement (Chinese copy; English page not in the stored sources) raised Create/Delete/Get/' +
        'UpdateSchedule defaults from 50 to 1,000 TPS "in most Regions". The UpdateSchedule row of the current quota ' +
        'page was not readable in the stored excerpts; 1,000 is inferred from the announcement and from the ' +
        'DeleteSchedule row (below), and matches DESIGN.md section 5. This is the quota a heartbeat design binds on.',
    },
    schedulerDeleteScheduleTps: {
      value: 1_000,
      unit: 'DeleteSchedule requests per second (primary Regions)',
      source: 'https://docs.aws.amazon.com/ko_kr/scheduler/latest/UserGuide/scheduler-quotas.html',
      note:
        'Read in the Korean translation: 1,000 in the 11 primary Regions, 250 in each other Region (that copy predates ' +
        'the CreateSchedule raise to 5,000; DeleteSchedule is not known to have changed). Schedules created with ' +
        'ActionAfterCompletion DELETE are deleted by the service after firing, without a DeleteSchedule call.',
    },
    schedulerInvocationsTps: {
      value: 1_000,
      unit: 'target invocations per second (primary Regions)',
      source: 'https://docs.aws.amazon.com/scheduler/latest/UserGuide/scheduler-quotas.md',
      note:
        '"Invocations throttle limit (default 1,000 TPS in primary Regions, adjustable to tens of thousands)". ' +
        'Throttled invocations are delayed, not dropped (InvocationThrottleCount metric). Raised from 500 on 2024-08-21.',
    },
    schedulerSchedulesPerAccount: {
      value: 10_000_000,
      unit: 'schedules per account per Region',
      source: 'https://docs.aws.amazon.com/scheduler/latest/UserGuide/scheduler-quotas.md',
      note:
        'Same in all Regions since 2024-08-21 (was 1,000,000); adjustable "to billions". Fired one-time schedules ' +
        'with ActionAfterCompletion DELETE stop counting once deleted.',
    },
    eventBridgePutEventsTps: {
      value: 10_000,
      unit: 'PutEvents requests per second per account (us-east-1)',
      source: 'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html',
      note:
        'Quota L-9B653E91, adjustable. us-east-1 value confirmed by a Service Quotas screenshot in ' +
        'https://github.com/aws-solutions/quota-monitor-for-aws/issues/175 and the manual quoted in ' +
        'https://www.repost.aws/ko/questions/QU5JzyVY7uRa-HWDgpmMtd-w/does-putevents-throttle-limit-per-event-bus-or-per-whole-event-bridge ' +
        '(account-wide, all buses together). Per request, not per entry: a request carries up to 10 entries ' +
        '(classic bus). Regional tiers: 10,000 (us-east-1, us-west-2, eu-west-1), 2,400, 1,200, 600, 400 elsewhere.',
    },
    cloudWatchPutMetricDataTps: {
      value: 500,
      unit: 'PutMetricData requests per second per Region',
      source: 'https://github.com/awsdocs/amazon-cloudwatch-user-guide',
      note:
        'Read in doc_source/cloudwatch_limits.md of that (archived) repo; the current page ' +
        '(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html) was cut before this ' +
        'row in the stored copy, so newer Region-specific values are possible; verify. Adjustable. Up to 1,000 ' +
        'metrics per request in current API versions (older docs: 20). EMF log lines avoid this quota entirely.',
    },
    cloudWatchAlarmsPerAccount: {
      value: Number.POSITIVE_INFINITY,
      unit: 'metric alarms per account per Region',
      source: 'https://github.com/awsdocs/amazon-cloudwatch-user-guide',
      note:
        'doc_source/cloudwatch_limits.md: "No limit on the total number of alarms per account" (archived copy; the ' +
        'current page could not be read that far). What binds instead is PutMetricAlarm at 3 TPS ' +
        '(cloudWatchPutMetricAlarmTps) and DescribeAlarms at 9 TPS.',
    },
    cloudWatchPutMetricAlarmTps: {
      value: 3,
      unit: 'PutMetricAlarm requests per second per Region',
      source: 'https://github.com/awsdocs/amazon-cloudwatch-user-guide',
      note:
        'doc_source/cloudwatch_limits.md (archived copy); adjustable. DeleteAlarms and SetAlarmState are 3 TPS and ' +
        'not adjustable. Matters if alarms are created per agent or per check.',
    },
    stepFunctionsStartExecutionTps: {
      value: 300,
      unit: 'StartExecution per second, sustained refill (Standard; us-east-1, us-west-2, eu-west-1)',
      source: 'https://github.com/awsdocs/aws-step-functions-developer-guide',
      note:
        'Read in doc_source/limits-overview.md of that archived repo (current page: ' +
        'https://docs.amazonaws.cn/en_us/step-functions/latest/dg/service-quotas.html, not readable that far). Token ' +
        'bucket 1,300 (stepFunctionsStartExecutionBurst); other Regions 800/150. Express: 6,000/6,000.',
    },
    stepFunctionsStartExecutionBurst: {
      value: 1_300,
      unit: 'StartExecution token-bucket size (Standard; us-east-1, us-west-2, eu-west-1)',
      source: 'https://github.com/awsdocs/aws-step-functions-developer-guide',
      note: 'doc_source/limits-overview.md.',
    },
    stepFunctionsSendTaskHeartbeatTps: {
      value: 500,
      unit: 'SendTaskHeartbeat per second, sustained refill (us-east-1, us-west-2, eu-west-1)',
      source: 'https://github.com/awsdocs/aws-step-functions-developer-guide',
      note:
        'doc_source/limits-overview.md: SendTaskHeartbeat, SendTaskSuccess and SendTaskFailure each have bucket 3,000 ' +
        'and refill 500/s in these Regions, 1,500 and 300/s elsewhere; each API has its own bucket.',
    },
    stepFunctionsSendTaskHeartbeatBurst: {
      value: 3_000,
      unit: 'SendTaskHeartbeat token-bucket size (us-east-1, us-west-2, eu-west-1)',
      source: 'https://github.com/awsdocs/aws-step-functions-developer-guide',
      note: 'doc_source/limits-overview.md.',
    },
    stepFunctionsOpenExecutions: {
      value: 1_000_000,
      unit: 'open Standard executions per account per Region',
      source: 'https://github.com/awsdocs/aws-step-functions-developer-guide',
      note:
        'doc_source/limits-overview.md; exceeding it fails StartExecution with ExecutionLimitExceeded. Adjustable to ' +
        'millions. Also shown in the current Korean page (https://docs.aws.amazon.com/ko_kr/step-functions/latest/dg/limits.html). ' +
        'Does not apply to Express.',
    },
    stepFunctionsStateTransitionsTps: {
      value: 1_500,
      unit: 'state transitions per second, sustained refill (Standard; us-east-1, us-west-2, eu-west-1)',
      source: 'https://github.com/awsdocs/aws-step-functions-developer-guide',
      note:
        'doc_source/limits-overview.md: bucket 5,000, refill 1,500/s; other Regions 800/500. Express is unlimited. ' +
        'The current page says new accounts have reduced state-transition quotas, raised automatically with usage ' +
        '(https://docs.amazonaws.cn/en_us/step-functions/latest/dg/service-quotas.md).',
    },
    stepFunctionsStateTransitionsBurst: {
      value: 5_000,
      unit: 'state-transition token-bucket size (Standard; us-east-1, us-west-2, eu-west-1)',
      source: 'https://github.com/awsdocs/aws-step-functions-developer-guide',
      note: 'doc_source/limits-overview.md.',
    },
  },
  /** Quotas that differ outside the main regions (used by --regions other). */
  otherRegionQuotas: {
    apiGatewayHttpAccountRps: {
      value: 2_500,
      unit: 'requests per second, per account per Region',
      source: 'https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html',
      note:
        'Only in the listed newer Regions (af-south-1, eu-south-1, ap-southeast-3, me-central-1, ap-south-2, ' +
        'ap-southeast-4, eu-south-2, eu-central-2, il-central-1, ca-west-1, ap-southeast-5, ap-southeast-7, ' +
        'mx-central-1); all other Regions have 10,000.',
    },
    apiGatewayHttpAccountBurst: {
      value: 1_250,
      unit: 'requests (token-bucket capacity)',
      source: 'https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html',
      note: 'Same Regions as apiGatewayHttpAccountRps.',
    },
    schedulerCreateScheduleTps: {
      value: 250,
      unit: 'CreateSchedule requests per second (each non-primary Region)',
      source: 'https://docs.aws.amazon.com/scheduler/latest/UserGuide/scheduler-quotas.md',
      note: '"Each of the other supported Regions: 250" (all copies agree).',
    },
    schedulerUpdateScheduleTps: {
      value: 250,
      unit: 'UpdateSchedule requests per second (each non-primary Region)',
      source: 'https://docs.aws.amazon.com/scheduler/latest/UserGuide/scheduler-quotas.md',
      note:
        'Not read: inferred from the DeleteSchedule row (250 in other Regions) and the announcement\'s "in most ' +
        'Regions" wording; verify in Service Quotas.',
    },
    schedulerDeleteScheduleTps: {
      value: 250,
      unit: 'DeleteSchedule requests per second (each non-primary Region)',
      source: 'https://docs.aws.amazon.com/ko_kr/scheduler/latest/UserGuide/scheduler-quotas.html',
    },
    schedulerInvocationsTps: {
      value: 500,
      unit: 'target invocations per second (each non-primary Region)',
      source:
        'https://aws.amazon.com/cn/about-aws/whats-new/2024/08/amazon-eventbridge-scheduler-higher-quotas',
      note:
        'Not read: the announcement raised invocations from 500 to 1,000 "in most Regions", so 500 is assumed for the ' +
        'rest; verify in Service Quotas.',
    },
    eventBridgePutEventsTps: {
      value: 400,
      unit: 'PutEvents requests per second per account',
      source: 'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html',
      note:
        '"Each of the other supported Regions: 400". Intermediate tiers: 2,400 (us-east-2, eu-central-1, eu-south-2), ' +
        '1,200 (us-west-1, ap-northeast-1, ap-southeast-1, ap-southeast-2, eu-west-2), 600 (ap-east-1, ' +
        'ap-northeast-2, ap-south-1, ca-central-1, eu-north-1, eu-west-3, sa-east-1); also in the archived ' +
        'https://github.com/awsdocs/amazon-eventbridge-user-guide (doc_source/eb-quota.md).',
    },
    stepFunctionsStartExecutionTps: {
      value: 150,
      unit: 'StartExecution per second, sustained refill (Standard)',
      source: 'https://github.com/awsdocs/aws-step-functions-developer-guide',
      note: 'doc_source/limits-overview.md: all Regions other than us-east-1, us-west-2, eu-west-1.',
    },
    stepFunctionsStartExecutionBurst: {
      value: 800,
      unit: 'StartExecution token-bucket size (Standard)',
      source: 'https://github.com/awsdocs/aws-step-functions-developer-guide',
    },
    stepFunctionsSendTaskHeartbeatTps: {
      value: 300,
      unit: 'SendTaskHeartbeat per second, sustained refill',
      source: 'https://github.com/awsdocs/aws-step-functions-developer-guide',
    },
    stepFunctionsSendTaskHeartbeatBurst: {
      value: 1_500,
      unit: 'SendTaskHeartbeat token-bucket size',
      source: 'https://github.com/awsdocs/aws-step-functions-developer-guide',
    },
    stepFunctionsStateTransitionsTps: {
      value: 500,
      unit: 'state transitions per second, sustained refill (Standard)',
      source: 'https://github.com/awsdocs/aws-step-functions-developer-guide',
    },
    stepFunctionsStateTransitionsBurst: {
      value: 800,
      unit: 'state-transition token-bucket size (Standard)',
      source: 'https://github.com/awsdocs/aws-step-functions-developer-guide',
    },
  },
} as const;

/** Compile-time check that every entry of a section has the `Sourced` shape. */
type AllSourced<T extends Readonly<Record<string, Sourced>>> = T;
/** Compile-time check that one key set is contained in another. */
type SubsetOf<A extends B, B> = A;

export type PriceKey = keyof AllSourced<typeof PRICE_TABLE.prices>;
export type QuotaKey = keyof AllSourced<typeof PRICE_TABLE.quotas>;
/** Every Region-specific override names a quota that exists for us-east-1. */
export type OtherRegionQuotaKey = SubsetOf<keyof AllSourced<typeof PRICE_TABLE.otherRegionQuotas>, QuotaKey>;
