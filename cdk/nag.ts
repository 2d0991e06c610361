import { type CfnElement, Stack, Token, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges one cdk-nag finding on `scope` and everything under it. cdk-nag v3 matches the
 * id exactly: a rule (`AwsSolutions-SQS3`) or one finding of it (`AwsSolutions-IAM5[Resource::...]`),
 * so an acknowledgement never covers more than the finding it names.
 */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/** How cdk-nag writes a reference in a finding id: `<LogicalId>` or `<LogicalId.Attribute>`. */
export function nagRef(element: CfnElement, attribute?: string): string {
  const logicalId = Stack.of(element).resolve(element.logicalId) as string;
  return attribute === undefined ? `<${logicalId}>` : `<${logicalId}.${attribute}>`;
}

/** A physical name as it appears in a finding id: itself when known at synth, else `<LogicalId>`. */
export function nagName(name: string, element: CfnElement): string {
  return Token.isUnresolved(name) ? nagRef(element) : name;
}
