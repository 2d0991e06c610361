import * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { EVENT_SOURCE } from '../functions/core/event-schemas.js';
import type { ServiceConfig } from './config.js';
import type { HeartbeatFunction } from './heartbeat-function.js';

export interface ServiceEventsProps {
  bus: ServiceConfig['events']['bus'];
}

/**
 * Where the functions publish every committed transition (DESIGN.md §4, Events): a bus of the
 * stack's own, or the account's default bus. Consumers write their own rules on it, matching
 * `source` and `detail-type` (functions/core/event-schemas.ts).
 */
export class ServiceEvents extends Construct {
  readonly bus: events.IEventBus;
  /** The `source` of every event the functions publish. */
  readonly source = EVENT_SOURCE;
  /** The account's default bus rather than one the stack owns. */
  readonly isDefaultBus: boolean;

  constructor(scope: Construct, id: string, props: ServiceEventsProps) {
    super(scope, id);
    this.isDefaultBus = props.bus === 'default';
    this.bus =
      props.bus === 'default'
        ? events.EventBus.fromEventBusName(this, 'Bus', 'default')
        : // No name given: CDK derives one from the construct path (stack name included), so two
          // stacks in one account never collide.
          new events.EventBus(this, 'Bus', {
            description: 'Heartbeat service events: agents registered, expired, recovered, deregistered, ...',
          });
  }

  /** Lets `fn` publish this service's events on the bus (and nothing else), naming the bus in its environment. */
  grantPublish(fn: HeartbeatFunction): void {
    fn.publishEvents(this.bus, this.source);
  }
}
