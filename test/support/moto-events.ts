import { randomUUID } from 'node:crypto';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { awsRetryStrategy } from '../../functions/adapters/aws-retry.js';
import { EVENT_SOURCE } from '../../functions/core/events.js';

const dummy = (endpoint: string) => ({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
});

/** An EventBridge client for moto: fixed region, dummy credentials, so nothing can reach real AWS. */
export function motoEventBridgeClient(endpoint: string): EventBridgeClient {
  // The policy every deployed client uses.
  return new EventBridgeClient({ ...dummy(endpoint), retryStrategy: awsRetryStrategy() });
}

export function motoSqsClient(endpoint: string): SQSClient {
  return new SQSClient(dummy(endpoint));
}

/** What an EventBridge rule puts on an SQS queue: the event envelope, detail parsed. */
export interface DeliveredEvent {
  id: string;
  source: string;
  'detail-type': string;
  time: string;
  detail: Record<string, unknown>;
}

/**
 * A bus of its own in moto with a rule sending every event of the service to a queue: what a
 * user's rule would see. `drain` reads what has arrived since the last drain.
 */
export async function motoEventSink(endpoint: string) {
  const events = motoEventBridgeClient(endpoint);
  const sqs = motoSqsClient(endpoint);
  const busName = `bus-${randomUUID()}`;
  const { QueueUrl: queueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `q-${randomUUID()}` }));
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  await events.send(new CreateEventBusCommand({ Name: busName }));
  await events.send(
    new PutRuleCommand({
      Name: 'heartbeat-events',
      EventBusName: busName,
      EventPattern: JSON.stringify({ source: [EVENT_SOURCE] }),
      State: 'ENABLED',
    }),
  );
  await events.send(
    new PutTargetsCommand({
      Rule: 'heartbeat-events',
      EventBusName: busName,
      Targets: [{ Id: 'queue', Arn: Attributes?.QueueArn }],
    }),
  );
  return {
    busName,
    queueUrl: queueUrl ?? '',
    /**
     * Every message now in the queue, by receiving until a receive comes back empty. Received
     * messages stay invisible for the queue's visibility timeout (30 s), so none is read twice
     * unless it was enqueued twice.
     */
    async drain(): Promise<DeliveredEvent[]> {
      const delivered: DeliveredEvent[] = [];
      for (;;) {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
        );
        if (Messages.length === 0) return delivered;
        delivered.push(...Messages.map((m) => JSON.parse(m.Body ?? '{}') as DeliveredEvent));
      }
    },
    close() {
      events.destroy();
      sqs.destroy();
    },
  };
}
