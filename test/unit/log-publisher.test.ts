import { describe, expect, it } from 'vitest';
import { LogEventPublisher } from '../../functions/adapters/events/log-publisher.js';
import { EVENT_SOURCE } from '../../functions/core/events.js';
import { RecordingLog } from '../support/fakes.js';
import { samplePublishedEvents } from '../support/published-events.js';

describe('LogEventPublisher', () => {
  it('writes one info line per event with its source, detail-type, id, ISO time and detail', async () => {
    const log = new RecordingLog();
    const events = samplePublishedEvents(3);

    await new LogEventPublisher(log).publish(events);

    expect(log.lines).toEqual(
      events.map((event) => ({
        level: 'info',
        message: 'event',
        attributes: {
          source: EVENT_SOURCE,
          detailType: event.detailType,
          eventId: event.id,
          time: new Date(event.time).toISOString(),
          detail: event.detail,
        },
      })),
    );
  });
});
