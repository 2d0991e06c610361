import { Aws, type CfnElement, Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import { type FunctionPlacement, HeartbeatFunction } from './heartbeat-function.js';
import type { StoreBundling } from './bundling.js';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { acknowledge, nagRef } from './nag.js';

export interface ReconcilerProps {
  /** How often it runs: the bound on how late a lost timer makes an expiry. */
  minutes: number;
  logRetention: RetentionDays;
  store: StoreBundling;
  placement: FunctionPlacement | undefined;
}

/**
 * The safety net (DESIGN.md §4): the reconcile function on a rate schedule. One run at a time
 * (reserved concurrency 1: a run that outlasts its period delays the next instead of racing it,
 * though their conditional writes would be safe either way), and no retries of a failed run: the
 * next one comes within the period, and the Errors alarm sees the failure.
 */
export class Reconciler extends Construct {
  readonly fn: HeartbeatFunction;
  readonly schedule: scheduler.Schedule;
  readonly role: iam.Role;
  readonly period: Duration;

  constructor(scope: Construct, id: string, props: ReconcilerProps) {
    super(scope, id);
    this.period = Duration.minutes(props.minutes);
    this.fn = new HeartbeatFunction(this, 'Function', {
      entry: 'reconcile',
      description:
        'Every few minutes: repairs lost expiry timers and delivers expiry reports a crash left behind',
      logRetention: props.logRetention,
      store: props.store,
      placement: props.placement,
      // Within its period (a run stops at its budget, saves its position, and the next resumes),
      // and at most the 5 minutes that 18,000 agents need several times over.
      timeout: Duration.seconds(Math.min(300, Math.max(30, props.minutes * 60 - 30))),
      reservedConcurrentExecutions: 1,
    });
    this.fn.function.configureAsyncInvoke({
      retryAttempts: 0,
      maxEventAge: Duration.seconds(Math.max(60, props.minutes * 60)),
    });

    // Our own role rather than the shared one the target would create: assumed by Scheduler for
    // this account only, and allowed to invoke this one function.
    this.role = new iam.Role(this, 'InvokeRole', {
      description: 'Assumed by EventBridge Scheduler to run the heartbeat reconciler',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      }),
    });
    acknowledge(
      this.role,
      `AwsSolutions-IAM5[Resource::${nagRef(this.fn.function.node.defaultChild as CfnElement, 'Arn')}:*]`,
      'The rate schedule invokes the reconcile function; the target grants its qualified ARN `<function ARN>:*` too, a wildcard over qualifiers of that one function only.',
    );

    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: `Runs the heartbeat reconciler every ${props.minutes} minutes`,
      schedule: scheduler.ScheduleExpression.rate(this.period),
      target: new LambdaInvoke(this.fn.function, {
        role: this.role,
        // A run missed by more than one period is pointless: the next one is already due.
        maxEventAge: Duration.seconds(Math.max(60, props.minutes * 60)),
        retryAttempts: 0,
      }),
    });
  }
}
