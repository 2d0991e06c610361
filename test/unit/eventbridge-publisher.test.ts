import {
  AccessDeniedException,
  EventBridgeClient,
  EventBridgeServiceException,
  InternalException,
  PutEventsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-eventbridge';
import type { PutEventsRequestEntry, PutEventsResultEntry } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  EventBridgePublisher,
  MAX_REQUEST_BYTES,
  entrySize,
} from '../../functions/adapters/events/eventbridge-publisher.js';
import { BackendUnavailableError } from '../../functions/core/errors.js';
import { EVENT_SOURCE } from '../../functions/core/events.js';
import { samplePublishedEvents } from '../support/published-events.js';

const BUS = 'heartbeat-events';
// What the SDK's deserializer passes: both spellings of the message, and response metadata.
const opts = (message: string) => ({ message, Message: message, $metadata: {} });
// PutEvents throttling is not a modeled exception: the SDK raises its service base class by name.
const throttling = () =>
  new EventBridgeServiceException({
    name: 'ThrottlingException',
    $fault: 'client',
    message: 'Rate exceeded',
    $metadata: { httpStatusCode: 400 },
  });

// One real client, mocked at its send(): no request leaves the process.
const client = new EventBridgeClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
});
const mock = mockClient(client);
let publisher: EventBridgePublisher;

beforeEach(() => {
  mock.reset();
  publisher = new EventBridgePublisher(client, { eventBusName: BUS });
});

const requests = () => mock.commandCalls(PutEventsCommand).map((call) => call.args[0].input.Entries ?? []);
const ok = (n: number): PutEventsResultEntry[] =>
  Array.from({ length: n }, (_, i) => ({ EventId: `evt-${i}` }));
const accepted = (entries: readonly PutEventsRequestEntry[] | undefined) => ({
  FailedEntryCount: 0,
  Entries: ok(entries?.length ?? 0),
});
const eventIds = (entries: readonly PutEventsRequestEntry[]) =>
  entries.map((entry) => (JSON.parse(entry.Detail ?? '{}') as { eventId: string }).eventId);

describe('EventBridgePublisher.publish', () => {
  it('sends each event as an entry of the service source on the configured bus', async () => {
    mock
      .on(PutEventsCommand)
      .callsFake((input: { Entries?: PutEventsRequestEntry[] }) => accepted(input.Entries));
    const [event] = samplePublishedEvents(1);
    if (event === undefined) throw new Error('no sample event');

    await publisher.publish([event]);

    expect(requests()).toEqual([
      [
        {
          Source: EVENT_SOURCE,
          DetailType: event.detailType,
          Detail: JSON.stringify(event.detail),
          Time: new Date(event.time),
          EventBusName: BUS,
        },
      ],
    ]);
  });

  it('sends 25 events as requests of 10, 10 and 5 entries, in order', async () => {
    mock
      .on(PutEventsCommand)
      .callsFake((input: { Entries?: PutEventsRequestEntry[] }) => accepted(input.Entries));
    const events = samplePublishedEvents(25);

    await publisher.publish(events);

    expect(requests().map((entries) => entries.length)).toEqual([10, 10, 5]);
    expect(requests().flatMap(eventIds)).toEqual(events.map((event) => event.id));
  });

  it('starts a new request before the entries would exceed 256 KiB', async () => {
    mock
      .on(PutEventsCommand)
      .callsFake((input: { Entries?: PutEventsRequestEntry[] }) => accepted(input.Entries));
    // Check changes with outputs of 100 KB: two fit in a request, three do not.
    const sample = samplePublishedEvents(12, 'x'.repeat(100_000));
    const big = sample.filter((event) => event.detailType === 'Check Status Changed');
    const small = sample.filter((event) => event.detailType !== 'Check Status Changed');
    expect(big).toHaveLength(3);

    await publisher.publish([...big, ...small]);

    expect(requests().map((entries) => entries.length)).toEqual([2, 10]);
    const sizes = requests().map((entries) => entries.reduce((sum, entry) => sum + entrySize(entry), 0));
    expect(sizes.every((size) => size <= MAX_REQUEST_BYTES)).toBe(true);
    expect(requests().flatMap(eventIds)).toEqual([...big, ...small].map((event) => event.id));
  });

  it('counts an entry the way EventBridge does: UTF-8 bytes of source, detail-type and detail, plus 14 for Time', () => {
    const entry: PutEventsRequestEntry = {
      Source: 'src',
      DetailType: 'Agent Expired',
      Detail: '{"a":"é"}',
      Time: new Date(0),
      EventBusName: 'not counted',
    };

    expect(entrySize(entry)).toBe(3 + 13 + 10 + 14);
    expect(entrySize({ ...entry, Time: undefined, Resources: ['arn:x'] })).toBe(3 + 13 + 10 + 5);
  });

  it('refuses an event over 256 KiB as a bug, before sending anything', async () => {
    mock
      .on(PutEventsCommand)
      .callsFake((input: { Entries?: PutEventsRequestEntry[] }) => accepted(input.Entries));
    const events = [...samplePublishedEvents(2), ...samplePublishedEvents(3, 'x'.repeat(MAX_REQUEST_BYTES))];

    const error = await publisher.publish(events).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(BackendUnavailableError);
    expect(String(error)).toMatch(/exceeds PutEvents' 262144/);
    expect(requests()).toEqual([]);
  });

  it('makes no call for no events', async () => {
    await publisher.publish([]);

    expect(requests()).toEqual([]);
  });

  it('retries only the entries EventBridge rejected, until they are accepted', async () => {
    const events = samplePublishedEvents(5);
    mock
      .on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 2,
        Entries: [
          { EventId: 'a' },
          { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' },
          { EventId: 'c' },
          { ErrorCode: 'InternalFailure', ErrorMessage: 'oops' },
          { EventId: 'e' },
        ],
      })
      .callsFake((input: { Entries?: PutEventsRequestEntry[] }) => accepted(input.Entries));

    await publisher.publish(events, { timeoutMs: 5_000 });

    expect(requests().map(eventIds)).toEqual([
      events.map((event) => event.id),
      [events[1]?.id, events[3]?.id],
    ]);
  });

  it('fails with BackendUnavailableError naming the error codes when entries keep being rejected', async () => {
    const events = samplePublishedEvents(3);
    mock.on(PutEventsCommand).callsFake((input: { Entries?: PutEventsRequestEntry[] }) => ({
      FailedEntryCount: 2,
      Entries: (input.Entries ?? []).map((_, i) =>
        i === 0 && input.Entries?.length === 3
          ? { EventId: 'first' }
          : { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' },
      ),
    }));

    const error = await publisher.publish(events, { timeoutMs: 5_000 }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect(error).toMatchObject({ backend: 'events' });
    expect(String(error)).toMatch(/2 entries still rejected after 3 attempts \(ThrottlingException x2\)/);
    // Three attempts, each with only what was still rejected.
    expect(requests().map((entries) => entries.length)).toEqual([3, 2, 2]);
  });

  it('gives up when the budget runs out while retrying, saying which codes it was retrying', async () => {
    mock.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'oops' }],
    });

    const started = performance.now();
    const error = await publisher
      .publish(samplePublishedEvents(1), { timeoutMs: 30 })
      .catch((e: unknown) => e);

    expect(performance.now() - started).toBeLessThan(500);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect(String(error)).toMatch(/no answer within 30 ms.*InternalFailure/);
  });

  it('gives up when no answer comes within the call timeout, as a BackendUnavailableError', async () => {
    mock.on(PutEventsCommand).callsFake(() => new Promise(() => undefined));

    const error = await publisher
      .publish(samplePublishedEvents(1), { timeoutMs: 20 })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect(String(error)).toMatch(/no answer within 20 ms/);
  });

  it.each([
    ['throttling', throttling],
    ['InternalException', () => new InternalException(opts('boom'))],
    ['a 503', () => Object.assign(new Error('unavailable'), { $metadata: { httpStatusCode: 503 } })],
    ['a reset connection', () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
  ])(
    'surfaces %s that outlasted the SDK retries as BackendUnavailableError, keeping the cause',
    async (_label, transient) => {
      const last = transient();
      mock.on(PutEventsCommand).rejects(last);

      const error = await publisher.publish(samplePublishedEvents(3)).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(BackendUnavailableError);
      expect(error).toMatchObject({ backend: 'events', retryAfterSeconds: 1 });
      expect((error as Error).cause).toBe(last);
      expect(requests()).toHaveLength(1);
    },
  );

  it.each([
    ['AccessDenied', () => new AccessDeniedException(opts('not authorized to PutEvents'))],
    ['a missing bus', () => new ResourceNotFoundException(opts(`Event bus ${BUS} does not exist.`))],
  ])(
    'does not retry %s and reports it as a misconfiguration, not an outage',
    async (_label, misconfigured) => {
      const cause = misconfigured();
      mock.on(PutEventsCommand).rejects(cause);

      const error = await publisher.publish(samplePublishedEvents(3)).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(BackendUnavailableError);
      expect((error as Error).cause).toBe(cause);
      expect((error as Error).message).toContain(cause.name);
      expect((error as Error).message).toContain(BUS);
      expect(requests()).toHaveLength(1);
    },
  );

  it('refuses an empty bus name at construction', () => {
    expect(() => new EventBridgePublisher(client, { eventBusName: '' })).toThrow(/eventBusName/);
  });
});
