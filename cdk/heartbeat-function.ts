import { ArnFormat, Duration, Names, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { type StoreBundling, nodejsBundling } from './bundling.js';
import { acknowledge } from './nag.js';
import { type EntryPoint, LOCK_FILE, PROJECT_ROOT, entryPath } from './project.js';

/** Placement in a VPC (Couchbase mode only): the functions must reach the cluster's KV ports. */
export interface FunctionPlacement {
  vpc: ec2.IVpc;
  subnets: ec2.ISubnet[];
  securityGroups: ec2.ISecurityGroup[] | undefined;
}

export interface HeartbeatFunctionProps {
  entry: EntryPoint;
  description: string;
  logRetention: logs.RetentionDays;
  /** The store the bundle is built for: only Couchbase mode ships the Couchbase SDK (linux-arm64). */
  store: StoreBundling;
  placement?: FunctionPlacement | undefined;
  /** Override the default only with a reason next to it. */
  timeout?: Duration;
  memorySize?: number;
  /** For a function that must never run twice at once (the reconciler). */
  reservedConcurrentExecutions?: number;
  /**
   * For a function that must know its own ARN before CloudFormation creates it (the expiry
   * function re-arms schedules that target itself, and a function's environment cannot refer to
   * its own ARN attribute: a cycle). The name is derived from the construct path, stack name
   * included, so two stacks never collide; `arnFromName` is then the function's ARN.
   */
  nameFromPath?: boolean;
}

/** What every function of the service shares; a function overrides one only with a reason. */
export const FUNCTION_DEFAULTS = {
  // The current LTS; CI runs the whole suite on the same major (.ci/run provisions it).
  runtime: lambda.Runtime.NODEJS_24_X,
  // Graviton: cheaper per GB-second and at least as fast for this I/O-bound code.
  architecture: lambda.Architecture.ARM_64,
  // Lambda gives CPU in proportion to memory; 512 MB keeps cold starts (module evaluation of the
  // SDK clients) short at little cost, since the handlers mostly wait on I/O.
  memorySize: 512,
  timeout: Duration.seconds(10),
  environment: {
    POWERTOOLS_SERVICE_NAME: 'heartbeat',
    POWERTOOLS_METRICS_NAMESPACE: 'HeartbeatService',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    // The bundle is minified: map stack traces back to the TypeScript.
    NODE_OPTIONS: '--enable-source-maps',
  },
} as const;

/** Where a secret's ARN goes and which resource ARNs a policy must name to read it. */
export interface SecretReference {
  /** The ARN the function passes to GetSecretValue (complete or partial). */
  arn: string;
  /** Resource ARNs for the policy: a partial ARN needs the `-??????` suffix Secrets Manager adds. */
  policyResources: string[];
  /** A customer managed key the secret is encrypted with, if any. */
  kmsKeyArn?: string | undefined;
}

/**
 * The project's Lambda function: a NodejsFunction with the shared defaults, its own log group
 * (with retention) and its own role that may write only to that log group. Everything else a
 * function may touch is granted through the helpers below, each of which also sets the
 * environment variable that names the resource, so a grant and its wiring cannot drift apart.
 */
export class HeartbeatFunction extends Construct implements iam.IGrantable {
  readonly function: NodejsFunction;
  readonly logGroup: logs.LogGroup;
  readonly role: iam.Role;
  readonly grantPrincipal: iam.IPrincipal;
  private readonly fixedName: string | undefined;

  constructor(scope: Construct, id: string, props: HeartbeatFunctionProps) {
    super(scope, id);
    this.fixedName =
      props.nameFromPath === true
        ? Names.uniqueResourceName(this, { maxLength: 64, separator: '-' })
        : undefined;

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      // Expiry lines are the on-call record: keep them (for the retention period) even if the
      // stack is deleted.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Our own role rather than the default one with AWSLambdaBasicExecutionRole: that managed
    // policy may create log groups and write to any of them.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.entry} function of the heartbeat service`,
    });
    this.grantPrincipal = this.role;
    this.logGroup.grantWrite(this.role);

    if (props.placement !== undefined) {
      // ENI management for VPC access, the actions of AWSLambdaVPCAccessExecutionRole. `*` is
      // required by AWS: ec2:Describe* support no resource-level permissions, and Lambda checks
      // the role with `*` when it creates the function's network interfaces.
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DescribeSubnets',
            'ec2:DeleteNetworkInterface',
            'ec2:AssignPrivateIpAddresses',
            'ec2:UnassignPrivateIpAddresses',
          ],
          resources: ['*'],
        }),
      );
      acknowledge(
        this.role,
        'AwsSolutions-IAM5[Resource::*]',
        'Lambda VPC networking: the EC2 network-interface actions take no resource-level permissions, AWS requires Resource "*" (the actions of AWSLambdaVPCAccessExecutionRole, without its logs:*).',
      );
    }

    this.function = new NodejsFunction(this, 'Function', {
      entry: entryPath(props.entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: LOCK_FILE,
      description: props.description,
      runtime: FUNCTION_DEFAULTS.runtime,
      architecture: FUNCTION_DEFAULTS.architecture,
      memorySize: props.memorySize ?? FUNCTION_DEFAULTS.memorySize,
      ...(props.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      timeout: props.timeout ?? FUNCTION_DEFAULTS.timeout,
      role: this.role,
      logGroup: this.logGroup,
      environment: { ...FUNCTION_DEFAULTS.environment },
      bundling: nodejsBundling(props.store),
      ...(this.fixedName === undefined ? {} : { functionName: this.fixedName }),
      ...(props.placement === undefined
        ? {}
        : {
            vpc: props.placement.vpc,
            vpcSubnets: { subnets: props.placement.subnets },
            ...(props.placement.securityGroups === undefined
              ? {}
              : { securityGroups: props.placement.securityGroups }),
          }),
    });
  }

  get functionArn(): string {
    return this.function.functionArn;
  }

  /** The ARN built from the fixed name (`nameFromPath`), usable in the function's own environment. */
  get arnFromName(): string {
    if (this.fixedName === undefined) throw new Error(`${this.node.path} has no fixed name (nameFromPath)`);
    return Stack.of(this).formatArn({
      service: 'lambda',
      resource: 'function',
      resourceName: this.fixedName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  setEnvironment(name: string, value: string): void {
    this.function.addEnvironment(name, value);
  }

  /** `secretsmanager:GetSecretValue` on exactly this secret (nothing else), its ARN in `envName`. */
  readSecret(envName: string, secret: SecretReference): void {
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: secret.policyResources,
      }),
    );
    if (secret.kmsKeyArn !== undefined) {
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [secret.kmsKeyArn],
          // Only when Secrets Manager asks on the function's behalf, not for direct decryption.
          conditions: {
            StringEquals: { 'kms:ViaService': `secretsmanager.${this.function.stack.region}.amazonaws.com` },
          },
        }),
      );
    }
    this.setEnvironment(envName, secret.arn);
  }

  /**
   * `events:PutEvents` on exactly this bus, and only for events whose `source` is `source` (so the
   * function cannot pass itself off as another application on a shared bus such as the default
   * one); the bus's name in EVENT_BUS_NAME.
   */
  publishEvents(bus: events.IEventBus, source: string): void {
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['events:PutEvents'],
        resources: [bus.eventBusArn],
        // PutEvents carries up to 10 entries: every one of them must have this source.
        conditions: { 'ForAllValues:StringEquals': { 'events:source': [source] } },
      }),
    );
    this.setEnvironment('EVENT_BUS_NAME', bus.eventBusName);
  }

  /** Allows whatever `statement` says; for grants a helper of another construct composes. */
  allow(statement: iam.PolicyStatement): void {
    this.role.addToPrincipalPolicy(statement);
  }
}
