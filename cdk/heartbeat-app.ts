import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readServiceConfig } from './config.js';
import { HeartbeatStack } from './heartbeat-stack.js';

/**
 * Builds the app: settings from context, one stack, and the cdk-nag AwsSolutions checks, so
 * `cdk synth` fails on an unacknowledged finding just as the tests do. `cdk/app.ts` runs it
 * for the CLI; tests call it with their own context and output directory.
 */
export function createHeartbeatApp(props: AppProps = {}): { app: App; stack: HeartbeatStack } {
  const app = new App(props);
  const config = readServiceConfig((key) => app.node.tryGetContext(key));
  const stack = new HeartbeatStack(app, config.stackName, {
    config,
    description: `Heartbeat expiry service (persistence: ${config.persistence.kind})`,
    tags: { service: 'heartbeat' },
  });
  // Acknowledgements (each with its reason) are also written into the template's Metadata, as
  // an audit trail next to the resource they concern.
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app, { verbose: true, writeSuppressionsToCloudFormation: true }),
  );
  return { app, stack };
}
