import { spawnSync } from 'node:child_process';
import { PULSE_TTL_ATTRIBUTE } from '../../functions/adapters/dynamodb/pulse.js';
import {
  CHECKS_TTL_ATTRIBUTE,
  checksTableDefinition,
} from '../../functions/adapters/dynamodb/checks-table.js';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_LOG_FIELDS, ROUTES } from '../../cdk/api.js';
import { DynamoDbPersistence } from '../../cdk/persistence.js';
import { agentTableDefinition } from '../../functions/adapters/dynamodb/table.js';
import { type Synth, acknowledgements, propertiesOf, roleStatements, synth } from './synth.js';
import { LOG_MESSAGES, NO_ALARM_DESTINATION_WARNING } from '../../cdk/monitoring.js';
import { EXPIRED_MESSAGE, NOT_PUBLISHED_MESSAGE } from '../../functions/core/deliver-events.js';
import { EVENT_SOURCE } from '../../functions/core/event-schemas.js';
import { MASS_SUMMARY_MESSAGE } from '../../functions/core/mass-expiry.js';

// The default deployment (persistence=dynamodb, every other setting at its default), synthesized
// once with real bundling, as `npm run synth` does.
let s: Synth;
beforeAll(() => {
  s = synth();
});
afterAll(() => s?.cleanup());

const ARN = 'arn:${AWS::Partition}';
const REGION_ACCOUNT = '${AWS::Region}:${AWS::AccountId}';

// Exactly the calls the DynamoDB adapter makes: no batch writes, only the reconciler scans and
// deletes. UpdateItem only for counters: the fleet pulse (ingest) and the mass-expiry
// minutes (expiry and reconciler).
// Reaping: the reconciler also lists by state (Query, BatchGetItem) and deletes (conditionally).
const tableReconcile = {
  Effect: 'Allow',
  Action: [
    'dynamodb:BatchGetItem',
    'dynamodb:DeleteItem',
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:Query',
    'dynamodb:Scan',
    'dynamodb:UpdateItem',
  ],
  Resource: ['${Store/Agents.Arn}', '${Store/Agents.Arn}/index/*'],
};
const tableReadWrite = {
  Effect: 'Allow',
  Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  Resource: ['${Store/Agents.Arn}', '${Store/Agents.Arn}/index/*'],
};
const tableIngest = {
  Effect: 'Allow',
  Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  Resource: ['${Store/Agents.Arn}', '${Store/Agents.Arn}/index/*'],
};
const tableRead = {
  Effect: 'Allow',
  Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'],
  Resource: ['${Store/Agents.Arn}', '${Store/Agents.Arn}/index/*'],
};
// The checks table (checks kept apart): the table alone, it has no index. Writes put a checks
// item (unconditionally), reads get one, lists get a page's; nobody updates, deletes, queries or
// scans it: its TTL removes what no agent names.
const checksReadWrite = {
  Effect: 'Allow',
  Action: ['dynamodb:GetItem', 'dynamodb:PutItem'],
  Resource: '${Store/Checks.Arn}',
};
const checksRead = {
  Effect: 'Allow',
  Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem'],
  Resource: '${Store/Checks.Arn}',
};
const checksReconcile = {
  Effect: 'Allow',
  Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem'],
  Resource: '${Store/Checks.Arn}',
};
const readTokens = { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: '${AgentTokens}' };
const scheduleWrites = (group: string) => [
  {
    Effect: 'Allow',
    // No DeleteSchedule here: only deregistration deletes one (operate); the rest delete themselves after firing.
    Action: ['scheduler:CreateSchedule', 'scheduler:UpdateSchedule'],
    Resource: `${ARN}:scheduler:${REGION_ACCOUNT}:schedule/${group}/*`,
  },
  {
    Effect: 'Allow',
    Action: 'iam:PassRole',
    Resource: '${Scheduling/InvokeExpiryRole.Arn}',
    Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
  },
];
// PutEvents on the stack's bus, and only for the service's own source.
const publishEvents = {
  Effect: 'Allow',
  Action: 'events:PutEvents',
  Resource: '${Events/Bus.Arn}',
  Condition: { 'ForAllValues:StringEquals': { 'events:source': ['heartbeat-expiry'] } },
};
// Lambda sends a failed expiry's invocation record with the function's role: this one action,
// on the one queue (not SqsDestination's GetQueueAttributes/GetQueueUrl).
const sendToDlq = { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: '${Scheduling/DeadLetters.Arn}' };
const writeLogs = (fn: string) => ({
  Effect: 'Allow',
  Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
  Resource: `\${${fn}/Logs.Arn}`,
});

function env(fn: { function: Parameters<Synth['logicalId']>[0] }): Record<string, unknown> {
  return (propertiesOf(s, fn.function).Environment as { Variables: Record<string, unknown> }).Variables;
}

/** A deploy-time value (`${...}` in the rendered template) as a plausible literal. */
function placeholder(key: string, value: string): string {
  const literal = value
    .replaceAll('${AWS::Partition}', 'aws')
    .replaceAll('${AWS::Region}', 'us-east-1')
    .replaceAll('${AWS::AccountId}', '123456789012');
  if (!literal.includes('${')) return literal;
  return key.endsWith('_ARN')
    ? `arn:aws:placeholder:us-east-1:123456789012:${key.toLowerCase()}`
    : `placeholder-${key.toLowerCase()}`;
}

function agentTable() {
  if (!(s.stack.persistence instanceof DynamoDbPersistence)) throw new Error('not in dynamodb mode');
  return s.stack.persistence.table;
}

function checksTable() {
  if (!(s.stack.persistence instanceof DynamoDbPersistence)) throw new Error('not in dynamodb mode');
  return s.stack.persistence.checksTable;
}

function expiryFunctionName(): string {
  return propertiesOf(s, s.stack.expiry.function).FunctionName as string;
}

// Every function's environment starts with these; scheduler and guard settings where they apply.
const BASE_ENV = {
  POWERTOOLS_SERVICE_NAME: 'heartbeat',
  POWERTOOLS_METRICS_NAMESPACE: 'HeartbeatService',
  POWERTOOLS_LOG_LEVEL: 'INFO',
  NODE_OPTIONS: '--enable-source-maps',
  PERSISTENCE: 'dynamodb',
  TABLE_NAME: '${Store/Agents}',
  CHECKS_TABLE_NAME: '${Store/Checks}',
};
const schedulerEnv = () => ({
  SCHEDULE_GROUP: s.stack.scheduling.group.scheduleGroupName,
  EXPIRY_FUNCTION_ARN: `${ARN}:lambda:${REGION_ACCOUNT}:function:${expiryFunctionName()}`,
  SCHEDULER_ROLE_ARN: '${Scheduling/InvokeExpiryRole.Arn}',
  EXPIRY_DLQ_ARN: '${Scheduling/DeadLetters.Arn}',
});
// Every function that commits a transition publishes its event: all but read.
const EVENTS_ENV = { EVENT_BUS_NAME: '${Events/Bus}' };
const GUARD_ENV = {
  PULSE_BUCKET_SECONDS: '10',
  EXPIRY_MAX_DEFER_SECONDS: '600',
  PULSE_DEGRADED_SHARE: '0.5',
  PULSE_BASELINE_SECONDS: '3600',
  PULSE_MIN_BASELINE: '10',
  MASS_EXPIRY_SHARE: '0.2',
};

describe('HTTP API', () => {
  it('routes heartbeats to ingest, agents to read (IAM), deregistration and maintenance windows to operate (IAM), unknown paths to read, payload v2', () => {
    const routes = s.template.findResources('AWS::ApiGatewayV2::Route');
    const targets = Object.fromEntries(
      Object.values(routes).map((route) => {
        const target = s.render(route.Properties.Target) as string;
        const integrationPath = target.replace(/^integrations\/\$\{(.+)\}$/, '$1');
        const integration = Object.entries(s.template.findResources('AWS::ApiGatewayV2::Integration')).find(
          ([id]) => s.render({ Ref: id }) === `\${${integrationPath}}`,
        )?.[1];
        return [
          route.Properties.RouteKey as string,
          {
            function: s.render(integration?.Properties.IntegrationUri),
            payload: integration?.Properties.PayloadFormatVersion,
            type: integration?.Properties.IntegrationType,
            auth: route.Properties.AuthorizationType,
          },
        ];
      }),
    );
    const to = (fn: string, auth = 'NONE') => ({
      function: `\${${fn}/Function.Arn}`,
      payload: '2.0',
      type: 'AWS_PROXY',
      auth,
    });
    // Credentials apart: the agents' bearer token reaches only the heartbeat route; reading and
    // operating need an IAM (SigV4) caller, checked by API Gateway.
    expect(targets).toEqual({
      'ANY /v1/heartbeats': to('Ingest'),
      'ANY /v1/agents/{agentId}': to('Read', 'AWS_IAM'),
      'DELETE /v1/agents/{agentId}': to('Operate', 'AWS_IAM'),
      'ANY /v1/agents': to('Read', 'AWS_IAM'),
      'ANY /v1/maintenance': to('Operate', 'AWS_IAM'),
      'ANY /v1/maintenance/{id}': to('Operate', 'AWS_IAM'),
      $default: to('Read'),
    });
    // The same route keys the handlers and the OpenAPI document use.
    expect(Object.keys(targets).sort()).toEqual(Object.values(ROUTES).sort());
  });

  it('lets API Gateway invoke only the three API functions, from this API, each for its own routes', () => {
    const permissions = Object.values(s.template.findResources('AWS::Lambda::Permission')).map((p) =>
      s.render(p.Properties),
    );
    const api = `${ARN}:execute-api:${REGION_ACCOUNT}:\${Api/HttpApi}`;
    const invoke = (fn: string, path: string) => ({
      Action: 'lambda:InvokeFunction',
      FunctionName: `\${${fn}/Function.Arn}`,
      Principal: 'apigateway.amazonaws.com',
      SourceArn: `${api}/*/*${path}`,
    });
    // One per route; the reconciler's comes from its schedule's role, not from a permission.
    expect(permissions).toEqual([
      invoke('Read', ''),
      invoke('Ingest', '/v1/heartbeats'),
      invoke('Read', '/v1/agents/{agentId}'),
      invoke('Operate', '/v1/agents/{agentId}'),
      invoke('Read', '/v1/agents'),
      invoke('Operate', '/v1/maintenance'),
      invoke('Operate', '/v1/maintenance/{id}'),
    ]);
  });

  it('has one auto-deployed $default stage with throttling and JSON access logs kept 30 days', () => {
    s.template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    const stage = propertiesOf(s, s.stack.api.stage);
    expect(stage).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 },
      AccessLogSettings: { DestinationArn: '${Api/AccessLogs.Arn}' },
    });
    const format = JSON.parse((stage.AccessLogSettings as { Format: string }).Format) as Record<
      string,
      string
    >;
    expect(format).toEqual(ACCESS_LOG_FIELDS);
    expect(format).toMatchObject({
      status: '$context.status',
      routeKey: '$context.routeKey',
      requestId: '$context.requestId',
    });
    expect(propertiesOf(s, s.stack.api.accessLogs)).toEqual({ RetentionInDays: 30 });
  });
});

describe('functions', () => {
  it('every function in the template runs nodejs24.x on arm64', () => {
    const functions = Object.values(s.template.findResources('AWS::Lambda::Function'));
    expect(functions.length).toBeGreaterThan(0);
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
    }
  });

  it.each([
    ['Ingest', 20],
    ['Read', 10],
    ['Operate', 10],
    ['Expiry', 30],
    ['Reconciler/Function', 270],
  ] as const)(
    '%s runs Node.js 24 on arm64 from the ESM bundle, with its own log group (30 days)',
    (name, timeout) => {
      const fn = {
        Ingest: s.stack.ingest,
        Read: s.stack.read,
        Operate: s.stack.operate,
        Expiry: s.stack.expiry,
        'Reconciler/Function': s.stack.reconciler.fn,
      }[name];
      expect(propertiesOf(s, fn.function)).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        MemorySize: 512,
        Timeout: timeout,
        Role: `\${${name}/Role.Arn}`,
        LoggingConfig: { LogGroup: `\${${name}/Logs}` },
      });
      expect(s.template.toJSON().Resources[s.logicalId(fn.logGroup)]).toMatchObject({
        Properties: { RetentionInDays: 30 },
        DeletionPolicy: 'Retain',
      });
    },
  );

  it('exists five times only: no function without the project construct (e.g. a log-retention helper)', () => {
    s.template.resourceCountIs('AWS::Lambda::Function', 5);
  });

  it('gives reconcile its store, scheduler and reaping settings, and no token', () => {
    expect(env(s.stack.reconciler.fn)).toEqual({
      ...BASE_ENV,
      ...schedulerEnv(),
      ...EVENTS_ENV,
      REAP_AFTER_DAYS: '7',
      ...GUARD_ENV,
    });
  });

  it('gives ingest its store, scheduler, token and policy settings', () => {
    expect(env(s.stack.ingest)).toEqual({
      ...BASE_ENV,
      ...schedulerEnv(),
      ...EVENTS_ENV,
      HEARTBEAT_TOKENS_SECRET_ARN: '${AgentTokens}',
      HEARTBEAT_TTL_SECONDS: '90',
      HEARTBEAT_INTERVAL_SECONDS: '30',
      MIN_TTL_SECONDS: '60',
      PULSE_BUCKET_SECONDS: '10',
    });
  });

  it('gives read only its store: no token (its callers are IAM-authorized), no event bus (it commits nothing)', () => {
    expect(env(s.stack.read)).toEqual({
      ...BASE_ENV,
    });
  });

  it('gives operate its store, scheduler and event bus settings, and no token', () => {
    expect(env(s.stack.operate)).toEqual({
      ...BASE_ENV,
      ...schedulerEnv(),
      ...EVENTS_ENV,
    });
  });

  it('gives expiry its store, scheduler and event bus settings, its own ARN included, and no token', () => {
    expect(env(s.stack.expiry)).toEqual({
      ...BASE_ENV,
      ...schedulerEnv(),
      ...EVENTS_ENV,
      ...GUARD_ENV,
    });
  });

  it('names the expiry function from its construct path, stack name included, not by hand', () => {
    expect(expiryFunctionName()).toMatch(/^HeartbeatService-Expiry-[0-9A-F]{8}$/);
    // The other functions keep CloudFormation-generated names.
    expect(propertiesOf(s, s.stack.ingest.function).FunctionName).toBeUndefined();
    expect(propertiesOf(s, s.stack.read.function).FunctionName).toBeUndefined();
  });
});

describe('IAM: every statement', () => {
  it('ingest: its log group, the table and its indexes, getting and putting checks, the group schedules, passing the scheduler role, publishing events, the token secret', () => {
    expect(roleStatements(s, s.stack.ingest.role)).toEqual([
      writeLogs('Ingest'),
      tableIngest,
      checksReadWrite,
      ...scheduleWrites(s.stack.scheduling.group.scheduleGroupName),
      publishEvents,
      readTokens,
    ]);
  });

  it('read: its log group, reading the table and its indexes, getting checks (one or a batch) but never writing them; no token secret', () => {
    expect(roleStatements(s, s.stack.read.role)).toEqual([writeLogs('Read'), tableRead, checksRead]);
  });

  it('operate: its log group, the table, getting and putting checks, the group schedules (writing back one it deleted if its write fails, and deleting), publishing events', () => {
    const group = s.stack.scheduling.group.scheduleGroupName;
    const [writes, passRole] = scheduleWrites(group);
    expect(roleStatements(s, s.stack.operate.role)).toEqual([
      writeLogs('Operate'),
      tableReadWrite,
      checksReadWrite,
      // CDK merges the delete into the writes' statement: the same resource.
      {
        ...writes,
        Action: ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule', 'scheduler:UpdateSchedule'],
      },
      passRole,
      publishEvents,
    ]);
  });

  it('expiry: its log group, the table and its indexes, getting and putting checks, the DLQ, the group schedules, passing the scheduler role, publishing events', () => {
    expect(roleStatements(s, s.stack.expiry.role)).toEqual([
      writeLogs('Expiry'),
      tableReadWrite,
      checksReadWrite,
      sendToDlq,
      ...scheduleWrites(s.stack.scheduling.group.scheduleGroupName),
      publishEvents,
    ]);
  });

  it('reconcile: its log group, reading, scanning and writing the table, getting (one or a batch) and putting checks, the group schedules, passing the scheduler role, publishing events', () => {
    expect(roleStatements(s, s.stack.reconciler.fn.role)).toEqual([
      writeLogs('Reconciler/Function'),
      tableReconcile,
      checksReconcile,
      ...scheduleWrites(s.stack.scheduling.group.scheduleGroupName),
      publishEvents,
    ]);
  });

  it('the maintenance windows item (agentId "#maintenance#windows", replaced on its version): operate and the reconciler read and conditionally put it, expiry reads it, read cannot write it', () => {
    const tableActions = (role: Parameters<typeof roleStatements>[1]) =>
      (roleStatements(s, role) as Array<{ Action: string | string[]; Resource: unknown }>)
        .filter((statement) => JSON.stringify(statement.Resource).includes('Store/Agents'))
        .flatMap((statement) => statement.Action);
    for (const fn of [s.stack.operate, s.stack.reconciler.fn])
      expect(tableActions(fn.role)).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:PutItem']));
    expect(tableActions(s.stack.expiry.role)).toContain('dynamodb:GetItem');
    // GET /v1/maintenance is the operate function's: the read API never writes, windows included.
    expect(tableActions(s.stack.read.role)).not.toContain('dynamodb:PutItem');
  });

  it('the checks table: every function that touches agents, on the table alone; nobody updates, deletes, queries or scans it (TTL removes items)', () => {
    const fns = {
      Ingest: s.stack.ingest,
      Read: s.stack.read,
      Operate: s.stack.operate,
      Expiry: s.stack.expiry,
      'Reconciler/Function': s.stack.reconciler.fn,
    };
    const onChecks = Object.entries(fns).map(([name, fn]) => [
      name,
      (roleStatements(s, fn.role) as Array<{ Action: string | string[]; Resource: unknown }>).filter(
        (statement) => JSON.stringify(statement.Resource).includes('Store/Checks'),
      ),
    ]);
    for (const [name, statements] of onChecks) {
      expect(statements, String(name)).toHaveLength(1);
      for (const statement of statements as Array<{ Action: string[]; Resource: unknown }>) {
        expect(statement.Resource).toBe('${Store/Checks.Arn}');
        for (const action of statement.Action)
          expect(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:BatchGetItem']).toContain(action);
      }
    }
  });

  it("the reconciler's schedule role is assumed by Scheduler for this account, and invokes only the reconcile function", () => {
    expect(propertiesOf(s, s.stack.reconciler.role).AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'scheduler.amazonaws.com' },
          Condition: { StringEquals: { 'aws:SourceAccount': '${AWS::AccountId}' } },
        },
      ],
    });
    expect(roleStatements(s, s.stack.reconciler.role)).toEqual([
      {
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: ['${Reconciler/Function/Function.Arn}', '${Reconciler/Function/Function.Arn}:*'],
      },
    ]);
  });

  it('function roles are assumed by Lambda only', () => {
    for (const fn of [s.stack.ingest, s.stack.read, s.stack.operate, s.stack.expiry, s.stack.reconciler.fn]) {
      expect(propertiesOf(s, fn.role).AssumeRolePolicyDocument).toEqual({
        Version: '2012-10-17',
        Statement: [
          { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
        ],
      });
    }
  });

  it('the scheduler role is assumed by Scheduler for this account and group, invokes only expiry, sends only to the DLQ', () => {
    expect(propertiesOf(s, s.stack.scheduling.role).AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'scheduler.amazonaws.com' },
          Condition: {
            StringEquals: {
              'aws:SourceAccount': '${AWS::AccountId}',
              'aws:SourceArn': '${Scheduling/Group.Arn}',
            },
          },
        },
      ],
    });
    expect(roleStatements(s, s.stack.scheduling.role)).toEqual([
      {
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: ['${Expiry/Function.Arn}', '${Expiry/Function.Arn}:*'],
      },
      sendToDlq,
    ]);
  });

  it('has no other roles or policies', () => {
    s.template.resourceCountIs('AWS::IAM::Role', 7);
    s.template.resourceCountIs('AWS::IAM::Policy', 7);
    s.template.resourceCountIs('AWS::IAM::ManagedPolicy', 1);
  });

  it("offers on-call one managed policy: execute-api:Invoke on this API's read, operator and maintenance routes only", () => {
    expect(propertiesOf(s, s.stack.api.operatorPolicy).PolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 'execute-api:Invoke',
          Resource: [
            `${ARN}:execute-api:${REGION_ACCOUNT}:\${Api/HttpApi}/*/*/v1/agents`,
            `${ARN}:execute-api:${REGION_ACCOUNT}:\${Api/HttpApi}/*/*/v1/agents/*`,
            `${ARN}:execute-api:${REGION_ACCOUNT}:\${Api/HttpApi}/*/*/v1/maintenance`,
            `${ARN}:execute-api:${REGION_ACCOUNT}:\${Api/HttpApi}/*/*/v1/maintenance/*`,
          ],
        },
      ],
    });
  });
});

describe('scheduling', () => {
  it('creates the schedule group the functions write to, retained with the stack', () => {
    const group = s.template.toJSON().Resources[s.logicalId(s.stack.scheduling.group)];
    expect(group).toMatchObject({
      Type: 'AWS::Scheduler::ScheduleGroup',
      Properties: { Name: s.stack.scheduling.group.scheduleGroupName },
      DeletionPolicy: 'Retain',
    });
    expect(s.stack.scheduling.group.scheduleGroupName).toMatch(
      /^HeartbeatService-Scheduling-Group-[0-9A-F]{8}$/,
    );
  });

  it('keeps failed firings 14 days in an encrypted, TLS-only dead-letter queue', () => {
    expect(propertiesOf(s, s.stack.scheduling.deadLetterQueue)).toEqual({
      MessageRetentionPeriod: 1_209_600,
      SqsManagedSseEnabled: true,
    });
    s.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: s.logicalId(s.stack.scheduling.deadLetterQueue) }],
      PolicyDocument: {
        Statement: [
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ],
      },
    });
  });

  it("dead-letters an expiry the function itself failed on (Scheduler's async invoke ends at delivery)", () => {
    const configs = Object.values(s.template.findResources('AWS::Lambda::EventInvokeConfig')).map((c) =>
      s.render(c.Properties),
    );
    expect(configs).toEqual([
      {
        FunctionName: '${Expiry/Function}',
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 2,
        // The schedules' own RetryPolicy bound: an hour late is for on-call, not for more waiting.
        MaximumEventAgeInSeconds: 3600,
        // The same queue as Scheduler's dead letters, so the one DLQ alarm covers both.
        DestinationConfig: { OnFailure: { Destination: '${Scheduling/DeadLetters.Arn}' } },
      },
      // A failed reconciler run is not retried: the next one is due within its period.
      {
        FunctionName: '${Reconciler/Function/Function}',
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 0,
        MaximumEventAgeInSeconds: 300,
      },
    ]);
    // Lambda checks the role may send to the destination when the config is written: the config
    // refers to the function, which CloudFormation creates only after the role's policy.
    const policy = s.stack.expiry.role.node.findChild('DefaultPolicy');
    const fn = s.template.toJSON().Resources[s.logicalId(s.stack.expiry.function)] as { DependsOn: string[] };
    expect(fn.DependsOn).toContain(s.logicalId(policy));
  });
});

describe('reconciler', () => {
  it('runs every 5 minutes on a rate schedule, not retried, one run at a time, within its period', () => {
    const schedule = s.render(propertiesOf(s, s.stack.reconciler.schedule)) as Record<string, unknown>;
    expect(schedule).toMatchObject({
      ScheduleExpression: 'rate(5 minutes)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Target: {
        Arn: '${Reconciler/Function/Function.Arn}',
        RoleArn: '${Reconciler/InvokeRole.Arn}',
        RetryPolicy: { MaximumEventAgeInSeconds: 300, MaximumRetryAttempts: 0 },
      },
    });
    // In the default group: the agents' group holds exactly one schedule per alive agent.
    expect(schedule.GroupName).toBeUndefined();
    expect(propertiesOf(s, s.stack.reconciler.fn.function)).toMatchObject({
      Timeout: 270,
      ReservedConcurrentExecutions: 1,
    });
  });

  it('alarms when a run fails and when no run happened in three periods', () => {
    const reconcileErrors = s.stack.monitoring.functionErrors.reconcile;
    expect(s.render(propertiesOf(s, reconcileErrors))).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: '${Reconciler/Function/Function}' }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    expect(s.render(propertiesOf(s, s.stack.monitoring.reconcilerNotRunning))).toMatchObject({
      MetricName: 'Invocations',
      Period: 900,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  });
});

describe('store (dynamodb)', () => {
  it('matches the table the code creates locally: keys, byState keys-only index, on demand', () => {
    const code = agentTableDefinition('agents');
    const table = propertiesOf(s, agentTable());
    const byName = (a: { AttributeName?: string }, b: { AttributeName?: string }) =>
      String(a.AttributeName).localeCompare(String(b.AttributeName));
    expect(table.KeySchema).toEqual(code.KeySchema);
    expect([...(table.AttributeDefinitions as [])].sort(byName)).toEqual(
      [...(code.AttributeDefinitions ?? [])].sort(byName),
    );
    expect(table.GlobalSecondaryIndexes).toEqual(
      code.GlobalSecondaryIndexes?.map(({ IndexName, KeySchema, Projection }) => ({
        IndexName,
        KeySchema,
        Projection,
      })),
    );
    expect(table.BillingMode).toBe(code.BillingMode);
  });

  it('is encrypted, has point-in-time recovery, and survives stack deletion', () => {
    expect(s.template.toJSON().Resources[s.logicalId(agentTable())]).toMatchObject({
      Properties: {
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it("expires the fleet pulse's hourly items by TTL on the attribute the adapter writes", () => {
    expect(s.template.toJSON().Resources[s.logicalId(agentTable())]).toMatchObject({
      Properties: { TimeToLiveSpecification: { AttributeName: PULSE_TTL_ATTRIBUTE, Enabled: true } },
    });
  });

  it('has no Couchbase secret or VPC', () => {
    expect(JSON.stringify(s.template.toJSON())).not.toContain('COUCHBASE');
    expect(s.template.findResources('AWS::EC2::SecurityGroup')).toEqual({});
  });

  it('has exactly two tables: the agents and their checks kept apart', () => {
    s.template.resourceCountIs('AWS::DynamoDB::Table', 2);
  });

  it('leaves both tables unnamed: CloudFormation names them, so two stacks never collide', () => {
    expect(propertiesOf(s, agentTable())).not.toHaveProperty('TableName');
    expect(propertiesOf(s, checksTable())).not.toHaveProperty('TableName');
  });
});

describe('checks table (dynamodb)', () => {
  it('matches the table the code creates locally: key id (string), on demand, no index', () => {
    const code = checksTableDefinition('checks');
    const table = propertiesOf(s, checksTable());
    expect(table.KeySchema).toEqual([{ AttributeName: 'id', KeyType: 'HASH' }]);
    expect(table.KeySchema).toEqual(code.KeySchema);
    expect(table.AttributeDefinitions).toEqual(code.AttributeDefinitions);
    expect(table.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table.BillingMode).toBe(code.BillingMode);
    expect(table).not.toHaveProperty('GlobalSecondaryIndexes');
    expect(table).not.toHaveProperty('LocalSecondaryIndexes');
  });

  it('expires checks items by TTL on the attribute the adapter writes', () => {
    // Renaming it on a live table is a migration: items written under the old name never expire.
    expect(CHECKS_TTL_ATTRIBUTE).toBe('expiresAtSeconds');
    expect(propertiesOf(s, checksTable()).TimeToLiveSpecification).toEqual({
      AttributeName: CHECKS_TTL_ATTRIBUTE,
      Enabled: true,
    });
  });

  it('is encrypted, recoverable to a point in time and retained, as the agent table whose items name it', () => {
    const resources = s.template.toJSON().Resources;
    const protection = (table: Parameters<Synth['logicalId']>[0]) => {
      const resource = resources[s.logicalId(table)] as {
        Properties: Record<string, unknown>;
        DeletionPolicy: unknown;
        UpdateReplacePolicy: unknown;
      };
      return {
        PointInTimeRecoverySpecification: resource.Properties.PointInTimeRecoverySpecification,
        SSESpecification: resource.Properties.SSESpecification,
        DeletionPolicy: resource.DeletionPolicy,
        UpdateReplacePolicy: resource.UpdateReplacePolicy,
      };
    };
    expect(protection(checksTable())).toEqual({
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    expect(protection(checksTable())).toEqual(protection(agentTable()));
  });
});

describe('agent token secret', () => {
  it('is generated by Secrets Manager as {"current": ...}: no value in the template', () => {
    const secret = propertiesOf(s, s.stack.tokenSecret);
    expect(secret).toMatchObject({
      GenerateSecretString: {
        SecretStringTemplate: '{}',
        GenerateStringKey: 'current',
        PasswordLength: 48,
        ExcludePunctuation: true,
      },
    });
    expect(secret).not.toHaveProperty('SecretString');
    s.template.resourceCountIs('AWS::SecretsManager::Secret', 1);
  });

  it('no environment variable carries a secret value, only where to read it', () => {
    for (const fn of [s.stack.ingest, s.stack.read, s.stack.expiry]) {
      for (const name of Object.keys(env(fn))) {
        expect(name).not.toMatch(/TOKEN(S)?$|PASSWORD|CONNECTION/);
      }
    }
  });

  it('is named in the outputs, with the command that prints it', () => {
    s.template.hasOutput('TokenSecretArn', { Value: { Ref: s.logicalId(s.stack.tokenSecret) } });
    expect(s.render(s.template.findOutputs('TokenSecretCommand').TokenSecretCommand?.Value)).toBe(
      'aws secretsmanager get-secret-value --secret-id ${AgentTokens} --query SecretString --output text',
    );
  });
});

describe('on-call', () => {
  const monitoring = () => s.stack.monitoring;

  it('alarms when the expiry dead-letter queue holds any message', () => {
    expect(propertiesOf(s, monitoring().dlqNotEmpty)).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: '${Scheduling/DeadLetters.QueueName}' }],
      Statistic: 'Maximum',
      Period: 60,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      EvaluationPeriods: 1,
    });
  });

  it('counts ingest requests and 5xx from the access log and alarms on the 5xx rate', () => {
    const filters = Object.values(s.template.findResources('AWS::Logs::MetricFilter')).map((f) =>
      s.render(f.Properties),
    );
    expect(filters).toEqual([
      {
        LogGroupName: '${Api/AccessLogs}',
        FilterPattern: '{ $.routeKey = "ANY /v1/heartbeats" }',
        MetricTransformations: [
          {
            MetricNamespace: 'HeartbeatService',
            MetricName: 'IngestRequests',
            MetricValue: '1',
            DefaultValue: 0,
          },
        ],
      },
      {
        LogGroupName: '${Api/AccessLogs}',
        FilterPattern: '{ ($.routeKey = "ANY /v1/heartbeats") && ($.status = "5*") }',
        MetricTransformations: [
          { MetricNamespace: 'HeartbeatService', MetricName: 'Ingest5xx', MetricValue: '1', DefaultValue: 0 },
        ],
      },
    ]);
    expect(propertiesOf(s, monitoring().ingest5xxRate)).toMatchObject({
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 1,
      Metrics: [
        { Id: 'expr_1', Expression: 'IF(requests >= 10, 100 * errors / requests, 0)', ReturnData: true },
        {
          Id: 'requests',
          MetricStat: {
            Metric: { Namespace: 'HeartbeatService', MetricName: 'IngestRequests' },
            Period: 300,
            Stat: 'Sum',
          },
          ReturnData: false,
        },
        {
          Id: 'errors',
          MetricStat: {
            Metric: { Namespace: 'HeartbeatService', MetricName: 'Ingest5xx' },
            Period: 300,
            Stat: 'Sum',
          },
          ReturnData: false,
        },
      ],
    });
  });

  it.each(['ingest', 'read', 'operate', 'expiry'] as const)('alarms on any failed %s invocation', (name) => {
    const fnPath = { ingest: 'Ingest', read: 'Read', operate: 'Operate', expiry: 'Expiry' }[name];
    expect(propertiesOf(s, monitoring().functionErrors[name])).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: `\${${fnPath}/Function}` }],
      Statistic: 'Sum',
      Period: 300,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
    });
  });

  it('alarms on an expiry spike: more than 50 AgentsExpired in 5 minutes by default', () => {
    expect(propertiesOf(s, monitoring().expirySpike)).toMatchObject({
      Namespace: 'HeartbeatService',
      MetricName: 'AgentsExpired',
      Dimensions: [{ Name: 'service', Value: 'heartbeat' }],
      Statistic: 'Sum',
      Period: 300,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 50,
    });
  });

  it('treats missing data as OK (but for the reconciler not running) and notifies nobody unless a topic or e-mail is configured', () => {
    const alarms = Object.values(s.template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(11);
    for (const alarm of alarms) {
      const notRunning = alarm.Properties.MetricName === 'Invocations';
      expect(alarm.Properties.TreatMissingData).toBe(notRunning ? 'breaching' : 'notBreaching');
      expect(alarm.Properties.AlarmActions).toBeUndefined();
      expect(typeof alarm.Properties.AlarmDescription).toBe('string');
    }
    s.template.resourceCountIs('AWS::SNS::Topic', 0);
    // Nothing to send expiries and recoveries to: no rule, and synth says so.
    s.template.resourceCountIs('AWS::Events::Rule', 0);
  });

  it('warns at synth that nobody is notified when neither alarmEmail nor alarmTopicArn is set', () => {
    Annotations.fromStack(s.stack).hasWarning(
      '/HeartbeatService',
      Match.stringLikeRegexp(
        'alarmEmail nor alarmTopicArn .* the alarms and the expiry/recovery rule notify nobody',
      ),
    );
    expect(NO_ALARM_DESTINATION_WARNING).toMatch(/-c alarmEmail=.*-c alarmTopicArn=/);
  });

  it('alarms on any event the functions could not publish: EventPublishFailures summed over 5 minutes', () => {
    expect(s.render(propertiesOf(s, monitoring().eventPublishFailures))).toMatchObject({
      Namespace: 'HeartbeatService',
      MetricName: 'EventPublishFailures',
      Dimensions: [{ Name: 'service', Value: 'heartbeat' }],
      Statistic: 'Sum',
      Period: 300,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmDescription: expect.stringContaining('the reconciler retries them'),
    });
  });

  it('has one "pipeline suspected" alarm on deferred expiries, however many agents they are', () => {
    const alarms = Object.values(s.template.findResources('AWS::CloudWatch::Alarm')).filter(
      (alarm) => alarm.Properties.MetricName === 'ExpiriesDeferred',
    );
    expect(alarms).toHaveLength(1);
    expect(alarms[0]?.Properties).toMatchObject({
      Namespace: 'HeartbeatService',
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(alarms[0]?.Properties.AlarmDescription).toMatch(/suspectedPipelineOutage/);
  });

  it('queries the very messages the functions write', () => {
    expect(LOG_MESSAGES.expired).toBe(EXPIRED_MESSAGE);
    expect(LOG_MESSAGES.massSummary).toBe(MASS_SUMMARY_MESSAGE);
    expect(LOG_MESSAGES.eventsNotPublished).toBe(NOT_PUBLISHED_MESSAGE);
  });

  it('saves the Logs Insights queries on-call needs', () => {
    const queries = Object.values(s.template.findResources('AWS::Logs::QueryDefinition')).map((q) =>
      s.render(q.Properties),
    );
    expect(queries).toEqual([
      {
        Name: 'HeartbeatService/agents expired in the last 24 h',
        LogGroupNames: ['${Expiry/Logs}', '${Reconciler/Function/Logs}'],
        QueryString:
          'fields @timestamp, agentId, expiredAt, detectedAt, lateBySeconds, lastSeen, ttlSeconds, bootId, failingChecks, labels, detectedBy, suspectedPipelineOutage, massExpiry\n' +
          '| filter message = "agent expired"\n| sort @timestamp desc\n| limit 10000',
      },
      {
        Name: 'HeartbeatService/mass expiries by minute',
        LogGroupNames: ['${Expiry/Logs}', '${Reconciler/Function/Logs}'],
        QueryString:
          'fields @timestamp, minuteStart, minuteEnd, expired\n| filter message = "mass expiry: agents expired together"\n| sort minuteStart desc\n| limit 10000',
      },
      {
        Name: 'HeartbeatService/recoveries',
        LogGroupNames: ['${Ingest/Logs}'],
        QueryString:
          'fields @timestamp, agentId, from, expiredAt, lastSeen, bootId\n| filter message = "agent recovered"\n| sort @timestamp desc\n| limit 10000',
      },
      {
        Name: 'HeartbeatService/ingest errors by status',
        LogGroupNames: ['${Api/AccessLogs}'],
        QueryString:
          'filter routeKey = "ANY /v1/heartbeats"\n| filter status like /^[45]/\n| stats count(*) as requests by status\n| sort requests desc',
      },
      {
        Name: 'HeartbeatService/ingest backend and unhandled errors',
        LogGroupNames: ['${Ingest/Logs}'],
        QueryString:
          'fields @timestamp, level, message, @message\n| filter message in ["backend unavailable", "unhandled error"]\n| sort @timestamp desc\n| limit 1000',
      },
    ]);
  });

  it('has a dashboard with the service, API, scheduler, DLQ and function widgets', () => {
    const body = JSON.parse(s.render(propertiesOf(s, monitoring().dashboard).DashboardBody) as string) as {
      widgets: Array<{ properties: { title: string; metrics?: unknown[][] } }>;
    };
    const titles = body.widgets.map((w) => w.properties.title);
    expect(titles).toEqual([
      'Heartbeats / min',
      'Expiries / min',
      'Recoveries / min',
      'Schedule writes / min',
      'Reconciler: agents checked / run',
      'Reconciler: lost timers repaired',
      'Reconciler: errors and runs',
      'Reconciler run time (ms)',
      'API 4xx / 5xx / min',
      'Ingest 5xx rate (%)',
      'Throttles / min',
      'Expiry DLQ depth',
      'Function errors / min',
      'Function duration p50 (ms)',
      'Function duration p99 (ms)',
      'Function throttles / min',
      'Alarms',
      'Events published / min',
      'Latest expiries',
    ]);
    const metricsOf = (title: string) =>
      (body.widgets.find((w) => w.properties.title === title)?.properties.metrics ?? []).map((m) =>
        m.slice(0, 2).join(' '),
      );
    expect(metricsOf('Heartbeats / min')).toEqual(['HeartbeatService Heartbeats']);
    expect(metricsOf('Expiries / min')).toEqual(['HeartbeatService AgentsExpired']);
    expect(metricsOf('Recoveries / min')).toEqual(['HeartbeatService AgentsRecovered']);
    expect(metricsOf('Schedule writes / min')).toEqual([
      'HeartbeatService ScheduleWrites',
      'HeartbeatService ScheduleWriteFailures',
      'HeartbeatService ExpiryInvocations',
    ]);
    expect(metricsOf('Reconciler: lost timers repaired')).toEqual([
      'HeartbeatService ReconcileOverdue',
      'HeartbeatService ReconcileRearmed',
      'HeartbeatService ReconcileExpired',
      'HeartbeatService ReconcileReported',
    ]);
    expect(metricsOf('Reconciler: errors and runs')).toEqual([
      'HeartbeatService ReconcileErrors',
      'AWS/Lambda Errors',
      'AWS/Lambda Invocations',
    ]);
    expect(metricsOf('API 4xx / 5xx / min')).toEqual([
      'AWS/ApiGateway 4xx',
      'AWS/ApiGateway 5xx',
      'AWS/ApiGateway Count',
    ]);
    expect(metricsOf('Throttles / min')).toEqual([
      'HeartbeatService SchedulerThrottles',
      'HeartbeatService StoreThrottles',
      'AWS/Scheduler InvocationThrottleCount',
      'AWS/Scheduler TargetErrorThrottledCount',
    ]);
    expect(metricsOf('Expiry DLQ depth')).toEqual(['AWS/SQS ApproximateNumberOfMessagesVisible']);
    expect(metricsOf('Events published / min')).toEqual([
      'HeartbeatService EventsPublished',
      'HeartbeatService EventPublishFailures',
    ]);
    expect(metricsOf('Function errors / min')).toEqual(Array(5).fill('AWS/Lambda Errors'));
    expect(metricsOf('Function duration p99 (ms)')).toEqual(Array(5).fill('AWS/Lambda Duration'));
  });
});

describe('events', () => {
  it('creates a bus of its own, named by CloudFormation from the construct path rather than by hand', () => {
    expect(propertiesOf(s, s.stack.events.bus)).toEqual({
      Name: expect.stringMatching(/^HeartbeatServiceEventsBus[0-9A-F]{8}$/),
      Description: expect.stringContaining('Heartbeat service events'),
    });
    s.template.resourceCountIs('AWS::Events::EventBus', 1);
  });

  it('lets exactly ingest, expiry, operate and the reconciler publish, on that bus and with the source rules match on', () => {
    expect(EVENT_SOURCE).toBe('heartbeat-expiry');
    const publishers = Object.entries({
      Ingest: s.stack.ingest,
      Read: s.stack.read,
      Operate: s.stack.operate,
      Expiry: s.stack.expiry,
      'Reconciler/Function': s.stack.reconciler.fn,
    })
      .filter(([, fn]) => JSON.stringify(roleStatements(s, fn.role)).includes('events:'))
      .map(([name]) => name);
    expect(publishers).toEqual(['Ingest', 'Operate', 'Expiry', 'Reconciler/Function']);
    expect(env(s.stack.read)).not.toHaveProperty('EVENT_BUS_NAME');
  });
});

describe('outputs', () => {
  it('tell the operator where the API, token, schedules, DLQ, logs, dashboard, tables and events are', () => {
    const outputs = Object.fromEntries(
      Object.entries(s.template.findOutputs('*')).map(([key, output]) => [key, s.render(output.Value)]),
    );
    expect(outputs).toEqual({
      ApiUrl: 'https://${Api/HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/',
      HeartbeatUrl: 'https://${Api/HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/v1/heartbeats',
      TokenSecretArn: '${AgentTokens}',
      TokenSecretCommand: expect.stringContaining('--secret-id ${AgentTokens}'),
      ScheduleGroupName: s.stack.scheduling.group.scheduleGroupName,
      ExpiryDeadLetterQueueUrl: '${Scheduling/DeadLetters}',
      ExpiryFunctionName: '${Expiry/Function}',
      ExpiryLogGroupName: '${Expiry/Logs}',
      ReconcileLogGroupName: '${Reconciler/Function/Logs}',
      IngestLogGroupName: '${Ingest/Logs}',
      AccessLogGroupName: '${Api/AccessLogs}',
      OperatorPolicyArn: '${Api/OperatorPolicy}',
      DashboardUrl: expect.stringContaining('#dashboards:name=${Monitoring/Dashboard}'),
      AgentTableName: '${Store/Agents}',
      ChecksTableName: '${Store/Checks}',
      EventBusName: '${Events/Bus}',
      EventBusArn: '${Events/Bus.Arn}',
      EventSource: 'heartbeat-expiry',
    });
  });
});

describe('synthesis', () => {
  it('passes cdk-nag AwsSolutions with no unacknowledged finding', () => {
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(s.app);
    expect(report.violations).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('acknowledges exactly these findings, each with a reason', () => {
    const acknowledged = acknowledgements(s);
    for (const [where, rules] of Object.entries(acknowledged)) {
      for (const [id, reason] of Object.entries(rules))
        expect(reason.length, `${id} on ${where}`).toBeGreaterThan(60);
    }
    const tableIndexes = `AwsSolutions-IAM5[Resource::<${s.logicalId(agentTable())}.Arn>/index/*]`;
    const groupSchedules = `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${s.stack.scheduling.group.scheduleGroupName}/*]`;
    expect(
      Object.fromEntries(Object.entries(acknowledged).map(([where, rules]) => [where, Object.keys(rules)])),
    ).toEqual({
      'Ingest/Role': [tableIndexes, groupSchedules],
      'Read/Role': [tableIndexes],
      'Operate/Role': [tableIndexes, groupSchedules],
      'Expiry/Role': [tableIndexes, groupSchedules],
      'Reconciler/Function/Role': [tableIndexes, groupSchedules],
      'Reconciler/InvokeRole': [
        `AwsSolutions-IAM5[Resource::<${s.logicalId(s.stack.reconciler.fn.function)}.Arn>:*]`,
      ],
      'Scheduling/DeadLetters': ['AwsSolutions-SQS3'],
      'Scheduling/InvokeExpiryRole': [
        `AwsSolutions-IAM5[Resource::<${s.logicalId(s.stack.expiry.function)}.Arn>:*]`,
      ],
      AgentTokens: ['AwsSolutions-SMG4'],
      'Api/HttpApi': ['AwsSolutions-APIG4'],
      'Api/OperatorPolicy': ['/v1/agents', '/v1/agents/*', '/v1/maintenance', '/v1/maintenance/*'].map(
        (path) =>
          `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${s.logicalId(s.stack.api.httpApi)}>/*/*${path}]`,
      ),
    });
  });

  it('records the acknowledgements and their reasons in the template, next to the resources', () => {
    const tokens = s.template.toJSON().Resources[s.logicalId(s.stack.tokenSecret)] as { Metadata: unknown };
    expect(tokens.Metadata).toMatchObject({
      cdk_nag: {
        rules_to_suppress: [{ id: 'AwsSolutions-SMG4', reason: expect.stringContaining('rotation') }],
      },
    });
  });

  it('leaves no CDK error, and no warning but the one about the missing alarm destination', () => {
    expect(Annotations.fromStack(s.stack).findError('*', Match.anyValue())).toEqual([]);
    const warnings = Annotations.fromStack(s.stack).findWarning('*', Match.anyValue());
    expect(warnings.map((w) => ({ id: w.id, text: w.entry.data }))).toEqual([
      { id: '/HeartbeatService', text: expect.stringContaining(NO_ALARM_DESTINATION_WARNING) },
    ]);
  });

  it('makes no context lookups and needs no account or region', () => {
    const assembly = s.app.synth();
    expect(assembly.manifest.missing ?? []).toEqual([]);
    expect(assembly.getStackByName(s.stack.stackName).environment).toMatchObject({
      account: 'unknown-account',
      region: 'unknown-region',
    });
  });

  it.each(['ingest', 'read', 'operate', 'expiry'] as const)(
    'bundles %s as one ESM file with its source map and no node_modules',
    (name) => {
      const dir = s.assetDir(s.stack[name]);
      expect(readdirSync(dir).sort()).toEqual(['index.mjs', 'index.mjs.map']);
      const code = readFileSync(path.join(dir, 'index.mjs'), 'utf8');
      expect(
        code.startsWith("import { createRequire as __heartbeatCreateRequire } from 'node:module';"),
      ).toBe(true);
      expect(code).toMatch(/export\s*\{[^}]*\bhandler\b[^}]*\}/);
      expect(code).toContain('//# sourceMappingURL=index.mjs.map');
      // The SDK is bundled (pinned by package-lock.json), not taken from the runtime.
      expect(code).not.toMatch(/from\s*["']@aws-sdk\//);
      // Nothing asks for the Couchbase SDK, which this mode does not ship.
      expect(code).not.toMatch(/from\s*["']couchbase["']|(import|require)\(\s*["']couchbase["']\s*\)/);
      expect(existsSync(path.join(dir, 'node_modules'))).toBe(false);
    },
  );

  it.each(['ingest', 'read', 'operate', 'expiry'] as const)(
    'the %s bundle loads on its own, with the environment the stack gives it',
    (name) => {
      const fn = s.stack[name];
      const variables = Object.fromEntries(
        Object.entries(env(fn)).map(([key, value]) => [key, placeholder(key, String(value))]),
      );
      // A copy elsewhere: no node_modules next to it or above it, as in /var/task.
      const dir = mkdtempSync(path.join(tmpdir(), 'heartbeat-load-'));
      try {
        cpSync(s.assetDir(fn), dir, { recursive: true });
        const url = pathToFileURL(path.join(dir, 'index.mjs')).href;
        const child = spawnSync(
          process.execPath,
          [
            '--input-type=module',
            '-e',
            `const m = await import(${JSON.stringify(url)}); process.stdout.write(typeof m.handler);`,
          ],
          {
            cwd: dir,
            encoding: 'utf8',
            timeout: 20_000,
            env: {
              PATH: process.env.PATH ?? '',
              ...variables,
              AWS_REGION: 'us-east-1',
              AWS_ACCESS_KEY_ID: 'test',
              AWS_SECRET_ACCESS_KEY: 'test',
              AWS_EC2_METADATA_DISABLED: 'true',
              // Should module scope ever call out, it reaches a closed loopback port, not AWS.
              AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
            },
          },
        );
        expect(child.stderr).toBe('');
        expect(child.stdout).toBe('function');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
