import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type App, CfnElement, CfnResource, type Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { createHeartbeatApp } from '../../cdk/heartbeat-app.js';
import type { HeartbeatStack } from '../../cdk/heartbeat-stack.js';
import { PROJECT_ROOT } from '../../cdk/project.js';

/**
 * Synthesizes the app as `cdk synth` would (cdk.json's feature flags, the given context, cdk-nag
 * registered), into a temporary directory. Synthesis fails on any unacknowledged cdk-nag finding.
 *
 * `bundle: false` skips asset bundling (CDK's `aws:cdk:bundling-stacks`): for variants whose
 * assertions are about the template only.
 */
export interface Synth {
  app: App;
  stack: HeartbeatStack;
  template: Template;
  outdir: string;
  /** Turns CloudFormation values into readable strings: `${Ingest/Logs.Arn}`, `${AWS::Region}`. */
  render(value: unknown): unknown;
  /** The logical id of a construct's CloudFormation resource. */
  logicalId(construct: IConstruct): string;
  /** The asset directory of a function's code. */
  assetDir(fn: { function: IConstruct }): string;
  cleanup(): void;
}

const cdkJson = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
  context: Record<string, unknown>;
};

export function synth(context: Record<string, unknown> = {}, options: { bundle?: boolean } = {}): Synth {
  const outdir = mkdtempSync(path.join(tmpdir(), 'heartbeat-cdk-'));
  const { app, stack } = createHeartbeatApp({
    outdir,
    context: {
      ...cdkJson.context,
      ...(options.bundle === false ? { 'aws:cdk:bundling-stacks': [] } : {}),
      ...context,
    },
  });
  let template: Template;
  try {
    template = Template.fromStack(stack);
  } catch (error) {
    rmSync(outdir, { recursive: true, force: true });
    throw error;
  }
  const names = pathsByLogicalId(stack);
  const logicalId = (construct: IConstruct) => {
    const element = construct instanceof CfnElement ? construct : construct.node.defaultChild;
    if (!(element instanceof CfnElement))
      throw new Error(`${construct.node.path} has no CloudFormation resource`);
    return stack.resolve(element.logicalId) as string;
  };
  const render = (value: unknown): unknown => renderValue(value, names);
  const assetDir = (fn: { function: IConstruct }) => {
    const code = template.toJSON().Resources[logicalId(fn.function)].Properties.Code as { S3Key: string };
    return path.join(outdir, `asset.${code.S3Key.replace(/\.zip$/, '')}`);
  };
  return {
    app,
    stack,
    template,
    outdir,
    render,
    logicalId,
    assetDir,
    cleanup: () => rmSync(outdir, { recursive: true, force: true }),
  };
}

/** `HeartbeatService/Ingest/Logs/Resource` -> `Ingest/Logs`. */
function pathsByLogicalId(stack: Stack): Map<string, string> {
  const names = new Map<string, string>();
  for (const construct of stack.node.findAll()) {
    if (!(construct instanceof CfnResource)) continue;
    const parts = construct.node.path.split('/').slice(1);
    if (parts.at(-1) === 'Resource') parts.pop();
    names.set(stack.resolve(construct.logicalId) as string, parts.join('/'));
  }
  return names;
}

function renderValue(value: unknown, names: Map<string, string>): unknown {
  if (Array.isArray(value)) return value.map((item) => renderValue(item, names));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  const [key, arg] = entries[0] ?? [];
  if (entries.length === 1 && key === 'Ref' && typeof arg === 'string') {
    return `\${${names.get(arg) ?? arg}}`;
  }
  if (entries.length === 1 && key === 'Fn::GetAtt' && Array.isArray(arg)) {
    const [id, attribute] = arg as [string, string];
    return `\${${names.get(id) ?? id}.${attribute}}`;
  }
  if (entries.length === 1 && key === 'Fn::Join' && Array.isArray(arg)) {
    const [separator, parts] = arg as [string, unknown[]];
    return parts.map((part) => renderValue(part, names)).join(separator);
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, renderValue(v, names)]));
}

/** Every statement of every policy attached to a role, rendered; fails on managed or inline role policies. */
export function roleStatements(s: Synth, role: IConstruct): unknown[] {
  const roleId = s.logicalId(role);
  const resources = s.template.toJSON().Resources as Record<
    string,
    { Type: string; Properties: Record<string, unknown> }
  >;
  const roleProps = resources[roleId]?.Properties ?? {};
  if (roleProps.ManagedPolicyArns !== undefined || roleProps.Policies !== undefined) {
    throw new Error(`${role.node.path} has managed or inline policies: ${JSON.stringify(roleProps)}`);
  }
  const statements: unknown[] = [];
  for (const resource of Object.values(resources)) {
    if (resource.Type !== 'AWS::IAM::Policy' && resource.Type !== 'AWS::IAM::ManagedPolicy') continue;
    const attached = (resource.Properties.Roles as unknown[] | undefined) ?? [];
    if (!attached.some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId }))) continue;
    statements.push(...(resource.Properties.PolicyDocument as { Statement: unknown[] }).Statement);
  }
  return statements.map((statement) => s.render(statement));
}

/** The rendered properties of one resource. */
export function propertiesOf(s: Synth, construct: IConstruct): Record<string, unknown> {
  const resource = s.template.toJSON().Resources[s.logicalId(construct)] as {
    Properties: Record<string, unknown>;
  };
  return s.render(resource.Properties) as Record<string, unknown>;
}

/**
 * The cdk-nag acknowledgements declared in the stack, by construct path: `{ path: { ruleId: reason } }`.
 * Read from where they were declared (CDK records them on the construct), not from the template,
 * where cdk-nag copies them onto every resource underneath.
 */
export function acknowledgements(s: Synth): Record<string, Record<string, string>> {
  const result: Record<string, Record<string, string>> = {};
  for (const construct of s.stack.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      const where = construct.node.path.split('/').slice(1).join('/');
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        (result[where] ??= {})[id.replace(/^\w+::/, '')] = reason;
      }
    }
  }
  return result;
}
