import * as z from 'zod/mini';
import { checkSchema } from './heartbeat.js';

// The events the service publishes (issue 10), one detail schema per detail-type. The publishing
// code is typed from these, `npm run event-schemas` writes them to docs/events/ as JSON Schema,
// and the tests validate what is published against the committed files.

export { EVENT_SOURCE } from './event-source.js';

const time = () => z.iso.datetime();
const labels = z.record(z.string(), z.string());
const common = {
  eventId: z
    .string()
    .check(
      z.describe(
        'Stable for one transition: delivery is at least once, so a consumer drops an event whose id it has seen.',
      ),
    ),
};
const agent = {
  ...common,
  agentId: z.string(),
  labels: labels.check(z.describe("The agent's labels as it last reported them.")),
};
const state = z.enum(['alive', 'expired', 'deregistered']);

export const agentRegisteredSchema = z.object({
  ...agent,
  at: time().check(
    z.describe('When the first heartbeat (or the first after a deregistration) was received.'),
  ),
  reregistered: z.boolean().check(z.describe('True when the agent had been deregistered before.')),
  lastSeen: time(),
  deadline: time(),
  ttlSeconds: z.int(),
  bootId: z.nullable(z.string()),
});

export const agentRecoveredSchema = z.object({
  ...agent,
  at: time().check(z.describe('When the heartbeat that brought it back was received.')),
  from: z.literal('expired'),
  expiredAt: z.nullable(time().check(z.describe('The deadline that had passed.'))),
  downSeconds: z.nullable(z.number().check(z.describe('From expiredAt to this heartbeat.'))),
  lastSeen: time(),
  deadline: time(),
  bootId: z.nullable(z.string()),
});

export const agentExpiredSchema = z.object({
  ...agent,
  lastSeen: time(),
  ttlSeconds: z.int(),
  expiredAt: time().check(z.describe('The deadline that passed, not when that was noticed.')),
  detectedAt: time(),
  lateBySeconds: z.number(),
  detectedBy: z.enum(['schedule', 'reconciler']),
  bootId: z.nullable(z.string()),
  failingChecks: z.array(checkSchema).check(z.describe('Checks not passing at the last heartbeat.')),
  expiredBy: z.string().check(z.describe('The invocation that declared it (a Lambda request id).')),
  suspectedPipelineOutage: z
    .boolean()
    .check(z.describe('Expired at the end of a deferral: the service itself may have been deaf.')),
  massExpiry: z.boolean().check(z.describe('Silent together with a good part of the fleet.')),
});

export const agentDeregisteredSchema = z.object({
  ...agent,
  at: time(),
  previousState: state,
  lastSeen: time(),
  deregisteredBy: z.string(),
});

export const agentReapedSchema = z.object({
  ...agent,
  at: time(),
  state: z.enum(['expired', 'deregistered']),
  since: time().check(z.describe('When it entered that state.')),
  lastSeen: time(),
  reapedBy: z.string(),
});

export const checkChangedSchema = z.object({
  ...agent,
  at: time().check(z.describe('When the heartbeat that reported the change was received.')),
  check: z.string(),
  from: z.enum(['pass', 'warn', 'fail']),
  to: z.enum(['pass', 'warn', 'fail']),
  output: z.optional(z.string()),
});

const selector = z.object({
  agentIds: z.optional(z.array(z.string())),
  labels: z.optional(labels),
});

const maintenance = {
  ...common,
  windowId: z.string(),
  start: time(),
  end: time().check(z.describe('The planned end.')),
  reason: z.string(),
  selector,
};

export const maintenanceEnteredSchema = z.object({
  ...maintenance,
  at: time().check(z.describe('When the window started covering its agents.')),
});

export const maintenanceLeftSchema = z.object({
  ...maintenance,
  at: time().check(z.describe('When the window stopped covering its agents.')),
  endedEarly: z.boolean().check(z.describe('Ended by DELETE /v1/maintenance/{id} before its planned end.')),
});

/** Each detail-type with its schema: the names rules match on. */
export const EVENT_SCHEMAS = {
  'Agent Registered': agentRegisteredSchema,
  'Agent Recovered': agentRecoveredSchema,
  'Agent Expired': agentExpiredSchema,
  'Agent Deregistered': agentDeregisteredSchema,
  'Agent Reaped': agentReapedSchema,
  'Check Status Changed': checkChangedSchema,
  'Maintenance Entered': maintenanceEnteredSchema,
  'Maintenance Left': maintenanceLeftSchema,
} as const;

export type DetailType = keyof typeof EVENT_SCHEMAS;
export type EventDetail<T extends DetailType> = z.output<(typeof EVENT_SCHEMAS)[T]>;
