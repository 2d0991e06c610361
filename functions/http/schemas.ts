import * as z from 'zod/mini';
import { checkSchema } from '../core/heartbeat.js';
import { MAX_PAGE } from '../core/list-agents.js';

// The API's shapes that are not the heartbeat body (core/heartbeat.ts): the list query, the
// responses and problem details. The handlers' results are typed from these, and the OpenAPI
// document (http/openapi.ts) is generated from them, so the three cannot drift apart.

const LIMIT_MESSAGE = `limit must be a whole number from 1 to ${MAX_PAGE}`;

/** The query of GET /v1/agents. */
export const listQuerySchema = z.object({
  state: z.enum(['alive', 'expired', 'deregistered']),
  // Decimal digits only: `0x10`, `1e2` or ` 5` are not a limit (Number() would read them as one).
  limit: z.optional(
    z.pipe(
      z
        .string()
        .check(
          z.regex(/^(?:100|[1-9][0-9]?)$/, LIMIT_MESSAGE),
          z.describe(`Page size, 1 to ${MAX_PAGE} in decimal digits; 50 when absent.`),
        ),
      z.pipe(z.transform(Number), z.number().check(z.minimum(1), z.maximum(MAX_PAGE))),
    ),
  ),
  cursor: z.optional(
    z
      .string()
      .check(
        z.minLength(1),
        z.describe("An earlier page's nextCursor, passed back unchanged to read the next page."),
      ),
  ),
});

const state = z.enum(['alive', 'expired', 'deregistered']);
const time = () => z.iso.datetime();

export const heartbeatResponseSchema = z.object({
  agentId: z.string(),
  state,
  lastSeen: time(),
  deadline: time(),
  nextHeartbeatSeconds: z.int().check(z.describe('When to send the next heartbeat, in seconds.')),
});
export type HeartbeatResponse = z.output<typeof heartbeatResponseSchema>;

export const agentViewSchema = z.object({
  agentId: z.string(),
  state,
  bootId: z.nullable(z.string()),
  seq: z.nullable(z.int()),
  lastSeen: time().check(z.describe("The server's receive time of the latest accepted heartbeat.")),
  deadline: time().check(z.describe('lastSeen + ttlSeconds: the agent expires once this has passed.')),
  ttlSeconds: z.int(),
  intervalSeconds: z.int(),
  armedFor: z.nullable(
    time().check(z.describe('The deadline the expiry timer is known to be set for; null when not known.')),
  ),
  expiredAt: z.nullable(time().check(z.describe('The deadline that passed, while expired.'))),
  detectedAt: z.nullable(time().check(z.describe('When the expiry was noticed, while expired.'))),
  expiredBy: z.nullable(z.string()),
  checks: z.array(checkSchema),
  labels: z.record(z.string(), z.string()),
  transitions: z.array(z.object({ state, at: time(), by: z.optional(z.string()) })),
  maintenance: z.nullable(
    z
      .object({ id: z.string(), reason: z.string(), start: time(), end: time() })
      .check(
        z.describe(
          'The active maintenance window covering this agent, if any: while it lasts the agent is never expired.',
        ),
      ),
  ),
});
export type AgentView = z.output<typeof agentViewSchema>;

export const agentPageSchema = z.object({
  items: z.array(agentViewSchema),
  nextCursor: z.nullable(z.string().check(z.describe('Pass back as `cursor`; null on the last page.'))),
});
export type AgentPage = z.output<typeof agentPageSchema>;

/** A maintenance window, as POST, GET and DELETE /v1/maintenance answer it. */
export const windowViewSchema = z.object({
  id: z.string(),
  state: z.enum(['upcoming', 'active', 'ended']),
  selector: z.object({
    agentIds: z.optional(z.array(z.string())),
    labels: z.optional(z.record(z.string(), z.string())),
  }),
  start: time(),
  end: time().check(z.describe('The planned end.')),
  endedAt: z.nullable(
    time().check(z.describe('When DELETE ended it early (or cancelled it); null otherwise.')),
  ),
  reason: z.string(),
  createdAt: time(),
  createdBy: z.string(),
});
export type WindowView = z.output<typeof windowViewSchema>;

export const windowListSchema = z.object({
  items: z.array(windowViewSchema).check(z.describe('The active and upcoming windows, by start.')),
});
export type WindowList = z.output<typeof windowListSchema>;

/** RFC 9457 problem details. `errors` lists input problems, one per JSON pointer. */
export const problemSchema = z.object({
  type: z.string().check(z.describe('urn:heartbeat:problem:<slug>, stable for each kind of problem.')),
  title: z.string(),
  status: z.int(),
  detail: z.string(),
  errors: z.optional(
    z.array(
      z.object({
        pointer: z.string().check(z.describe('RFC 6901 JSON pointer to the field (or query parameter).')),
        detail: z.string(),
      }),
    ),
  ),
});
export type ProblemBody = z.output<typeof problemSchema>;
