import * as z from 'zod/mini';
import { EVENT_SCHEMAS, EVENT_SOURCE, type DetailType } from './event-schemas.js';

/** The file name of a detail-type's schema: `Agent Expired` -> `agent-expired.schema.json`. */
export function schemaFileOf(detailType: DetailType): string {
  return `${detailType.toLowerCase().replace(/ /g, '-')}.schema.json`;
}

/**
 * One JSON Schema (2020-12) per detail-type, of the event's `detail`, as committed in
 * docs/events/ for consumers to validate against and generate types from. Not bundled: only the
 * script and the tests import this.
 */
export function eventSchemaDocuments(): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    (Object.entries(EVENT_SCHEMAS) as [DetailType, z.core.$ZodType][]).map(([detailType, schema]) => [
      schemaFileOf(detailType),
      {
        ...(z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'output' }) as Record<string, unknown>),
        title: detailType,
        description: `The detail of an EventBridge event with source "${EVENT_SOURCE}" and detail-type "${detailType}".`,
      },
    ]),
  );
}
