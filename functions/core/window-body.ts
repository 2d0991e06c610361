import * as z from 'zod/mini';
import { agentIdSchema } from './heartbeat.js';
import { LIMITS } from './limits.js';
import { MAINTENANCE_LIMITS } from './maintenance.js';

// The body of POST /v1/maintenance, apart from maintenance.ts so that the functions that only
// judge windows (ingest, expiry) do not build this schema at every cold start.

const REASON_MESSAGE = `reason must be 1-${MAINTENANCE_LIMITS.reasonChars} characters`;

/** The body of POST /v1/maintenance. */
export const windowBodySchema = z
  .object({
    selector: z.object({
      agentIds: z.optional(
        z
          .array(agentIdSchema)
          .check(
            z.minLength(1),
            z.maxLength(MAINTENANCE_LIMITS.agentIds, `at most ${MAINTENANCE_LIMITS.agentIds} agentIds`),
          ),
      ),
      labels: z.optional(
        z
          .record(
            z.string().check(z.minLength(1), z.maxLength(LIMITS.labelKeyChars)),
            z.string().check(z.maxLength(LIMITS.labelValueChars)),
          )
          .check(
            z.refine(
              (labels) =>
                Object.keys(labels).length >= 1 && Object.keys(labels).length <= MAINTENANCE_LIMITS.labels,
              `1 to ${MAINTENANCE_LIMITS.labels} labels`,
            ),
          ),
      ),
    }),
    start: z.optional(z.iso.datetime({ offset: true })),
    end: z.iso.datetime({ offset: true }),
    reason: z
      .string()
      .check(z.minLength(1, REASON_MESSAGE), z.maxLength(MAINTENANCE_LIMITS.reasonChars, REASON_MESSAGE)),
  })
  .check(
    z.refine((body) => body.selector.agentIds !== undefined || body.selector.labels !== undefined, {
      message: 'selector needs agentIds or labels (or both)',
      path: ['selector'],
    }),
  );

export type WindowBody = z.output<typeof windowBodySchema>;
