import { hash } from 'node:crypto';

// EventBridge Scheduler names: 1-64 chars of [0-9a-zA-Z-_.], unique per group (DESIGN.md §5).
// agentIds may be longer or use other characters, so keep a readable prefix for humans and
// make the name unique with a hash of the full id.
const PREFIX_CHARS = 32;
const HASH_CHARS = 24; // 96 bits: collisions are not a practical concern at 10 M schedules.

export function scheduleNameFor(agentId: string): string {
  const readable = agentId.replace(/[^0-9a-zA-Z_.-]/g, '_').slice(0, PREFIX_CHARS);
  const digest = hash('sha256', agentId, 'hex').slice(0, HASH_CHARS);
  return `hb-${readable}-${digest}`;
}
