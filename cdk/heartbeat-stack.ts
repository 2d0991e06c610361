import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { HeartbeatApi } from './api.js';
import type { ServiceConfig } from './config.js';
import { ServiceEvents } from './events.js';
import { HeartbeatFunction } from './heartbeat-function.js';
import { Monitoring } from './monitoring.js';
import { acknowledge } from './nag.js';
import { CouchbasePersistence, DynamoDbPersistence, type Persistence } from './persistence.js';
import { Reconciler } from './reconciler.js';
import { ExpiryScheduling } from './scheduling.js';

export interface HeartbeatStackProps extends StackProps {
  config: ServiceConfig;
}

/**
 * The whole service: HTTP API -> ingest/read/operate functions; one EventBridge Scheduler schedule per
 * agent in a group of its own, firing the expiry function; the store (DynamoDB table or an
 * existing Couchbase cluster); the agents' token secret; the event bus the functions publish
 * transitions on; alarms, dashboard and saved queries.
 *
 * Environment-agnostic unless `env` is given: no lookups, so `cdk synth` needs no credentials.
 */
export class HeartbeatStack extends Stack {
  readonly persistence: Persistence;
  readonly ingest: HeartbeatFunction;
  readonly read: HeartbeatFunction;
  readonly operate: HeartbeatFunction;
  readonly expiry: HeartbeatFunction;
  readonly reconciler: Reconciler;
  readonly tokenSecret: secretsmanager.Secret;
  readonly scheduling: ExpiryScheduling;
  readonly events: ServiceEvents;
  readonly api: HeartbeatApi;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: HeartbeatStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.persistence =
      config.persistence.kind === 'dynamodb'
        ? new DynamoDbPersistence(this, 'Store')
        : new CouchbasePersistence(this, 'Store', config.persistence);

    const common = {
      logRetention: config.logRetention,
      store: this.persistence.kind,
      placement: this.persistence.placement,
    };

    this.ingest = new HeartbeatFunction(this, 'Ingest', {
      ...common,
      entry: 'ingest',
      description: 'POST /v1/heartbeats: records a heartbeat and (re-)arms the agent expiry schedule',
      // Every retry, backoff and recovery step shares one budget taken from the remaining time
      // (the handler keeps 750 ms to answer), so the function answers a 503 itself rather than
      // being cut off. 20 s leaves room for a cold start that connects to Couchbase and a store
      // that is slow but answering; still well under the HTTP API's 30 s integration timeout.
      timeout: Duration.seconds(20),
    });

    this.read = new HeartbeatFunction(this, 'Read', {
      ...common,
      entry: 'read',
      description:
        'GET /v1/agents/{agentId} and /v1/agents?state=: reads agent records; problem+json 404 for other paths',
    });

    this.operate = new HeartbeatFunction(this, 'Operate', {
      ...common,
      entry: 'operate',
      description:
        'Operator routes (IAM-authorized): DELETE /v1/agents/{agentId} deregisters an agent and deletes its schedule; POST/GET /v1/maintenance and DELETE /v1/maintenance/{id} manage maintenance windows',
    });

    this.expiry = new HeartbeatFunction(this, 'Expiry', {
      ...common,
      entry: 'expiry',
      description: 'Invoked by EventBridge Scheduler at an agent deadline: expires the agent or re-arms',
      // It re-arms schedules that target itself, so it must know its own ARN.
      nameFromPath: true,
      // Not user-facing, and a failed invocation is retried (Lambda's async retries, then the
      // dead-letter queue: see ExpiryScheduling); its budget is the remaining time less 1 s.
      timeout: Duration.seconds(30),
    });

    this.reconciler = new Reconciler(this, 'Reconciler', {
      minutes: config.reconcile.minutes,
      logRetention: config.logRetention,
      store: this.persistence.kind,
      placement: this.persistence.placement,
    });

    this.persistence.bind(this.ingest, 'ingest');
    this.persistence.bind(this.expiry, 'readWrite');
    this.persistence.bind(this.read, 'read');
    this.persistence.bind(this.operate, 'readWrite');
    this.persistence.bind(this.reconciler.fn, 'reconcile');

    this.scheduling = new ExpiryScheduling(this, 'Scheduling', {
      target: this.expiry,
      targetArn: this.expiry.arnFromName,
    });
    this.scheduling.grantScheduleWrites(this.ingest);
    this.scheduling.grantScheduleWrites(this.expiry);
    this.scheduling.grantScheduleWrites(this.reconciler.fn);
    this.scheduling.grantScheduleWrites(this.operate);
    this.scheduling.grantScheduleDeletes(this.operate);

    // Every function that commits a transition publishes its event; the read function commits none.
    this.events = new ServiceEvents(this, 'Events', { bus: config.events.bus });
    for (const fn of [this.ingest, this.expiry, this.operate, this.reconciler.fn]) {
      this.events.grantPublish(fn);
    }

    // The agents' bearer token(s): generated here, so no value is ever in the template. JSON
    // {"current": "..."}; to rotate, an operator writes {"current": "<new>", "previous": "<old>"},
    // moves the agents over, then drops "previous". The functions read it once per cold start.
    this.tokenSecret = new secretsmanager.Secret(this, 'AgentTokens', {
      description:
        'Bearer tokens heartbeat agents present: {"current": "...", "previous": "..."} (previous optional)',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({}),
        generateStringKey: 'current',
        passwordLength: 48,
        // Goes into an HTTP header and shell configs: letters and digits only (48 of them: ~285 bits).
        excludePunctuation: true,
      },
    });
    acknowledge(
      this.tokenSecret,
      'AwsSolutions-SMG4',
      'The token is configured on every agent, so rotation is an operator procedure (write "previous", move the agents, drop it) rather than a rotation Lambda that would lock agents out unannounced.',
    );
    const tokens = { arn: this.tokenSecret.secretArn, policyResources: [this.tokenSecret.secretArn] };
    this.ingest.readSecret('HEARTBEAT_TOKENS_SECRET_ARN', tokens);

    this.ingest.setEnvironment('HEARTBEAT_TTL_SECONDS', String(config.heartbeat.ttlSeconds));
    this.ingest.setEnvironment('HEARTBEAT_INTERVAL_SECONDS', String(config.heartbeat.intervalSeconds));
    this.ingest.setEnvironment('MIN_TTL_SECONDS', String(config.heartbeat.minTtlSeconds));
    this.ingest.setEnvironment('PULSE_BUCKET_SECONDS', String(config.pulse.bucketSeconds));
    if (config.api.agentAuth === 'per-agent') this.ingest.setEnvironment('AGENT_AUTH', 'per-agent');
    this.reconciler.fn.setEnvironment('REAP_AFTER_DAYS', String(config.reconcile.reapAfterDays));
    // The expiry guard, in both functions that decide expiries.
    for (const fn of [this.expiry, this.reconciler.fn]) {
      fn.setEnvironment('PULSE_BUCKET_SECONDS', String(config.pulse.bucketSeconds));
      fn.setEnvironment('EXPIRY_MAX_DEFER_SECONDS', String(config.guard.maxDeferSeconds));
      fn.setEnvironment('PULSE_DEGRADED_SHARE', String(config.guard.degradedShare));
      fn.setEnvironment('PULSE_BASELINE_SECONDS', String(config.guard.baselineSeconds));
      fn.setEnvironment('PULSE_MIN_BASELINE', String(config.guard.minBaseline));
      fn.setEnvironment('MASS_EXPIRY_SHARE', String(config.guard.massShare));
    }

    this.api = new HeartbeatApi(this, 'Api', {
      ingest: this.ingest,
      read: this.read,
      operate: this.operate,
      throttle: { rateLimit: config.api.throttleRateLimit, burstLimit: config.api.throttleBurstLimit },
      logRetention: config.logRetention,
    });

    this.monitoring = new Monitoring(this, 'Monitoring', {
      api: this.api,
      ingest: this.ingest,
      read: this.read,
      operate: this.operate,
      expiry: this.expiry,
      reconciler: this.reconciler,
      scheduling: this.scheduling,
      events: this.events,
      alarms: config.alarms,
    });

    this.outputs();
  }

  private outputs(): void {
    const output = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    output('ApiUrl', this.api.url, 'Base URL of the API: agents POST to <ApiUrl>v1/heartbeats');
    output('HeartbeatUrl', `${this.api.url}v1/heartbeats`, 'Where agents POST their heartbeats');
    output(
      'TokenSecretArn',
      this.tokenSecret.secretArn,
      "Secret holding the agents' bearer token (JSON: current, previous)",
    );
    output(
      'TokenSecretCommand',
      `aws secretsmanager get-secret-value --secret-id ${this.tokenSecret.secretArn} --query SecretString --output text`,
      'Prints the token JSON; agents send "Authorization: Bearer <current>"',
    );
    output(
      'ScheduleGroupName',
      this.scheduling.group.scheduleGroupName,
      'EventBridge Scheduler group holding one schedule per alive agent',
    );
    output(
      'ExpiryDeadLetterQueueUrl',
      this.scheduling.deadLetterQueue.queueUrl,
      'Expiry firings that failed: not delivered by Scheduler, or failed in the expiry function after its retries',
    );
    output(
      'ExpiryFunctionName',
      this.expiry.function.functionName,
      'The expiry function; its log group has the "agent expired" lines',
    );
    output(
      'ExpiryLogGroupName',
      this.expiry.logGroup.logGroupName,
      'Log group with one "agent expired" line per expiry',
    );
    output(
      'ReconcileLogGroupName',
      this.reconciler.fn.logGroup.logGroupName,
      'Log group with one "reconciler run" line per run, and the "agent expired" lines of expiries it found',
    );
    output(
      'IngestLogGroupName',
      this.ingest.logGroup.logGroupName,
      'Log group with "agent recovered" lines and ingest errors',
    );
    output(
      'OperatorPolicyArn',
      this.api.operatorPolicy.managedPolicyArn,
      'Managed policy for on-call roles: execute-api:Invoke on the read and operator routes (requests signed with SigV4)',
    );
    output(
      'EventBusName',
      this.events.bus.eventBusName,
      'Event bus the service publishes agent transitions on (registered, expired, recovered, ...)',
    );
    output('EventBusArn', this.events.bus.eventBusArn, 'ARN of that event bus');
    output(
      'EventSource',
      this.events.source,
      'The source of every event the service publishes: match it (and detail-type) in your rules',
    );
    output('AccessLogGroupName', this.api.accessLogs.logGroupName, 'API access log (JSON per request)');
    output(
      'DashboardUrl',
      `https://console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards:name=${this.monitoring.dashboard.dashboardName}`,
      'On-call dashboard',
    );
    if (this.persistence instanceof DynamoDbPersistence) {
      output(
        'AgentTableName',
        this.persistence.table.tableName,
        'DynamoDB table of agent records (retained on stack deletion)',
      );
      output(
        'ChecksTableName',
        this.persistence.checksTable.tableName,
        "DynamoDB table of agents' checks kept apart from their records (expire by TTL; retained on stack deletion)",
      );
    }
    if (this.persistence instanceof CouchbasePersistence && this.persistence.securityGroup !== undefined) {
      output(
        'FunctionsSecurityGroupId',
        this.persistence.securityGroup.securityGroupId,
        'Allow this security group into the Couchbase cluster (KV port 11210, or 11207 with TLS)',
      );
    }
    if (this.monitoring.topic !== undefined) {
      output('AlarmTopicArn', this.monitoring.topic.topicArn, 'SNS topic the alarms notify');
    }
  }
}
