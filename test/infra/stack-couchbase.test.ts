import { spawnSync } from 'node:child_process';
import { existsSync, openSync, readFileSync, readSync, closeSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COUCHBASE_BINARY_PACKAGE } from '../../cdk/couchbase-native.js';
import { lockedVersion } from '../../cdk/project.js';
import { type Synth, acknowledgements, propertiesOf, roleStatements, synth } from './synth.js';

// Couchbase mode with a VPC placement and an alarm e-mail, synthesized once with real bundling:
// the functions' bundles then carry the Couchbase SDK, installed for linux-arm64.
const SECRET_NAME = 'heartbeat/couchbase';
let s: Synth;
beforeAll(() => {
  s = synth({
    persistence: 'couchbase',
    couchbaseSecret: SECRET_NAME,
    vpcId: 'vpc-0123456789abcdef0',
    // As `-c subnetIds=a,b` passes them, and as a cdk.json list.
    subnetIds: 'subnet-0aaa1111,subnet-0bbb2222',
    securityGroupIds: ['sg-0ccc3333'],
    alarmEmail: 'oncall@example.com',
    expirySpikeThreshold: '120',
    ttlSeconds: '120',
    intervalSeconds: 40,
    logRetentionDays: 90,
  });
});
afterAll(() => s?.cleanup());

const ARN = 'arn:${AWS::Partition}';
const REGION_ACCOUNT = '${AWS::Region}:${AWS::AccountId}';
const SECRET_ARN = `${ARN}:secretsmanager:${REGION_ACCOUNT}:secret:${SECRET_NAME}`;
const functions = () => ({
  Ingest: s.stack.ingest,
  Read: s.stack.read,
  Operate: s.stack.operate,
  Expiry: s.stack.expiry,
});

const eni = {
  Effect: 'Allow',
  Action: [
    'ec2:AssignPrivateIpAddresses',
    'ec2:CreateNetworkInterface',
    'ec2:DeleteNetworkInterface',
    'ec2:DescribeNetworkInterfaces',
    'ec2:DescribeSubnets',
    'ec2:UnassignPrivateIpAddresses',
  ],
  Resource: '*',
};
const publishEvents = {
  Effect: 'Allow',
  Action: 'events:PutEvents',
  Resource: '${Events/Bus.Arn}',
  Condition: { 'ForAllValues:StringEquals': { 'events:source': ['heartbeat-expiry'] } },
};
const sendToDlq = { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: '${Scheduling/DeadLetters.Arn}' };
const writeLogs = (fn: string) => ({
  Effect: 'Allow',
  Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
  Resource: `\${${fn}/Logs.Arn}`,
});
const scheduleWrites = () => [
  {
    Effect: 'Allow',
    Action: ['scheduler:CreateSchedule', 'scheduler:UpdateSchedule'],
    Resource: `${ARN}:scheduler:${REGION_ACCOUNT}:schedule/${s.stack.scheduling.group.scheduleGroupName}/*`,
  },
  {
    Effect: 'Allow',
    Action: 'iam:PassRole',
    Resource: '${Scheduling/InvokeExpiryRole.Arn}',
    Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
  },
];

function env(fn: { function: Parameters<Synth['logicalId']>[0] }): Record<string, unknown> {
  return (propertiesOf(s, fn.function).Environment as { Variables: Record<string, unknown> }).Variables;
}

describe('functions (couchbase)', () => {
  it('every function in the template runs nodejs24.x on arm64', () => {
    const functions = Object.values(s.template.findResources('AWS::Lambda::Function'));
    expect(functions.length).toBe(5);
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
    }
  });
});

describe('store (couchbase)', () => {
  it('creates no table: the cluster is not the stack’s', () => {
    s.template.resourceCountIs('AWS::DynamoDB::Table', 0);
    expect(JSON.stringify(s.template.toJSON())).not.toContain('TABLE_NAME');
  });

  it('has no checks table either: no table name in any function, no table output, no DynamoDB grant', () => {
    for (const fn of [...Object.values(functions()), s.stack.reconciler.fn]) {
      const variables = env(fn);
      expect(variables).not.toHaveProperty('TABLE_NAME');
      expect(variables).not.toHaveProperty('CHECKS_TABLE_NAME');
      expect(JSON.stringify(roleStatements(s, fn.role))).not.toContain('dynamodb:');
    }
    const outputs = Object.keys(s.template.findOutputs('*'));
    expect(outputs).not.toContain('AgentTableName');
    expect(outputs).not.toContain('ChecksTableName');
  });

  it.each(['Ingest', 'Read', 'Expiry'] as const)(
    'tells %s where the connection secret is, never what it holds',
    (name) => {
      const variables = env(functions()[name]);
      expect(variables).toMatchObject({ PERSISTENCE: 'couchbase', COUCHBASE_SECRET_ARN: SECRET_ARN });
      expect(Object.keys(variables).filter((key) => key.startsWith('COUCHBASE'))).toEqual([
        'COUCHBASE_SECRET_ARN',
      ]);
      expect(variables).not.toHaveProperty('TABLE_NAME');
    },
  );

  it('passes the policy settings from context to ingest', () => {
    expect(env(s.stack.ingest)).toMatchObject({
      HEARTBEAT_TTL_SECONDS: '120',
      HEARTBEAT_INTERVAL_SECONDS: '40',
      MIN_TTL_SECONDS: '60',
    });
  });

  it('places every function in the given subnets with the given security group', () => {
    for (const fn of Object.values(functions())) {
      expect(propertiesOf(s, fn.function).VpcConfig).toEqual({
        SubnetIds: ['subnet-0aaa1111', 'subnet-0bbb2222'],
        SecurityGroupIds: ['sg-0ccc3333'],
      });
    }
    s.template.resourceCountIs('AWS::EC2::SecurityGroup', 0);
  });

  it('keeps logs for the retention from context', () => {
    for (const fn of Object.values(functions()))
      expect(propertiesOf(s, fn.logGroup)).toEqual({ RetentionInDays: 90 });
    expect(propertiesOf(s, s.stack.api.accessLogs)).toEqual({ RetentionInDays: 90 });
  });
});

describe('IAM: every statement', () => {
  // The secret is named, not an ARN: Secrets Manager adds "-" and six characters to its ARN.
  const readCouchbase = {
    Effect: 'Allow',
    Action: 'secretsmanager:GetSecretValue',
    Resource: `${SECRET_ARN}-??????`,
  };
  const readBoth = {
    Effect: 'Allow',
    Action: 'secretsmanager:GetSecretValue',
    Resource: [`${SECRET_ARN}-??????`, '${AgentTokens}'],
  };

  it('ingest: logs, VPC networking, the Couchbase and token secrets, the group schedules, passing the scheduler role, publishing events', () => {
    expect(roleStatements(s, s.stack.ingest.role)).toEqual([
      writeLogs('Ingest'),
      eni,
      readBoth,
      ...scheduleWrites(),
      publishEvents,
    ]);
  });

  it('read: logs, VPC networking, the Couchbase secret; no token secret (IAM-authorized callers)', () => {
    expect(roleStatements(s, s.stack.read.role)).toEqual([writeLogs('Read'), eni, readCouchbase]);
  });

  it('operate: logs, VPC networking, the Couchbase secret, the group schedules with deleting, passing the scheduler role, publishing events', () => {
    const [writes, passRole] = scheduleWrites();
    expect(roleStatements(s, s.stack.operate.role)).toEqual([
      writeLogs('Operate'),
      eni,
      readCouchbase,
      {
        ...writes,
        Action: ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule', 'scheduler:UpdateSchedule'],
      },
      passRole,
      publishEvents,
    ]);
  });

  it('expiry: logs, VPC networking, the Couchbase secret, the DLQ, the group schedules, passing the scheduler role, publishing events', () => {
    expect(roleStatements(s, s.stack.expiry.role)).toEqual([
      writeLogs('Expiry'),
      eni,
      readCouchbase,
      sendToDlq,
      ...scheduleWrites(),
      publishEvents,
    ]);
  });

  it('reconcile: logs, VPC networking, the Couchbase secret, the group schedules, passing the scheduler role, publishing events', () => {
    expect(roleStatements(s, s.stack.reconciler.fn.role)).toEqual([
      writeLogs('Reconciler/Function'),
      eni,
      readCouchbase,
      ...scheduleWrites(),
      publishEvents,
    ]);
  });

  it('the scheduler role still invokes only expiry and sends only to the DLQ', () => {
    expect(roleStatements(s, s.stack.scheduling.role)).toEqual([
      {
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: ['${Expiry/Function.Arn}', '${Expiry/Function.Arn}:*'],
      },
      sendToDlq,
    ]);
  });

  it('dead-letters a failed expiry invocation to the same queue', () => {
    const configs = Object.values(s.template.findResources('AWS::Lambda::EventInvokeConfig')).map((c) =>
      s.render(c.Properties),
    );
    expect(configs).toEqual([
      {
        FunctionName: '${Expiry/Function}',
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: 3600,
        DestinationConfig: { OnFailure: { Destination: '${Scheduling/DeadLetters.Arn}' } },
      },
      {
        FunctionName: '${Reconciler/Function/Function}',
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 0,
        MaximumEventAgeInSeconds: 300,
      },
    ]);
  });
});

describe('alarm notifications', () => {
  it('sends every alarm and its recovery to an encrypted, TLS-only topic with the e-mail subscribed', () => {
    const topic = s.stack.monitoring.topic;
    if (topic === undefined) throw new Error('no topic');
    const topicRef = s.render({ Ref: s.logicalId(topic) });
    const alarms = Object.values(s.template.findResources('AWS::CloudWatch::Alarm'));
    // With a topic, one more: expiries and recoveries the rule could not deliver to it.
    expect(alarms).toHaveLength(12);
    for (const alarm of alarms) {
      expect(s.render(alarm.Properties.AlarmActions)).toEqual([topicRef]);
      expect(s.render(alarm.Properties.OKActions)).toEqual([topicRef]);
    }
    expect(propertiesOf(s, topic)).toEqual({ KmsMasterKeyId: '${Monitoring/AlarmTopicKey.Arn}' });
    s.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: { Ref: s.logicalId(topic) },
    });
    s.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: [
          {
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Effect: 'Deny',
            Principal: '*',
            Resource: { Ref: s.logicalId(topic) },
            Sid: 'AllowPublishThroughSSLOnly',
          },
          // EventBridge publishes expiries and recoveries, on behalf of this stack's rule only.
          {
            Action: 'sns:Publish',
            Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [notifyRuleId(), 'Arn'] } } },
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Resource: { Ref: s.logicalId(topic) },
            Sid: Match.anyValue(),
          },
        ],
      },
    });
  });

  it('uses a rotating customer managed key that CloudWatch and EventBridge may use to publish', () => {
    const key = s.stack.monitoring.node.findChild('AlarmTopicKey');
    const props = propertiesOf(s, key) as { EnableKeyRotation: boolean; KeyPolicy: { Statement: unknown[] } };
    expect(props.EnableKeyRotation).toBe(true);
    expect(props.KeyPolicy.Statement).toContainEqual({
      Effect: 'Allow',
      Principal: { Service: ['cloudwatch.amazonaws.com', 'events.amazonaws.com'] },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Resource: '*',
    });
  });

  it("sends every expiry and recovery on the service's bus to the topic, as the whole event", () => {
    const topic = s.stack.monitoring.topic;
    if (topic === undefined) throw new Error('no topic');
    s.template.resourceCountIs('AWS::Events::Rule', 1);
    s.template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: s.logicalId(s.stack.events.bus) },
      EventPattern: { source: ['heartbeat-expiry'], 'detail-type': ['Agent Expired', 'Agent Recovered'] },
      State: 'ENABLED',
      // Named from its construct path, stack name included: its metrics are found by name.
      Name: Match.stringLikeRegexp('^HeartbeatService-Monitoring-NotifyExpiriesAndRecoveries-[0-9A-F]{8}$'),
      // No InputTransformer and no RoleArn: the event as is, with the topic policy's permission.
      Targets: [{ Arn: { Ref: s.logicalId(topic) }, Id: Match.anyValue() }],
    });
  });

  it('alarms when the rule fails to deliver to the topic: FailedInvocations of the rule on its custom bus', () => {
    const failed = s.stack.monitoring.notificationsFailed;
    if (failed === undefined) throw new Error('no alarm');
    const ruleName = (propertiesOf(s, s.stack.monitoring.notifyRule ?? failed) as { Name: string }).Name;
    expect(propertiesOf(s, failed)).toMatchObject({
      Namespace: 'AWS/Events',
      MetricName: 'FailedInvocations',
      // Rules on a custom bus report under the bus's name and their own.
      Dimensions: [
        { Name: 'EventBusName', Value: '${Events/Bus}' },
        { Name: 'RuleName', Value: ruleName },
      ],
      Statistic: 'Sum',
      Period: 300,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      AlarmDescription: expect.stringContaining('events.amazonaws.com'),
    });
  });

  it('raises the expiry spike threshold from context', () => {
    expect(propertiesOf(s, s.stack.monitoring.expirySpike)).toMatchObject({
      MetricName: 'AgentsExpired',
      Threshold: 120,
    });
  });
});

function notifyRuleId(): string {
  const rule = s.stack.monitoring.notifyRule;
  if (rule === undefined) throw new Error('no rule');
  return s.logicalId(rule);
}

describe('cdk-nag', () => {
  it('passes AwsSolutions with no unacknowledged finding in Couchbase mode', () => {
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(s.app);
    expect(report.violations).toEqual([]);
  });

  it('leaves no CDK error or warning (an alarm destination is set): the imported VPC and subnets are acknowledged as used by id only', () => {
    expect(Annotations.fromStack(s.stack).findError('*', Match.anyValue())).toEqual([]);
    expect(Annotations.fromStack(s.stack).findWarning('*', Match.anyValue())).toEqual([]);
    expect(acknowledgements(s)).toMatchObject({
      'Store/Subnet0': { '@aws-cdk/aws-ec2:noSubnetRouteTableId': expect.any(String) },
      'Store/Subnet1': { '@aws-cdk/aws-ec2:noSubnetRouteTableId': expect.any(String) },
      'Store/Vpc': { '@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones': expect.any(String) },
    });
  });

  it('acknowledges the VPC networking wildcard on each function role, and no table indexes', () => {
    const acknowledged = acknowledgements(s);
    for (const name of ['Ingest', 'Read', 'Expiry']) {
      expect(Object.keys(acknowledged[`${name}/Role`] ?? {})).toContain('AwsSolutions-IAM5[Resource::*]');
      expect(Object.keys(acknowledged[`${name}/Role`] ?? {}).join()).not.toContain('/index/*');
    }
  });
});

describe('Couchbase native binary in the bundles', () => {
  const version = lockedVersion('couchbase');

  it.each(['ingest', 'read', 'expiry'] as const)(
    '%s carries couchbase at the locked version with the linux-arm64 binary and no other',
    (name) => {
      const modules = path.join(s.assetDir(s.stack[name]), 'node_modules');
      const couchbase = JSON.parse(readFileSync(path.join(modules, 'couchbase', 'package.json'), 'utf8')) as {
        version: string;
      };
      expect(couchbase.version).toBe(version);

      expect(readdirSync(path.join(modules, '@couchbase'))).toEqual(['couchbase-linux-arm64-napi']);
      const binaries = readdirSync(path.join(modules, COUCHBASE_BINARY_PACKAGE)).filter((file) =>
        file.endsWith('.node'),
      );
      expect(binaries).toEqual([`couchbase-v${version}-napi-v6-linux-arm64-boringssl.node`]);
      expect(elfMachine(path.join(modules, COUCHBASE_BINARY_PACKAGE, binaries[0] ?? ''))).toBe(
        ELF_MACHINE_AARCH64,
      );
      // Only needed to build the addon from source, which the Lambda never does.
      expect(existsSync(path.join(modules, 'couchbase', 'deps'))).toBe(false);
    },
  );

  it('is the binary the Couchbase loader picks on linux-arm64, and nothing loads on x64', () => {
    const couchbase = path.join(s.assetDir(s.stack.ingest), 'node_modules', 'couchbase');
    const resolveAs = (arch: string) =>
      spawnSync(
        process.execPath,
        [
          '-e',
          `Object.defineProperty(process, 'arch', { value: ${JSON.stringify(arch)} });
           const prebuilds = require(${JSON.stringify(path.join(couchbase, 'scripts', 'prebuilds.js'))});
           process.stdout.write(prebuilds.resolvePrebuild(${JSON.stringify(couchbase)}));`,
        ],
        { encoding: 'utf8' },
      );
    const arm64 = resolveAs('arm64');
    expect(arm64.status, arm64.stderr).toBe(0);
    expect(arm64.stdout).toBe(
      path.join(
        path.dirname(couchbase),
        COUCHBASE_BINARY_PACKAGE,
        `couchbase-v${version}-napi-v6-linux-arm64-boringssl.node`,
      ),
    );
    const x64 = resolveAs('x64');
    expect(x64.status).not.toBe(0);
    expect(x64.stderr).toContain('Could not find native build');
  });

  it('keeps the bundle itself free of the SDK: couchbase stays an external import', () => {
    const code = readFileSync(path.join(s.assetDir(s.stack.ingest), 'index.mjs'), 'utf8');
    expect(code).not.toContain('couchbase-v4');
    expect(code).not.toMatch(/require\(["']\.\.\/scripts\/prebuilds["']\)/);
  });
});

const ELF_MACHINE_AARCH64 = 183;

/** The e_machine field of an ELF header (little-endian, offset 18). */
function elfMachine(file: string): number {
  const header = Buffer.alloc(20);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, header, 0, 20, 0);
  } finally {
    closeSync(fd);
  }
  expect(header.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
  return header.readUInt16LE(18);
}
