import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FanoutEventPublisher } from '../../functions/adapters/events/fanout-publisher.js';
import { LogEventPublisher } from '../../functions/adapters/events/log-publisher.js';
import { WebhookEventPublisher } from '../../functions/adapters/events/webhook-publisher.js';
import { BackendUnavailableError } from '../../functions/core/errors.js';
import { EVENT_SOURCE } from '../../functions/core/events.js';
import type { EventPublisher } from '../../functions/core/ports.js';
import { RecordingLog } from '../support/fakes.js';
import { samplePublishedEvents } from '../support/published-events.js';

interface ReceivedRequest {
  method: string | undefined;
  contentType: string | undefined;
  body: string;
}

/**
 * A real HTTP receiver on loopback. Each request is answered with the next status of `answers`
 * (the last one repeats); 'hang' never answers.
 */
class Receiver {
  readonly requests: ReceivedRequest[] = [];
  answers: Array<number | 'hang'> = [200];
  private readonly server: Server = createServer((req, res) => this.handle(req, res));

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/events`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.server.close((err) => (err ? reject(err) : resolve())));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      this.requests.push({
        method: req.method,
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const answer = this.answers.length > 1 ? this.answers.shift() : this.answers[0];
      if (answer === 'hang' || answer === undefined) return;
      // A redirect points back here: followed, it would be accepted by the next answer.
      const location = answer >= 300 && answer < 400 ? { location: req.url ?? '/' } : {};
      res.writeHead(answer, { 'content-type': 'text/plain', ...location }).end(`status ${answer}`);
    });
  }
}

let receiver: Receiver;
let url: string;
let delays: number[];
// Records the backoff instead of waiting it out; the budget tests use the real sleep.
const recordSleep = async (ms: number) => {
  delays.push(ms);
};

beforeEach(async () => {
  receiver = new Receiver();
  url = await receiver.start();
  delays = [];
});

afterEach(async () => {
  await receiver.stop();
});

describe('WebhookEventPublisher', () => {
  it('POSTs each event as JSON shaped like an EventBridge event', async () => {
    const events = samplePublishedEvents(2);
    const publisher = new WebhookEventPublisher({ url, sleep: recordSleep });

    await publisher.publish(events);

    expect(receiver.requests).toHaveLength(2);
    receiver.requests.forEach((request, i) => {
      const event = events[i];
      expect(request.method).toBe('POST');
      expect(request.contentType).toBe('application/json');
      expect(JSON.parse(request.body)).toEqual({
        id: event?.id,
        source: EVENT_SOURCE,
        'detail-type': event?.detailType,
        time: new Date(event?.time ?? NaN).toISOString(),
        detail: JSON.parse(JSON.stringify(event?.detail)) as unknown,
      });
    });
  });

  it('retries after a 503 and succeeds, sending the same body again', async () => {
    receiver.answers = [503, 200];
    const publisher = new WebhookEventPublisher({ url, sleep: recordSleep });

    await publisher.publish(samplePublishedEvents(1));

    expect(receiver.requests).toHaveLength(2);
    expect(receiver.requests[1]?.body).toBe(receiver.requests[0]?.body);
    expect(delays).toEqual([200]);
  });

  it('retries a 429 too', async () => {
    receiver.answers = [429, 429, 204];
    const publisher = new WebhookEventPublisher({ url, sleep: recordSleep });

    await publisher.publish(samplePublishedEvents(1));

    expect(receiver.requests).toHaveLength(3);
    expect(delays).toEqual([200, 400]);
  });

  it('does not retry a 400: the receiver refused the event', async () => {
    receiver.answers = [400, 200];
    const publisher = new WebhookEventPublisher({ url, sleep: recordSleep });

    const error = await publisher.publish(samplePublishedEvents(2)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect(error).toMatchObject({ backend: 'events' });
    expect(String(error)).toMatch(/HTTP 400/);
    expect(receiver.requests).toHaveLength(1);
    expect(delays).toEqual([]);
  });

  it('does not follow a redirect: events go to the configured receiver or nowhere', async () => {
    receiver.answers = [307, 200];
    const publisher = new WebhookEventPublisher({ url, sleep: recordSleep });

    const error = await publisher.publish(samplePublishedEvents(1)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect(String(error)).toMatch(/HTTP 307/);
    expect(receiver.requests).toHaveLength(1);
  });

  it('gives up after three attempts when the receiver keeps failing', async () => {
    receiver.answers = [500];
    const publisher = new WebhookEventPublisher({ url, sleep: recordSleep });

    const error = await publisher.publish(samplePublishedEvents(1)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect(String(error)).toMatch(/HTTP 500 .*after 3 attempts/);
    expect(receiver.requests).toHaveLength(3);
    expect(delays).toEqual([200, 400]);
  });

  it('retries when nothing listens, and says why it failed', async () => {
    await receiver.stop();
    const publisher = new WebhookEventPublisher({ url, sleep: recordSleep });

    const error = await publisher.publish(samplePublishedEvents(1)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect(String(error)).toMatch(/ECONNREFUSED/);
    expect(delays).toEqual([200, 400]);
    receiver = new Receiver(); // afterEach stops a server of its own
    await receiver.start();
  });

  it('cuts off a receiver that never answers at the call timeout', async () => {
    receiver.answers = ['hang'];
    const publisher = new WebhookEventPublisher({ url, sleep: recordSleep });

    const started = performance.now();
    const error = await publisher
      .publish(samplePublishedEvents(1), { timeoutMs: 100 })
      .catch((e: unknown) => e);
    const elapsed = performance.now() - started;

    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect(String(error)).toMatch(/no answer within 100 ms/);
    expect(elapsed).toBeGreaterThanOrEqual(90);
    expect(elapsed).toBeLessThan(1_000);
    expect(receiver.requests).toHaveLength(1);
  });

  it('stops retrying when the budget runs out during a backoff, naming the last failure', async () => {
    receiver.answers = [503];
    // The real sleep: 200 ms, then 400 ms; a 300 ms budget ends during the second wait.
    const publisher = new WebhookEventPublisher({ url });

    const started = performance.now();
    const error = await publisher
      .publish(samplePublishedEvents(1), { timeoutMs: 300 })
      .catch((e: unknown) => e);
    const elapsed = performance.now() - started;

    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect(String(error)).toMatch(/no answer within 300 ms; last attempt: HTTP 503/);
    expect(elapsed).toBeLessThan(550);
    expect(receiver.requests).toHaveLength(2);
  });

  it.each(['ftp://example.test/hook', 'file:///tmp/hook', 'not a url'])(
    'refuses the URL %s at construction',
    (bad) => {
      expect(() => new WebhookEventPublisher({ url: bad })).toThrow(/webhook URL/);
    },
  );
});

describe('FanoutEventPublisher', () => {
  const failing = (error: Error): EventPublisher => ({ publish: () => Promise.reject(error) });

  it('publishes to every publisher', async () => {
    const log = new RecordingLog();
    const events = samplePublishedEvents(3);
    const fanout = new FanoutEventPublisher([new LogEventPublisher(log), new WebhookEventPublisher({ url })]);

    await fanout.publish(events);

    expect(log.withMessage('event')).toHaveLength(3);
    expect(receiver.requests).toHaveLength(3);
  });

  it('fails when one publisher fails, after the others published', async () => {
    receiver.answers = [400];
    const log = new RecordingLog();
    const fanout = new FanoutEventPublisher([
      new WebhookEventPublisher({ url, sleep: recordSleep }),
      new LogEventPublisher(log),
    ]);

    const error = await fanout.publish(samplePublishedEvents(2)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect(String(error)).toMatch(/HTTP 400/);
    expect(log.withMessage('event')).toHaveLength(2);
  });

  it('reports every failure when several fail, as an outage only when each was one', async () => {
    const outage = new BackendUnavailableError('events', 'bus down');
    const bug = new Error('entry too large');

    const outages = await new FanoutEventPublisher([failing(outage), failing(outage)])
      .publish(samplePublishedEvents(1))
      .catch((e: unknown) => e);
    const mixed = await new FanoutEventPublisher([failing(outage), failing(bug)])
      .publish(samplePublishedEvents(1))
      .catch((e: unknown) => e);

    expect(outages).toBeInstanceOf(BackendUnavailableError);
    expect(String(outages)).toMatch(/2 of 2 event publishers failed/);
    expect(mixed).toBeInstanceOf(Error);
    expect(mixed).not.toBeInstanceOf(BackendUnavailableError);
    expect(String(mixed)).toMatch(/bus down.*entry too large/);
  });
});
