import { randomUUID } from 'node:crypto';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { EventBridgePublisher } from '../../functions/adapters/events/eventbridge-publisher.js';
import { BackendUnavailableError } from '../../functions/core/errors.js';
import { EVENT_SOURCE } from '../../functions/core/events.js';
import { motoEventBridgeClient, motoEventSink } from '../support/moto-events.js';
import { samplePublishedEvents } from '../support/published-events.js';

/** EventBridge events carry whole seconds (moto formats them like AWS: no milliseconds). */
const wholeSecondIso = (ms: number) =>
  new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

describe('EventBridgePublisher against moto', () => {
  let client: EventBridgeClient;
  let sink: Awaited<ReturnType<typeof motoEventSink>>;

  beforeAll(() => {
    client = motoEventBridgeClient(inject('motoEndpoint'));
  });

  afterAll(() => {
    client.destroy();
  });

  beforeEach(async () => {
    // A bus and a queue per test keep tests independent on the one shared moto server.
    sink = await motoEventSink(inject('motoEndpoint'));
  });

  afterEach(() => {
    sink.close();
  });

  it('delivers every event once through a rule on the bus, with its detail-type, source, time and detail intact', async () => {
    const events = samplePublishedEvents(25);
    const publisher = new EventBridgePublisher(client, { eventBusName: sink.busName });

    await publisher.publish(events, { timeoutMs: 10_000 });

    const delivered = await sink.drain();
    expect(delivered).toHaveLength(25);
    const byEventId = new Map(delivered.map((event) => [event.detail['eventId'], event]));
    expect(byEventId.size).toBe(25);
    for (const event of events) {
      expect(byEventId.get(event.id), event.id).toEqual(
        expect.objectContaining({
          source: EVENT_SOURCE,
          'detail-type': event.detailType,
          time: wholeSecondIso(event.time),
          detail: JSON.parse(JSON.stringify(event.detail)) as unknown,
        }),
      );
    }
    expect(new Set(delivered.map((event) => event['detail-type']))).toEqual(
      new Set(['Agent Registered', 'Agent Recovered', 'Check Status Changed', 'Agent Deregistered']),
    );
  });

  it('fails with a plain error naming the cause when the bus does not exist, not as an outage', async () => {
    const publisher = new EventBridgePublisher(client, { eventBusName: `missing-${randomUUID()}` });

    const error = await publisher.publish(samplePublishedEvents(2)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(BackendUnavailableError);
    expect((error as Error).cause).toMatchObject({ name: 'ResourceNotFoundException' });
    expect(String(error)).toMatch(/ResourceNotFoundException/);
    expect(await sink.drain()).toEqual([]);
  });
});
