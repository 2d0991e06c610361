import { Annotations, Duration, Lazy, Names, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { type HeartbeatApi, ROUTES } from './api.js';
import type { DetailType } from '../functions/core/event-schemas.js';
import type { MetricName } from '../functions/core/ports.js';
import type { ServiceConfig } from './config.js';
import type { ServiceEvents } from './events.js';
import { FUNCTION_DEFAULTS, type HeartbeatFunction } from './heartbeat-function.js';
import type { Reconciler } from './reconciler.js';
import type { ExpiryScheduling } from './scheduling.js';

/** The functions' CloudWatch EMF namespace and dimension (Powertools: namespace + `service`). */
export const METRICS_NAMESPACE = FUNCTION_DEFAULTS.environment.POWERTOOLS_METRICS_NAMESPACE;
export const METRICS_DIMENSIONS = { service: FUNCTION_DEFAULTS.environment.POWERTOOLS_SERVICE_NAME };

/** Counts the functions emit (all unit Count): every MetricName of functions/core/ports.ts. */
export const SERVICE_METRICS = [
  'Heartbeats',
  'AgentsExpired',
  'AgentsRecovered',
  'ScheduleWrites',
  'ScheduleWriteFailures',
  'SchedulerThrottles',
  'StoreThrottles',
  'ExpiryInvocations',
  'ReconcileChecked',
  'ReconcileOverdue',
  'ReconcileRearmed',
  'ReconcileExpired',
  'ReconcileReported',
  'ReconcileErrors',
  'PulseFlushes',
  'PulseFlushFailures',
  'PulseReadFailures',
  'ExpiriesDeferred',
  'MassExpiries',
  'MassExpiryCountFailures',
  'AgentsDeregistered',
  'EventsPublished',
  'EventPublishFailures',
] as const satisfies readonly MetricName[];
export type ServiceMetric = (typeof SERVICE_METRICS)[number];

/** Log lines on-call looks for; the functions must write exactly these `message`s. */
export const LOG_MESSAGES = {
  expired: 'agent expired',
  massSummary: 'mass expiry: agents expired together',
  recovered: 'agent recovered',
  backendUnavailable: 'backend unavailable',
  unhandled: 'unhandled error',
  reconcilerRun: 'reconciler run',
  scheduleWriteFailed: 'schedule write failed; the record keeps only a schedule it can vouch for',
  eventsNotPublished: 'events not published',
} as const;

/** The events on-call is told of on the alarm topic (the rest are for other consumers' rules). */
export const NOTIFIED_DETAIL_TYPES = [
  'Agent Expired',
  'Agent Recovered',
] as const satisfies readonly DetailType[];

/** The synth warning when no alarm destination is configured. */
export const NO_ALARM_DESTINATION_WARNING =
  'Neither alarmEmail nor alarmTopicArn is set: the alarms and the expiry/recovery rule notify nobody (the alarms have no action, and no rule sends agent expiries and recoveries anywhere; the events still reach the bus). Deploy with -c alarmEmail=<address> or -c alarmTopicArn=<SNS topic ARN>.';

export interface MonitoringProps {
  api: HeartbeatApi;
  ingest: HeartbeatFunction;
  read: HeartbeatFunction;
  operate: HeartbeatFunction;
  expiry: HeartbeatFunction;
  reconciler: Reconciler;
  scheduling: ExpiryScheduling;
  events: ServiceEvents;
  alarms: ServiceConfig['alarms'];
}

/**
 * What on-call gets: alarms and the agents' expiries and recoveries (to an SNS topic when one is
 * configured), a dashboard, and saved Logs Insights queries. An alarm here means "look now"; the
 * dashboard says where.
 */
export class Monitoring extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dlqNotEmpty: cloudwatch.Alarm;
  readonly ingest5xxRate: cloudwatch.Alarm;
  readonly expirySpike: cloudwatch.Alarm;
  readonly pipelineSuspected: cloudwatch.Alarm;
  readonly functionErrors: Record<'ingest' | 'read' | 'operate' | 'expiry' | 'reconcile', cloudwatch.Alarm>;
  readonly reconcilerNotRunning: cloudwatch.Alarm;
  readonly eventPublishFailures: cloudwatch.Alarm;
  readonly topic: sns.ITopic | undefined;
  /** Expiries and recoveries to the topic; only with a topic. */
  readonly notifyRule: events.Rule | undefined;
  /** The rule could not deliver to the topic; only with the rule. */
  readonly notificationsFailed: cloudwatch.Alarm | undefined;
  readonly dashboard: cloudwatch.Dashboard;
  readonly queries: Record<
    'expired' | 'massExpiries' | 'recoveries' | 'ingestErrorsByStatus' | 'ingestErrorLines',
    logs.QueryDefinition
  >;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { api, ingest, read, operate, expiry, scheduling } = props;
    const reconcile = props.reconciler.fn;
    const functions = { ingest, read, operate, expiry, reconcile };

    // --- metrics -------------------------------------------------------------------------------
    // The ingest route's requests and 5xx, counted from the access log: what agents saw,
    // including API Gateway's own 5xx (a throttled or timed-out function), per route, without
    // paying for the stage's detailed metrics.
    const ingestRequests = this.accessLogCount(
      'IngestRequests',
      api,
      logs.FilterPattern.stringValue('$.routeKey', '=', ROUTES.heartbeats),
    );
    const ingest5xx = this.accessLogCount(
      'Ingest5xx',
      api,
      logs.FilterPattern.all(
        logs.FilterPattern.stringValue('$.routeKey', '=', ROUTES.heartbeats),
        logs.FilterPattern.stringValue('$.status', '=', '5*'),
      ),
    );
    const ingest5xxRate = new cloudwatch.MathExpression({
      // Below 10 requests in 5 minutes a single failure is noise, not a rate.
      expression: 'IF(requests >= 10, 100 * errors / requests, 0)',
      usingMetrics: {
        requests: ingestRequests.with({ period: Duration.minutes(5) }),
        errors: ingest5xx.with({ period: Duration.minutes(5) }),
      },
      period: Duration.minutes(5),
      label: 'ingest 5xx (% of requests)',
    });

    // --- alarms --------------------------------------------------------------------------------
    this.dlqNotEmpty = this.alarm('ExpiryDlqNotEmpty', {
      alarmDescription:
        'An expiry firing failed and is waiting in the dead-letter queue: Scheduler could not deliver it (the body is {agentId, armedFor}), or the expiry function failed on it after its retries (a Lambda invocation record: requestPayload is {agentId, armedFor}, responsePayload the error). An agent may not have been declared expired. Fix the cause, then redrive: invoke the expiry function with that payload.',
      metric: scheduling.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });

    this.ingest5xxRate = this.alarm('Ingest5xxRate', {
      alarmDescription: `More than ${props.alarms.ingest5xxRatePercent}% of heartbeats were answered 5xx over 5 minutes: agents are not being recorded. See the "ingest errors by status" query and the ingest function's logs.`,
      metric: ingest5xxRate,
      threshold: props.alarms.ingest5xxRatePercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });

    this.functionErrors = {
      ingest: this.functionErrorAlarm('IngestErrors', ingest),
      read: this.functionErrorAlarm('ReadErrors', read),
      operate: this.functionErrorAlarm('OperateErrors', operate),
      expiry: this.functionErrorAlarm('ExpiryErrors', expiry),
      // A run that could not list, or could not repair an agent, fails on purpose (after the rest).
      reconcile: this.functionErrorAlarm('ReconcileErrors', reconcile),
    };

    // The safety net itself must not fail silently: no run in three periods means lost timers
    // are no longer being repaired.
    const threePeriods = Duration.minutes(Math.max(5, props.reconciler.period.toMinutes() * 3));
    this.reconcilerNotRunning = this.alarm('ReconcilerNotRunning', {
      alarmDescription: `The reconciler has not run for ${threePeriods.toMinutes()} minutes: lost expiry timers (dead-lettered firings, a scheduler outage) are not being repaired. Check its schedule and the function's throttles.`,
      metric: reconcile.function.metricInvocations({ period: threePeriods, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // No data here means no invocation at all: exactly what this alarm is for.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    this.expirySpike = this.alarm('ExpirySpike', {
      alarmDescription: `More than ${props.alarms.expirySpikeThreshold} agents expired within 5 minutes. Many at once usually means the pipeline (network, API, ingest, store), not the fleet: check ingest errors and the API before paging server owners.`,
      metric: this.serviceMetric('AgentsExpired', Duration.minutes(5)),
      threshold: props.alarms.expirySpikeThreshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });

    // One alarm for a deaf pipeline, however many agents it defers (core/expiry-guard.ts).
    this.pipelineSuspected = this.alarm('PipelineSuspected', {
      alarmDescription:
        'Expiries are being deferred: during the silence of the agents that fell due, the service accepted far fewer heartbeats than usual (the fleet pulse), so the service itself is suspected (API, ingest, store or network), not the fleet. Agents that report again are never expired; the others are expired at most EXPIRY_MAX_DEFER_SECONDS late, marked suspectedPipelineOutage. See the "expiry deferred: pipeline degraded" lines, ingest errors and the API.',
      metric: this.serviceMetric('ExpiriesDeferred', Duration.minutes(5)),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });

    // The transition is committed and its on-call line written whatever the bus does; the event
    // stays in the record's outbox and the reconciler publishes it later (core/deliver-events.ts).
    this.eventPublishFailures = this.alarm('EventPublishFailures', {
      alarmDescription: `Events could not be published to the service's event bus (output EventBusName) in the last 5 minutes: PutEvents failed, was throttled, or was denied. The transitions themselves are committed and their on-call lines written; the agents' records keep the events and the reconciler retries them, so consumers get them late. See the "${LOG_MESSAGES.eventsNotPublished}" lines of the functions.`,
      metric: this.serviceMetric('EventPublishFailures', Duration.minutes(5)),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
    });

    const { topic, key } = this.alarmTopic(props.alarms);
    this.topic = topic;
    if (topic === undefined) {
      Annotations.of(Stack.of(this)).addWarningV2(
        '@heartbeat/monitoring:noAlarmDestination',
        NO_ALARM_DESTINATION_WARNING,
      );
      this.notifyRule = undefined;
      this.notificationsFailed = undefined;
    } else {
      this.notifyRule = this.notifyTransitions(topic, key, props.events);
      this.notificationsFailed = this.alarm('ExpiryNotificationsFailed', {
        alarmDescription:
          "The rule sending agent expiries and recoveries to the alarm topic failed to deliver some in the last 5 minutes: on-call was not told of them (the expiry lines are still in the logs). Usually the topic's policy (or its KMS key's) does not let events.amazonaws.com publish: see the README on alarmTopicArn.",
        metric: new cloudwatch.Metric({
          namespace: 'AWS/Events',
          metricName: 'FailedInvocations',
          // A rule on a custom bus reports under both names; on the default bus under its own only.
          dimensionsMap: props.events.isDefaultBus
            ? { RuleName: this.notifyRuleName }
            : { EventBusName: props.events.bus.eventBusName, RuleName: this.notifyRuleName },
          statistic: cloudwatch.Stats.SUM,
          period: Duration.minutes(5),
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      });
      const action = new SnsAction(topic);
      for (const alarm of this.alarms) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }

    // --- saved queries -------------------------------------------------------------------------
    const folder = Stack.of(this).stackName;
    this.queries = {
      expired: new logs.QueryDefinition(this, 'ExpiredQuery', {
        queryDefinitionName: `${folder}/agents expired in the last 24 h`,
        // A firing reports its expiry; the reconciler reports those it found (detectedBy).
        logGroups: [expiry.logGroup, reconcile.logGroup],
        queryString: new logs.QueryString({
          fields: [
            '@timestamp',
            'agentId',
            'expiredAt',
            'detectedAt',
            'lateBySeconds',
            'lastSeen',
            'ttlSeconds',
            'bootId',
            'failingChecks',
            'labels',
            'detectedBy',
            'suspectedPipelineOutage',
            'massExpiry',
          ],
          filterStatements: [`message = "${LOG_MESSAGES.expired}"`],
          sort: '@timestamp desc',
          limit: 10000,
        }),
      }),
      // One line per minute of a mass expiry: how many agents expired together.
      massExpiries: new logs.QueryDefinition(this, 'MassExpiriesQuery', {
        queryDefinitionName: `${folder}/mass expiries by minute`,
        logGroups: [expiry.logGroup, reconcile.logGroup],
        queryString: new logs.QueryString({
          fields: ['@timestamp', 'minuteStart', 'minuteEnd', 'expired'],
          filterStatements: [`message = "${LOG_MESSAGES.massSummary}"`],
          sort: 'minuteStart desc',
          limit: 10000,
        }),
      }),
      recoveries: new logs.QueryDefinition(this, 'RecoveriesQuery', {
        queryDefinitionName: `${folder}/recoveries`,
        logGroups: [ingest.logGroup],
        queryString: new logs.QueryString({
          fields: ['@timestamp', 'agentId', 'from', 'expiredAt', 'lastSeen', 'bootId'],
          filterStatements: [`message = "${LOG_MESSAGES.recovered}"`],
          sort: '@timestamp desc',
          limit: 10000,
        }),
      }),
      ingestErrorsByStatus: new logs.QueryDefinition(this, 'IngestErrorsByStatusQuery', {
        queryDefinitionName: `${folder}/ingest errors by status`,
        logGroups: [api.accessLogs],
        queryString: new logs.QueryString({
          filterStatements: [`routeKey = "${ROUTES.heartbeats}"`, 'status like /^[45]/'],
          statsStatements: ['count(*) as requests by status'],
          sort: 'requests desc',
        }),
      }),
      ingestErrorLines: new logs.QueryDefinition(this, 'IngestErrorLinesQuery', {
        queryDefinitionName: `${folder}/ingest backend and unhandled errors`,
        logGroups: [ingest.logGroup],
        queryString: new logs.QueryString({
          fields: ['@timestamp', 'level', 'message', '@message'],
          filterStatements: [
            `message in ["${LOG_MESSAGES.backendUnavailable}", "${LOG_MESSAGES.unhandled}"]`,
          ],
          sort: '@timestamp desc',
          limit: 1000,
        }),
      }),
    };

    // --- dashboard -----------------------------------------------------------------------------
    const perMinute = (metric: ServiceMetric, label: string) =>
      this.serviceMetric(metric, Duration.minutes(1), label);
    const graph = (
      title: string,
      left: cloudwatch.IMetric[],
      extra: Partial<cloudwatch.GraphWidgetProps> = {},
    ) => new cloudwatch.GraphWidget({ title, left, width: 6, height: 6, ...extra });
    const minute = { period: Duration.minutes(1) };
    const fnList = Object.entries(functions);

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          graph('Heartbeats / min', [perMinute('Heartbeats', 'heartbeats')]),
          graph('Expiries / min', [perMinute('AgentsExpired', 'agents expired')]),
          graph('Recoveries / min', [perMinute('AgentsRecovered', 'agents recovered')]),
          graph('Schedule writes / min', [
            perMinute('ScheduleWrites', 'schedule writes'),
            perMinute('ScheduleWriteFailures', 'failed (record says none known)'),
            perMinute('ExpiryInvocations', 'expiry invocations'),
          ]),
        ],
        [
          graph(
            'Reconciler: agents checked / run',
            [this.serviceMetric('ReconcileChecked', props.reconciler.period, 'checked')],
            { width: 6 },
          ),
          graph('Reconciler: lost timers repaired', [
            this.serviceMetric('ReconcileOverdue', props.reconciler.period, 'overdue'),
            this.serviceMetric('ReconcileRearmed', props.reconciler.period, 're-armed'),
            this.serviceMetric('ReconcileExpired', props.reconciler.period, 'expired by it'),
            this.serviceMetric('ReconcileReported', props.reconciler.period, 'reports delivered late'),
          ]),
          graph('Reconciler: errors and runs', [
            this.serviceMetric('ReconcileErrors', props.reconciler.period, 'agents not repaired'),
            reconcile.function.metricErrors({ period: props.reconciler.period, label: 'failed runs' }),
            reconcile.function.metricInvocations({ period: props.reconciler.period, label: 'runs' }),
          ]),
          graph('Reconciler run time (ms)', [
            reconcile.function.metricDuration({
              period: props.reconciler.period,
              statistic: 'max',
              label: 'max',
            }),
          ]),
        ],
        [
          graph(
            'API 4xx / 5xx / min',
            [
              api.httpApi.metricClientError({ ...minute, label: '4xx' }),
              api.httpApi.metricServerError({ ...minute, label: '5xx' }),
            ],
            { right: [api.httpApi.metricCount({ ...minute, label: 'requests' })] },
          ),
          graph('Ingest 5xx rate (%)', [ingest5xxRate], {
            leftAnnotations: [{ value: props.alarms.ingest5xxRatePercent, label: 'alarm' }],
          }),
          graph('Throttles / min', [
            perMinute('SchedulerThrottles', 'Scheduler API throttles'),
            perMinute('StoreThrottles', 'DynamoDB throttles'),
            scheduling.group.metricThrottled({ ...minute, label: 'invocations throttled (quota)' }),
            scheduling.group.metricTargetThrottled({ ...minute, label: 'expiry function throttled' }),
          ]),
          graph(
            'Expiry DLQ depth',
            [
              scheduling.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
                ...minute,
                label: 'messages',
              }),
            ],
            { leftAnnotations: [{ value: 0, label: 'alarm above' }] },
          ),
        ],
        [
          graph(
            'Function errors / min',
            fnList.map(([name, fn]) => fn.function.metricErrors({ ...minute, label: name })),
          ),
          graph(
            'Function duration p50 (ms)',
            fnList.map(([name, fn]) =>
              fn.function.metricDuration({ ...minute, statistic: 'p50', label: name }),
            ),
          ),
          graph(
            'Function duration p99 (ms)',
            fnList.map(([name, fn]) =>
              fn.function.metricDuration({ ...minute, statistic: 'p99', label: name }),
            ),
          ),
          graph(
            'Function throttles / min',
            fnList.map(([name, fn]) => fn.function.metricThrottles({ ...minute, label: name })),
          ),
        ],
        [
          new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 6, height: 6 }),
          graph('Events published / min', [
            perMinute('EventsPublished', 'published'),
            perMinute('EventPublishFailures', 'not published (retried by the reconciler)'),
          ]),
          new cloudwatch.LogQueryWidget({
            title: 'Latest expiries',
            logGroupNames: [expiry.logGroup.logGroupName, reconcile.logGroup.logGroupName],
            queryLines: [
              'fields @timestamp, agentId, expiredAt, lateBySeconds, detectedBy, bootId, failingChecks',
              `filter message = "${LOG_MESSAGES.expired}"`,
              'sort @timestamp desc',
              'limit 50',
            ],
            width: 12,
            height: 6,
          }),
        ],
      ],
    });
  }

  /** One of the functions' EMF counts (namespace HeartbeatService, dimension service=heartbeat). */
  serviceMetric(metricName: ServiceMetric, period: Duration, label?: string): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: METRICS_DIMENSIONS,
      statistic: cloudwatch.Stats.SUM,
      period,
      ...(label === undefined ? {} : { label }),
    });
  }

  private accessLogCount(
    metricName: string,
    api: HeartbeatApi,
    filterPattern: logs.IFilterPattern,
  ): cloudwatch.Metric {
    const filter = new logs.MetricFilter(this, `${metricName}Filter`, {
      logGroup: api.accessLogs,
      metricNamespace: METRICS_NAMESPACE,
      metricName,
      filterPattern,
      metricValue: '1',
      // 0 for access-log lines that do not match, so the rate has a denominator in quiet minutes.
      defaultValue: 0,
    });
    return filter.metric({ statistic: cloudwatch.Stats.SUM, period: Duration.minutes(1) });
  }

  private alarm(id: string, props: cloudwatch.AlarmProps): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      // No data means nothing happened (no messages, no requests, no expiries): not an alarm.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...props,
    });
    this.alarms.push(alarm);
    return alarm;
  }

  private functionErrorAlarm(id: string, fn: HeartbeatFunction): cloudwatch.Alarm {
    const name = fn.node.id === 'Function' ? (fn.node.scope?.node.id ?? fn.node.id) : fn.node.id;
    return this.alarm(id, {
      alarmDescription: `The ${name} function failed invocations (crash, timeout or failed start) in the last 5 minutes; handled errors are answered, not counted here. See its log group.`,
      metric: fn.function.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
    });
  }

  /** The rule's name, derived from its construct path (stack name included), not written by hand. */
  private get notifyRuleName(): string {
    return Lazy.string({
      produce: () =>
        Names.uniqueResourceName(this.node.findChild('NotifyExpiriesAndRecoveries'), {
          maxLength: 64,
          separator: '-',
        }),
    });
  }

  /**
   * A rule on the service's bus sending every expiry and recovery, the whole event as JSON, to the
   * alarm topic. Its own target rather than aws-events-targets' SnsTopic: that one lets
   * events.amazonaws.com publish to the topic on behalf of any rule, in any account; this one
   * only on behalf of this rule.
   */
  private notifyTransitions(
    topic: sns.ITopic,
    key: kms.IKey | undefined,
    service: ServiceEvents,
  ): events.Rule {
    const rule = new events.Rule(this, 'NotifyExpiriesAndRecoveries', {
      description: 'Sends agent expiries and recoveries to the alarm topic',
      eventBus: service.bus,
      // Named rather than referenced: CloudFormation's Ref of a rule on a custom bus is
      // "<bus>|<rule>", and the FailedInvocations alarm needs the rule's name alone.
      ruleName: this.notifyRuleName,
      eventPattern: { source: [service.source], detailType: [...NOTIFIED_DETAIL_TYPES] },
      targets: [{ bind: () => ({ arn: topic.topicArn }) }],
    });
    // An imported topic (alarmTopicArn) has a policy this stack cannot edit: its owner must allow
    // events.amazonaws.com to sns:Publish (with aws:SourceArn this rule's ARN), and, when the topic
    // is encrypted, let it use the key (kms:Decrypt, kms:GenerateDataKey*). The README says how;
    // the ExpiryNotificationsFailed alarm catches a topic that does not.
    if (topic instanceof sns.Topic) {
      topic.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal('events.amazonaws.com')],
          actions: ['sns:Publish'],
          resources: [topic.topicArn],
          conditions: { ArnEquals: { 'aws:SourceArn': rule.ruleArn } },
        }),
      );
    }
    // As for CloudWatch: SNS encrypts what EventBridge publishes with the topic's key. (No
    // aws:SourceArn here: the key policy naming the rule would make a cycle key -> rule -> topic -> key.)
    key?.grant(new iam.ServicePrincipal('events.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    return rule;
  }

  private alarmTopic(alarms: ServiceConfig['alarms']): { topic: sns.ITopic | undefined; key?: kms.Key } {
    if (alarms.topicArn !== undefined) {
      const topic = sns.Topic.fromTopicArn(this, 'AlarmTopic', alarms.topicArn);
      if (alarms.email !== undefined) topic.addSubscription(new EmailSubscription(alarms.email));
      return { topic };
    }
    if (alarms.email === undefined) return { topic: undefined };
    // CloudWatch cannot publish to a topic encrypted with the AWS managed SNS key: a customer
    // managed key that lets CloudWatch use it.
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: 'Encrypts the heartbeat service alarm topic',
      enableKeyRotation: true,
    });
    key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    const topic = new sns.Topic(this, 'AlarmTopic', { masterKey: key, enforceSSL: true });
    topic.addSubscription(new EmailSubscription(alarms.email));
    return { topic, key };
  }
}
