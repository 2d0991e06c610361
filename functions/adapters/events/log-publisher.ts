import { EVENT_SOURCE } from '../../core/events.js';
import type { EventPublisher, Log, PublishedEvent } from '../../core/ports.js';
import { toIso } from '../../core/time.js';

/** The message of every event line, so that a log query (or `grep '"event"'`) finds them all. */
export const EVENT_LOG_MESSAGE = 'event';

/**
 * Publishes events as log lines, one JSON line per event: how events appear when the service runs
 * locally, with no bus. The fields mirror an EventBridge event, so reading them needs no new words.
 * Writing a line cannot fail the way a bus can, so this never throws.
 */
export class LogEventPublisher implements EventPublisher {
  constructor(private readonly log: Log) {}

  async publish(events: readonly PublishedEvent[]): Promise<void> {
    for (const event of events) {
      this.log.info(EVENT_LOG_MESSAGE, {
        source: EVENT_SOURCE,
        detailType: event.detailType,
        eventId: event.id,
        time: toIso(event.time),
        detail: event.detail,
      });
    }
  }
}
