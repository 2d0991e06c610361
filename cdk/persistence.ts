import { Arn, ArnFormat, type CfnElement, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { CHECKS_TTL_ATTRIBUTE } from '../functions/adapters/dynamodb/checks-table.js';
import { PULSE_TTL_ATTRIBUTE } from '../functions/adapters/dynamodb/pulse.js';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import type { PersistenceConfig } from './config.js';
import type { FunctionPlacement, HeartbeatFunction, SecretReference } from './heartbeat-function.js';
import { acknowledge, nagRef } from './nag.js';

/**
 * What a function does with the store: the read API only reads; ingest, expiry and operate read
 * and write one item at a time; the reconciler also walks the whole table.
 */
export type StoreAccess = 'ingest' | 'read' | 'readWrite' | 'reconcile';

/** The agent store, chosen by context: what the functions need to be built and to reach it. */
export interface Persistence {
  readonly kind: PersistenceConfig['kind'];
  readonly placement: FunctionPlacement | undefined;
  /** Grants `fn` access to the store and sets PERSISTENCE and the variables naming the store. */
  bind(fn: HeartbeatFunction, access: StoreAccess): void;
}

/**
 * The agent table. Keys and the `byState` index must match `agentTableDefinition` in
 * functions/adapters/dynamodb/table.ts, which the local runner and the tests create; a template
 * test compares the two.
 */
/** What functions/adapters/dynamodb/agent-store.ts calls, per kind of access. */
const TABLE_ACTIONS: Record<StoreAccess, string[]> = {
  // UpdateItem: the fleet pulse's counters (an ADD to the hour's item, functions/adapters/dynamodb/pulse.ts).
  ingest: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  // Expiry and operate. UpdateItem: the mass-expiry counters and summary claims
  // (functions/adapters/dynamodb/mass-expiry.ts). The maintenance windows are one more item of the
  // table (agentId '#maintenance#windows'): expiry reads it (GetItem), operate reads it and
  // replaces it on its version (a conditional PutItem). Nothing to add for them.
  readWrite: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  read: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'],
  // listOpen scans the table itself (never an index), and the checkpoint is one more item; it
  // expires agents too (UpdateItem, as readWrite); reaping lists expired and deregistered agents
  // by state (Query on the index, BatchGetItem) and deletes them (DeleteItem, conditional). It
  // reads the maintenance windows item and conditionally writes it back (GetItem, PutItem).
  reconcile: [
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:Scan',
    'dynamodb:UpdateItem',
    'dynamodb:Query',
    'dynamodb:BatchGetItem',
    'dynamodb:DeleteItem',
  ],
};

/**
 * What functions/adapters/dynamodb/checks-table.ts calls, per kind of access: a write of an alive
 * agent may put its checks item first (PutItem, unconditional: the key is the content's digest),
 * reading an agent whose item names checks gets them (GetItem), listing gets them for a page of
 * agents (BatchGetItem). Nothing updates or deletes a checks item: the table's TTL removes it.
 */
const CHECKS_ACTIONS: Record<StoreAccess, string[]> = {
  ingest: ['dynamodb:GetItem', 'dynamodb:PutItem'],
  readWrite: ['dynamodb:GetItem', 'dynamodb:PutItem'],
  // The read API writes nothing, checks included.
  read: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'],
  // Scanning and reaping read the agents a page at a time (BatchGetItem); expiring writes them.
  reconcile: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:BatchGetItem'],
};

export class DynamoDbPersistence extends Construct implements Persistence {
  readonly kind = 'dynamodb';
  readonly placement = undefined;
  readonly table: dynamodb.Table;
  /**
   * Checks kept apart from the agent items (functions/adapters/dynamodb/checks-table.ts): one item
   * per agent and digest, keyed as `checksTableDefinition` there, which a template test compares.
   */
  readonly checksTable: dynamodb.Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Agents', {
      partitionKey: { name: 'agentId', type: dynamodb.AttributeType.STRING },
      // Heartbeats arrive at a steady rate but expiries and restarts come in bursts: on-demand
      // absorbs them without capacity planning.
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      // Only the fleet pulse's hourly items carry it (agents never expire by TTL).
      timeToLiveAttribute: PULSE_TTL_ATTRIBUTE,
      // The table is the service's state: deleting the stack must not delete the fleet's records.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: 'byState',
      partitionKey: { name: 'stateShard', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'agentId', type: dynamodb.AttributeType.STRING },
      // Keys only: an index entry changes only when the state does, so heartbeats cost no index writes.
      projectionType: dynamodb.ProjectionType.KEYS_ONLY,
    });
    this.checksTable = new dynamodb.Table(this, 'Checks', {
      partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      // Agent items name checks items: the two tables are restored, and kept, together. A recovered
      // or retained agent table without its checks would name checks that are gone.
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      // Items no agent names any more expire for free; nothing scans or deletes them.
      timeToLiveAttribute: CHECKS_TTL_ATTRIBUTE,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  bind(fn: HeartbeatFunction, access: StoreAccess): void {
    fn.setEnvironment('PERSISTENCE', 'dynamodb');
    fn.setEnvironment('TABLE_NAME', this.table.tableName);
    // The table and its indexes, nothing else, and only the calls the adapter makes: ingest and
    // expiry read and conditionally write one item (ingest also adds to the pulse's counters, its
    // only UpdateItem); the read API also lists (Query on byState, then BatchGetItem); only the
    // reconciler scans, and only it deletes (reaping, conditionally): a bug elsewhere cannot wipe
    // the table, and only the reconciler can bulk-read it.
    this.table.grant(fn, ...TABLE_ACTIONS[access]);
    acknowledge(
      fn.role,
      `AwsSolutions-IAM5[Resource::${nagRef(this.table.node.defaultChild as CfnElement, 'Arn')}/index/*]`,
      "The agent table's own indexes (`<table ARN>/index/*`, today only byState, which lists agents by state); no other table.",
    );
    // Every function that reads or writes agents may meet checks kept apart. The checks table has
    // no index, so the grant names the table alone (no wildcard to acknowledge).
    fn.setEnvironment('CHECKS_TABLE_NAME', this.checksTable.tableName);
    this.checksTable.grant(fn, ...CHECKS_ACTIONS[access]);
  }
}

/**
 * A Couchbase cluster the stack does not own. Its connection details stay in a Secrets Manager
 * secret that the operator creates; the stack only learns its name or ARN and lets the functions
 * read it. Nothing of its value reaches the template or the functions' environment.
 */
export class CouchbasePersistence extends Construct implements Persistence {
  readonly kind = 'couchbase';
  readonly placement: FunctionPlacement | undefined;
  readonly secret: SecretReference;
  /** Created when subnets are given without security groups; allow it into the cluster. */
  readonly securityGroup: ec2.SecurityGroup | undefined;

  constructor(scope: Construct, id: string, config: Extract<PersistenceConfig, { kind: 'couchbase' }>) {
    super(scope, id);
    this.secret = { ...secretReference(Stack.of(this), config.secret), kmsKeyArn: config.secretKmsKeyArn };

    const vpcConfig = config.vpc;
    if (vpcConfig === undefined) {
      this.placement = undefined;
      this.securityGroup = undefined;
      return;
    }
    // Imported from ids given in context: synth makes no lookups and needs no credentials.
    // The AZs only describe the imported VPC (the subnets are selected explicitly); when not given,
    // the region's list as a deploy-time token is as good.
    const knownAzs = vpcConfig.availabilityZones.length > 0;
    const vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
      vpcId: vpcConfig.vpcId,
      availabilityZones: knownAzs ? vpcConfig.availabilityZones : Fn.getAzs(),
    });
    if (!knownAzs) {
      acknowledge(
        vpc,
        'Annotation::@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones',
        'Nothing selects subnets from this imported VPC by AZ: the functions get the subnets given in context.',
      );
    }
    const subnets = vpcConfig.subnetIds.map((subnetId, i) => {
      const subnet = ec2.Subnet.fromSubnetId(this, `Subnet${i}`, subnetId);
      acknowledge(
        subnet,
        'Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId',
        'Only the subnet id is used (Lambda VpcConfig); nothing reads its route table.',
      );
      return subnet;
    });
    if (vpcConfig.securityGroupIds.length > 0) {
      this.securityGroup = undefined;
      const groups = vpcConfig.securityGroupIds.map((groupId, i) =>
        ec2.SecurityGroup.fromSecurityGroupId(this, `SecurityGroup${i}`, groupId, { mutable: false }),
      );
      this.placement = { vpc, subnets, securityGroups: groups };
    } else {
      // One group for the three functions, so the cluster needs one ingress rule.
      this.securityGroup = new ec2.SecurityGroup(this, 'FunctionsSecurityGroup', {
        vpc,
        description: 'Heartbeat functions: outbound to Couchbase and AWS APIs; no inbound',
        allowAllOutbound: true,
      });
      this.placement = { vpc, subnets, securityGroups: [this.securityGroup] };
    }
  }

  bind(fn: HeartbeatFunction, _access: StoreAccess): void {
    fn.setEnvironment('PERSISTENCE', 'couchbase');
    fn.readSecret('COUCHBASE_SECRET_ARN', this.secret);
  }
}

/**
 * A secret given by name, partial ARN or complete ARN. Secrets Manager appends `-` and six
 * random characters to every secret's name in its ARN; a policy for a name or partial ARN must
 * allow that suffix (`-??????`), which also keeps it from matching `<name>-other-secret`.
 */
export function secretReference(stack: Stack, nameOrArn: string): Omit<SecretReference, 'kmsKeyArn'> {
  if (nameOrArn.startsWith('arn:')) {
    const resourceName = Arn.split(nameOrArn, ArnFormat.COLON_RESOURCE_NAME).resourceName ?? '';
    const complete = /-[A-Za-z0-9]{6}$/.test(resourceName);
    return { arn: nameOrArn, policyResources: [complete ? nameOrArn : `${nameOrArn}-??????`] };
  }
  const arn = stack.formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    resourceName: nameOrArn,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  return { arn, policyResources: [`${arn}-??????`] };
}
