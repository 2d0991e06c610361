import { z } from 'zod';
import type { CheckResult } from './agent.js';
import { LIMITS } from './limits.js';

/** A validated heartbeat, with TTL and interval resolved against the service's policy. */
export interface Heartbeat {
  agentId: string;
  bootId: string | null;
  seq: number | null;
  ttlSeconds: number;
  intervalSeconds: number;
  checks: CheckResult[];
  labels: Record<string, string>;
}

export interface HeartbeatPolicy {
  defaultTtlSeconds: number;
  defaultIntervalSeconds: number;
  /** 60 s on AWS (the scheduler's precision), 1 s locally. */
  minTtlSeconds: number;
}

/** One problem with the input, located by an RFC 6901 JSON pointer (RFC 9457 `errors` entry). */
export interface FieldProblem {
  pointer: string;
  detail: string;
}

export type HeartbeatParseResult =
  { ok: true; heartbeat: Heartbeat } | { ok: false; problems: FieldProblem[] };

// Letters, digits and marks of any script plus a few separators: unicode hostnames work, while
// slashes, spaces and control characters (which would break paths and log lines) do not.
const AGENT_ID = /^[\p{L}\p{N}\p{M}._:@-]+$/u;
const AGENT_ID_RULE = `1-${LIMITS.agentIdChars} letters, digits, '.', '_', ':', '@' or '-'`;

export const agentIdSchema = z
  .string()
  .min(1, `agentId must be ${AGENT_ID_RULE}`)
  .max(LIMITS.agentIdChars, `agentId must be ${AGENT_ID_RULE}`)
  .regex(AGENT_ID, `agentId must be ${AGENT_ID_RULE}`)
  // "." and ".." are path segments every URL parser resolves away: such an agent could report
  // but never be read back through /v1/agents/{agentId}.
  .refine((id) => id !== '.' && id !== '..', "agentId must not be '.' or '..'");

export function isValidAgentId(value: string): boolean {
  return agentIdSchema.safeParse(value).success;
}

const checkSchema = z.object({
  name: z.string().min(1).max(LIMITS.checkNameChars),
  status: z.enum(['pass', 'warn', 'fail']),
  output: z.string().max(LIMITS.checkOutputChars).optional(),
});

const seconds = z.int().positive();

// Unknown fields are ignored (zod strips them) so newer agents can talk to older servers.
const bodySchema = z.object({
  agentId: agentIdSchema,
  bootId: z.string().min(1).max(LIMITS.bootIdChars).optional(),
  seq: z.int().nonnegative().optional(),
  intervalSeconds: seconds.optional(),
  ttlSeconds: seconds.max(LIMITS.maxTtlSeconds).optional(),
  checks: z
    .array(checkSchema)
    .max(LIMITS.checks, `at most ${LIMITS.checks} checks per heartbeat`)
    .superRefine((checks, ctx) => {
      const seen = new Set<string>();
      checks.forEach((check, index) => {
        if (seen.has(check.name)) {
          ctx.addIssue({
            code: 'custom',
            path: [index, 'name'],
            message: `duplicate check name '${check.name}'`,
          });
        }
        seen.add(check.name);
      });
    })
    .optional(),
  labels: z
    .record(z.string().min(1).max(LIMITS.labelKeyChars), z.string().max(LIMITS.labelValueChars))
    .refine((labels) => Object.keys(labels).length <= LIMITS.labels, `at most ${LIMITS.labels} labels`)
    .optional(),
});

export function parseHeartbeat(body: unknown, policy: HeartbeatPolicy): HeartbeatParseResult {
  const parsed = bodySchema.safeParse(body);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((issue) => ({
        pointer: toPointer(issue.path),
        detail: issue.message,
      })),
    };
  }
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
    },
  };
}

function toPointer(path: readonly PropertyKey[]): string {
  return path.map((segment) => '/' + String(segment).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}
