import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { readServiceConfig } from '../../cdk/config.js';
import { secretReference } from '../../cdk/persistence.js';
import { propertiesOf, roleStatements, synth } from './synth.js';

const read = (context: Record<string, unknown>) => readServiceConfig((key) => context[key]);

describe('context', () => {
  it('defaults to DynamoDB, TTL 90 s, interval 30 s, 30-day logs, a bus of its own, no alarm topic', () => {
    expect(read({})).toEqual({
      stackName: 'HeartbeatService',
      persistence: { kind: 'dynamodb' },
      heartbeat: { ttlSeconds: 90, intervalSeconds: 30, minTtlSeconds: 60 },
      reconcile: { minutes: 5, reapAfterDays: 7 },
      pulse: { bucketSeconds: 10 },
      guard: {
        maxDeferSeconds: 600,
        degradedShare: 0.5,
        baselineSeconds: 3600,
        minBaseline: 10,
        massShare: 0.2,
      },
      api: { throttleRateLimit: 1000, throttleBurstLimit: 2000, agentAuth: 'fleet' },
      logRetention: 30,
      events: { bus: 'create' },
      alarms: { email: undefined, topicArn: undefined, expirySpikeThreshold: 50, ingest5xxRatePercent: 1 },
    });
  });

  it('buckets the fleet pulse by pulseBucketSeconds, whole seconds dividing an hour', () => {
    expect(read({ pulseBucketSeconds: '30' }).pulse).toEqual({ bucketSeconds: 30 });
    expect(() => read({ pulseBucketSeconds: '7' })).toThrow(/pulseBucketSeconds/);
  });

  it("takes the expiry guard's thresholds from the context, validated", () => {
    expect(
      read({
        expiryMaxDeferSeconds: '300',
        pulseDegradedShare: '0.4',
        pulseBaselineSeconds: '1800',
        pulseMinBaseline: '25',
        massExpiryShare: '0.3',
      }).guard,
    ).toEqual({
      maxDeferSeconds: 300,
      degradedShare: 0.4,
      baselineSeconds: 1800,
      minBaseline: 25,
      massShare: 0.3,
    });
    expect(() => read({ massExpiryShare: '0' })).toThrow(/massExpiryShare/);
    expect(() => read({ pulseDegradedShare: '2' })).toThrow(/pulseDegradedShare/);
  });

  it('takes per-agent tokens from agentAuth, and nothing else', () => {
    expect(read({ agentAuth: 'per-agent' }).api.agentAuth).toBe('per-agent');
    expect(() => read({ agentAuth: 'per-host' })).toThrow(/agentAuth/);
  });

  it("publishes on a bus of its own, or with eventBus=default on the account's default bus, and nothing else", () => {
    expect(read({ eventBus: 'create' }).events).toEqual({ bus: 'create' });
    expect(read({ eventBus: 'default' }).events).toEqual({ bus: 'default' });
    expect(() => read({ eventBus: 'arn:aws:events:eu-west-1:123456789012:event-bus/other' })).toThrow(
      /eventBus/,
    );
  });

  it('runs the reconciler every reconcileMinutes, as `-c` gives it', () => {
    expect(read({ reconcileMinutes: '2' }).reconcile).toEqual({ minutes: 2, reapAfterDays: 7 });
    expect(read({ reapAfterDays: '0' }).reconcile.reapAfterDays).toBe(0);
    expect(() => read({ reapAfterDays: '-1' })).toThrow(/reapAfterDays/);
  });

  it('reads `-c` strings and cdk.json values alike', () => {
    const config = read({
      persistence: 'couchbase',
      couchbaseSecret: 'heartbeat/couchbase',
      vpcId: 'vpc-0123abcd',
      subnetIds: 'subnet-0123abcd, subnet-4567cdef',
      securityGroupIds: ['sg-0123abcd'],
      ttlSeconds: '300',
      intervalSeconds: 60,
    });
    expect(config.persistence).toEqual({
      kind: 'couchbase',
      secret: 'heartbeat/couchbase',
      secretKmsKeyArn: undefined,
      vpc: {
        vpcId: 'vpc-0123abcd',
        availabilityZones: [],
        subnetIds: ['subnet-0123abcd', 'subnet-4567cdef'],
        securityGroupIds: ['sg-0123abcd'],
      },
    });
    expect(config.heartbeat).toEqual({ ttlSeconds: 300, intervalSeconds: 60, minTtlSeconds: 60 });
  });

  it.each([
    [{ persistence: 'mongo' }, 'persistence'],
    [{ persistence: 'couchbase' }, 'couchbaseSecret: persistence=couchbase needs'],
    [
      { persistence: 'couchbase', couchbaseSecret: 's', subnetIds: 'subnet-0123abcd' },
      'vpcId: is required with subnetIds',
    ],
    [
      { persistence: 'couchbase', couchbaseSecret: 's', securityGroupIds: 'sg-0123abcd' },
      'securityGroupIds: needs subnetIds',
    ],
    [
      { persistence: 'couchbase', couchbaseSecret: 's', vpcId: 'vpc-1', subnetIds: 'subnet-0123abcd' },
      'vpcId: must look like vpc-',
    ],
    [
      {
        persistence: 'couchbase',
        couchbaseSecret: 's',
        vpcId: 'vpc-0123abcd',
        subnetIds: 'subnet-0123abcd,x',
      },
      'subnetIds.1',
    ],
    [{ couchbaseSecret: 's' }, 'couchbaseSecret: is only used with persistence=couchbase'],
    [{ ttlSeconds: '30' }, 'ttlSeconds'],
    [{ ttlSeconds: 90, intervalSeconds: 120 }, 'intervalSeconds: must not exceed ttlSeconds'],
    [{ logRetentionDays: 10 }, "logRetentionDays: must be one of CloudWatch Logs' retention periods"],
    [{ alarmEmail: 'not-an-address' }, 'alarmEmail'],
    [{ apiThrottleRateLimit: 500, apiThrottleBurstLimit: 100 }, 'apiThrottleBurstLimit'],
    [{ reconcileMinutes: 0 }, 'reconcileMinutes'],
    [{ reconcileMinutes: '1.5' }, 'reconcileMinutes'],
    [{ eventBus: 'custom' }, 'eventBus'],
  ])('rejects %j, naming the key', (context, message) => {
    expect(() => read(context)).toThrow(message);
  });
});

describe('Couchbase secret reference', () => {
  const stack = new Stack(new App(), 'S');
  const rendered = (value: string) => stack.resolve(value) as unknown;

  it('a name becomes a partial ARN; the policy allows the six-character suffix and nothing longer', () => {
    const ref = secretReference(stack, 'heartbeat/couchbase');
    const arn = {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':secretsmanager:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':secret:heartbeat/couchbase',
        ],
      ],
    };
    expect(rendered(ref.arn)).toEqual(arn);
    expect(ref.policyResources.map(rendered)).toEqual([
      {
        'Fn::Join': [
          '',
          [...(arn['Fn::Join'][1] as unknown[]).slice(0, -1), ':secret:heartbeat/couchbase-??????'],
        ],
      },
    ]);
  });

  it('a complete ARN is used as is', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:heartbeat/couchbase-AbC123';
    expect(secretReference(stack, arn)).toEqual({ arn, policyResources: [arn] });
  });

  it('a partial ARN gets the suffix in the policy', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:couchbase';
    expect(secretReference(stack, arn)).toEqual({ arn, policyResources: [`${arn}-??????`] });
  });
});

describe('variants (template only, no bundling)', () => {
  it("eventBus=default: no bus of its own; the functions publish on the account's default bus", () => {
    const s = synth({ eventBus: 'default', alarmEmail: 'oncall@example.com' }, { bundle: false });
    try {
      s.template.resourceCountIs('AWS::Events::EventBus', 0);
      const defaultBus = 'arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default';
      for (const fn of [s.stack.ingest, s.stack.operate, s.stack.expiry, s.stack.reconciler.fn]) {
        const props = propertiesOf(s, fn.function) as { Environment: { Variables: Record<string, unknown> } };
        expect(props.Environment.Variables.EVENT_BUS_NAME).toBe('default');
        expect(roleStatements(s, fn.role)).toContainEqual({
          Effect: 'Allow',
          Action: 'events:PutEvents',
          Resource: defaultBus,
          Condition: { 'ForAllValues:StringEquals': { 'events:source': ['heartbeat-expiry'] } },
        });
      }
      const outputs = s.template.findOutputs('*');
      expect(s.render(outputs.EventBusName?.Value)).toBe('default');
      expect(s.render(outputs.EventBusArn?.Value)).toBe(defaultBus);
      // The rule sits on the default bus, whose rules report by rule name alone.
      const rule = s.stack.monitoring.notifyRule;
      const failed = s.stack.monitoring.notificationsFailed;
      if (rule === undefined || failed === undefined) throw new Error('no rule or no alarm');
      const ruleProps = propertiesOf(s, rule);
      expect(ruleProps.EventBusName).toBe('default');
      expect(propertiesOf(s, failed).Dimensions).toEqual([{ Name: 'RuleName', Value: ruleProps.Name }]);
    } finally {
      s.cleanup();
    }
  });

  it('per-agent tokens: ingest gets AGENT_AUTH=per-agent; the other functions know nothing of tokens', () => {
    const s = synth({ agentAuth: 'per-agent' }, { bundle: false });
    try {
      const variables = (fn: { function: Parameters<typeof propertiesOf>[1] }) =>
        (propertiesOf(s, fn.function).Environment as { Variables: Record<string, unknown> }).Variables;
      expect(variables(s.stack.ingest)).toMatchObject({ AGENT_AUTH: 'per-agent' });
      for (const fn of [s.stack.read, s.stack.operate, s.stack.expiry]) {
        expect(variables(fn).AGENT_AUTH).toBeUndefined();
        expect(variables(fn).HEARTBEAT_TOKENS_SECRET_ARN).toBeUndefined();
      }
    } finally {
      s.cleanup();
    }
  });

  it('Couchbase by complete ARN with a KMS key and no VPC: exact secret, decrypt only via Secrets Manager', () => {
    const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:heartbeat/couchbase-AbC123';
    const keyArn = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const s = synth(
      { persistence: 'couchbase', couchbaseSecret: secretArn, couchbaseSecretKmsKeyArn: keyArn },
      { bundle: false },
    );
    try {
      expect(roleStatements(s, s.stack.expiry.role)).toEqual(
        expect.arrayContaining([
          { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: secretArn },
          {
            Effect: 'Allow',
            Action: 'kms:Decrypt',
            Resource: keyArn,
            Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.${AWS::Region}.amazonaws.com' } },
          },
        ]),
      );
      for (const fn of [s.stack.ingest, s.stack.read, s.stack.expiry]) {
        const props = propertiesOf(s, fn.function);
        expect(props.VpcConfig).toBeUndefined();
        expect(
          (props.Environment as { Variables: Record<string, unknown> }).Variables.COUCHBASE_SECRET_ARN,
        ).toBe(secretArn);
        expect(JSON.stringify(roleStatements(s, fn.role))).not.toContain('ec2:');
      }
    } finally {
      s.cleanup();
    }
  });

  it('Couchbase subnets without security groups: one group for all functions, output for the cluster rule', () => {
    const s = synth(
      {
        persistence: 'couchbase',
        couchbaseSecret: 'cb',
        vpcId: 'vpc-0123abcd',
        subnetIds: 'subnet-0123abcd',
      },
      { bundle: false },
    );
    try {
      s.template.resourceCountIs('AWS::EC2::SecurityGroup', 1);
      s.template.hasResourceProperties('AWS::EC2::SecurityGroup', { VpcId: 'vpc-0123abcd' });
      for (const fn of [s.stack.ingest, s.stack.read, s.stack.expiry]) {
        expect(propertiesOf(s, fn.function).VpcConfig).toEqual({
          SubnetIds: ['subnet-0123abcd'],
          SecurityGroupIds: ['${Store/FunctionsSecurityGroup.GroupId}'],
        });
      }
      expect(
        s.render(s.template.findOutputs('FunctionsSecurityGroupId').FunctionsSecurityGroupId?.Value),
      ).toBe('${Store/FunctionsSecurityGroup.GroupId}');
    } finally {
      s.cleanup();
    }
  });

  it('an existing alarm topic: alarms and the expiry/recovery rule notify it; the stack creates none and leaves its policy alone', () => {
    const topicArn = 'arn:aws:sns:eu-west-1:123456789012:oncall';
    const s = synth({ alarmTopicArn: topicArn, stackName: 'HeartbeatStaging' }, { bundle: false });
    try {
      s.template.resourceCountIs('AWS::SNS::Topic', 0);
      const alarms = Object.values(s.template.findResources('AWS::CloudWatch::Alarm'));
      expect(alarms).toHaveLength(12);
      for (const alarm of alarms) {
        expect(alarm.Properties.AlarmActions).toEqual([topicArn]);
      }
      s.template.hasResourceProperties('AWS::Events::Rule', {
        EventBusName: { Ref: s.logicalId(s.stack.events.bus) },
        EventPattern: { source: ['heartbeat-expiry'], 'detail-type': ['Agent Expired', 'Agent Recovered'] },
        Targets: [{ Arn: topicArn, Id: Match.anyValue() }],
      });
      // Its owner must let events.amazonaws.com publish (README); the stack cannot edit its policy.
      s.template.resourceCountIs('AWS::SNS::TopicPolicy', 0);
      expect(Annotations.fromStack(s.stack).findWarning('*', Match.anyValue())).toEqual([]);
      // Query names are foldered under the stack name, so two stacks do not collide.
      s.template.hasResourceProperties('AWS::Logs::QueryDefinition', { Name: 'HeartbeatStaging/recoveries' });
    } finally {
      s.cleanup();
    }
  });
});
