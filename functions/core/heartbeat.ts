import * as z from 'zod/mini';
import type { CheckResult } from './agent.js';
import { LIMITS } from './limits.js';
import { type FieldProblem, toFieldProblems } from './validation.js';

/** A validated heartbeat, with TTL and interval resolved against the service's policy. */
export interface Heartbeat {
  agentId: string;
  bootId: string | null;
  seq: number | null;
  ttlSeconds: number;
  intervalSeconds: number;
  checks: CheckResult[];
  labels: Record<string, string>;
  /**
   * Planned downtime the agent announces on its last heartbeat before it: the deadline moves
   * this much later, once (the next heartbeat sets it back to lastSeen + ttl).
   */
  maintenanceSeconds?: number;
}

export interface HeartbeatPolicy {
  defaultTtlSeconds: number;
  defaultIntervalSeconds: number;
  /** 60 s on AWS (the scheduler's precision), 1 s locally. */
  minTtlSeconds: number;
}

export type HeartbeatParseResult =
  { ok: true; heartbeat: Heartbeat } | { ok: false; problems: FieldProblem[] };

// Letters, digits and marks of any script plus a few separators: unicode hostnames work, while
// slashes, spaces and control characters (which would break paths and log lines) do not.
const AGENT_ID = /^[\p{L}\p{N}\p{M}._:@-]+$/u;
const AGENT_ID_RULE = `1-${LIMITS.agentIdChars} letters, digits, '.', '_', ':', '@' or '-'`;

const AGENT_ID_MESSAGE = `agentId must be ${AGENT_ID_RULE}`;

export const agentIdSchema = z.string().check(
  z.minLength(1, AGENT_ID_MESSAGE),
  z.maxLength(LIMITS.agentIdChars, AGENT_ID_MESSAGE),
  z.regex(AGENT_ID, AGENT_ID_MESSAGE),
  // "." and ".." are path segments every URL parser resolves away: such an agent could report
  // but never be read back through /v1/agents/{agentId}.
  z.refine((id) => id !== '.' && id !== '..', "agentId must not be '.' or '..'"),
  z.describe(`${AGENT_ID_RULE}, letters and digits (and marks) of any script; not '.' or '..'`),
);

export function isValidAgentId(value: string): boolean {
  return agentIdSchema.safeParse(value).success;
}

/** One named check as reported, and as the read API shows it. */
export const checkSchema = z.object({
  name: z.string().check(z.minLength(1), z.maxLength(LIMITS.checkNameChars)),
  status: z.enum(['pass', 'warn', 'fail']),
  output: z.optional(z.string().check(z.maxLength(LIMITS.checkOutputChars))),
});

const seconds = () => z.int().check(z.positive());

/** The body of POST /v1/heartbeats. Unknown fields are ignored (stripped) so newer agents can talk to older servers. */
export const heartbeatBodySchema = z.object({
  agentId: agentIdSchema,
  bootId: z.optional(z.string().check(z.minLength(1), z.maxLength(LIMITS.bootIdChars))),
  seq: z.optional(z.int().check(z.nonnegative())),
  intervalSeconds: z.optional(seconds()),
  ttlSeconds: z.optional(seconds().check(z.maximum(LIMITS.maxTtlSeconds))),
  maintenanceSeconds: z.optional(seconds().check(z.maximum(LIMITS.maxMaintenanceSeconds))),
  checks: z.optional(
    z.array(checkSchema).check(
      z.maxLength(LIMITS.checks, `at most ${LIMITS.checks} checks per heartbeat`),
      z.superRefine((checks, ctx) => {
        const seen = new Set<string>();
        checks.forEach((check, index) => {
          if (seen.has(check.name)) {
            ctx.addIssue({
              code: 'custom',
              input: checks,
              path: [index, 'name'],
              message: `duplicate check name '${check.name}'`,
            });
          }
          seen.add(check.name);
        });
      }),
    ),
  ),
  labels: z.optional(
    z
      .record(
        z.string().check(z.minLength(1), z.maxLength(LIMITS.labelKeyChars)),
        z.string().check(z.maxLength(LIMITS.labelValueChars)),
      )
      .check(
        z.refine((labels) => Object.keys(labels).length <= LIMITS.labels, `at most ${LIMITS.labels} labels`),
      ),
  ),
});

export function parseHeartbeat(body: unknown, policy: HeartbeatPolicy): HeartbeatParseResult {
  const parsed = heartbeatBodySchema.safeParse(body);
  if (!parsed.success) return { ok: false, problems: toFieldProblems(parsed.error.issues) };
  const input = parsed.data;
  const ttlSeconds = input.ttlSeconds ?? policy.defaultTtlSeconds;
  // Without an explicit interval, leave room for two missed heartbeats before the deadline.
  const intervalSeconds =
    input.intervalSeconds ?? Math.min(policy.defaultIntervalSeconds, Math.max(1, Math.floor(ttlSeconds / 3)));

  const problems: FieldProblem[] = [];
  if (ttlSeconds < policy.minTtlSeconds) {
    problems.push({ pointer: '/ttlSeconds', detail: `ttlSeconds must be at least ${policy.minTtlSeconds}` });
  }
  if (intervalSeconds > ttlSeconds) {
    problems.push({
      pointer: '/intervalSeconds',
      detail: `intervalSeconds (${intervalSeconds}) must not exceed ttlSeconds (${ttlSeconds})`,
    });
  }
  if (problems.length > 0) return { ok: false, problems };

  return {
    ok: true,
    heartbeat: {
      agentId: input.agentId,
      bootId: input.bootId ?? null,
      seq: input.seq ?? null,
      ttlSeconds,
      intervalSeconds,
      checks: (input.checks ?? []).map(({ name, status, output }) =>
        output === undefined ? { name, status } : { name, status, output },
      ),
      labels: input.labels ?? {},
      ...(input.maintenanceSeconds === undefined ? {} : { maintenanceSeconds: input.maintenanceSeconds }),
    },
  };
}
