import type { OutboxEvent } from '../../functions/core/agent.js';
import { toPublished } from '../../functions/core/events.js';
import type { PublishedEvent } from '../../functions/core/ports.js';
import { makeAgentRecord } from './records.js';

/**
 * `count` published events of four detail-types (registered, recovered, check status changed,
 * deregistered), one agent each, built the way the core builds them (toPublished).
 */
export function samplePublishedEvents(count: number, checkOutput = '91% used'): PublishedEvent[] {
  return Array.from({ length: count }, (_, i) => {
    const record = makeAgentRecord({ agentId: `srv-${String(i).padStart(4, '0')}` });
    const by = `req-${i}`;
    const at = record.lastSeen + i * 1_001;
    const snapshot = { deadline: at + 90_000, bootId: record.bootId, labels: record.labels };
    const events: OutboxEvent[] = [
      { type: 'agent.registered', by, at, reregistered: false, ttlSeconds: 90, ...snapshot },
      { type: 'agent.recovered', by, at, expiredAt: at - 120_000, ...snapshot },
      { type: 'check.changed', by, at, check: 'disk-root', from: 'pass', to: 'warn', output: checkOutput },
      { type: 'agent.deregistered', by, at, previousState: 'alive' },
    ];
    const event = events[i % events.length];
    if (event === undefined) throw new Error('unreachable');
    return toPublished(record, event);
  });
}
