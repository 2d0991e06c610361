import * as z from 'zod/mini';
import { agentIdSchema, heartbeatBodySchema } from '../core/heartbeat.js';
import { LIMITS } from '../core/limits.js';
import { MAINTENANCE_LIMITS } from '../core/maintenance.js';
import { windowBodySchema } from '../core/window-body.js';
import {
  agentPageSchema,
  agentViewSchema,
  heartbeatResponseSchema,
  listQuerySchema,
  problemSchema,
  windowListSchema,
  windowViewSchema,
} from './schemas.js';

/**
 * The OpenAPI 3.1 document of the API, generated from the schemas the handlers validate with and
 * type their answers by (zod's own JSON Schema output, whose 2020-12 dialect is OpenAPI 3.1's).
 * `npm run openapi` writes it to docs/openapi.json; a test fails when the two differ, and the
 * local runner serves it at GET /v1/openapi.json.
 */
export function buildOpenApiDocument(): Record<string, unknown> {
  const input = (schema: z.core.$ZodType) => jsonSchema(schema, 'input');
  const output = (schema: z.core.$ZodType) => jsonSchema(schema, 'output');
  const problem = (description: string, headers?: Record<string, unknown>) => ({
    description,
    ...(headers === undefined ? {} : { headers }),
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
  });
  const ref = (name: string) => ({ $ref: `#/components/responses/${name}` });
  const agentIdParameter = { name: 'agentId', in: 'path', required: true, schema: input(agentIdSchema) };
  const windowIdParameter = {
    name: 'id',
    in: 'path',
    required: true,
    schema: { type: 'string', minLength: 1, description: 'The id POST /v1/maintenance answered.' },
  };
  const queryParameters = input(listQuerySchema) as {
    properties: Record<string, Record<string, unknown>>;
    required: string[];
  };

  return {
    openapi: '3.1.0',
    info: {
      title: 'Heartbeat expiry service',
      version: '1',
      description:
        'Agents POST heartbeats; an agent that stops reporting for its TTL is expired and on-call is ' +
        'told once. Every error is application/problem+json (RFC 9457). A method a path does not ' +
        'serve is a 405 with Allow, an unknown path a 404. The local runner also serves this ' +
        'document at GET /v1/openapi.json (without authentication).',
    },
    servers: [{ url: 'http://127.0.0.1:3000', description: 'the local runner (npm start)' }],
    paths: {
      '/v1/heartbeats': {
        post: {
          operationId: 'postHeartbeat',
          security: AGENT,
          summary: "Report an agent's health checks; (re)sets its expiry deadline",
          description:
            "ttlSeconds must also be at least the deployment's minimum (60 s on AWS, 1 s locally) and " +
            'intervalSeconds at most ttlSeconds; check names are unique within a heartbeat and an ' +
            `agent has at most ${LIMITS.labels} labels. agentId is neither '.' nor '..'.`,
          requestBody: {
            required: true,
            content: { 'application/json': { schema: input(heartbeatBodySchema) } },
          },
          responses: {
            '200': {
              description: 'Recorded (or recognised as a duplicate or late report, which changes nothing).',
              content: { 'application/json': { schema: output(heartbeatResponseSchema) } },
            },
            '400': ref('InvalidRequest'),
            '401': ref('Unauthorized'),
            '403': ref('Forbidden'),
            '413': problem(`The body is over ${LIMITS.bodyBytes} bytes.`),
            '415': problem(
              'The body is not application/json in UTF-8, or carries a Content-Encoding other than identity.',
            ),
            '500': ref('InternalError'),
            '503': ref('Unavailable'),
          },
        },
      },
      '/v1/agents': {
        get: {
          operationId: 'listAgents',
          summary: 'One page of the agents in a state',
          security: OPERATOR,
          parameters: Object.entries(queryParameters.properties).map(([name, schema]) => ({
            name,
            in: 'query',
            required: queryParameters.required.includes(name),
            schema,
          })),
          responses: {
            '200': {
              description: 'A page; pass nextCursor back as cursor until it is null.',
              content: { 'application/json': { schema: output(agentPageSchema) } },
            },
            '400': ref('InvalidRequest'),
            '401': ref('Unauthorized'),
            '403': ref('Forbidden'),
            '500': ref('InternalError'),
            '503': ref('Unavailable'),
          },
        },
      },
      '/v1/agents/{agentId}': {
        get: {
          operationId: 'getAgent',
          summary: "An agent's record",
          security: OPERATOR,
          parameters: [agentIdParameter],
          responses: {
            '200': {
              description: "The agent's state, deadline, checks, labels and last transitions.",
              content: { 'application/json': { schema: output(agentViewSchema) } },
            },
            '401': ref('Unauthorized'),
            '403': ref('Forbidden'),
            '404': problem('No agent with this id has reported.'),
            '500': ref('InternalError'),
            '503': ref('Unavailable'),
          },
        },
        delete: {
          operationId: 'deregisterAgent',
          summary:
            'Deregister an agent (a decommissioned server): it never expires; a later heartbeat registers it again',
          description:
            'Its state becomes deregistered and its schedule is deleted. Idempotent: deregistering it again ' +
            'answers the same record.',
          security: OPERATOR,
          parameters: [agentIdParameter],
          responses: {
            '200': {
              description: 'The deregistered record.',
              content: { 'application/json': { schema: output(agentViewSchema) } },
            },
            '401': ref('Unauthorized'),
            '403': ref('Forbidden'),
            '404': problem('No agent with this id has reported.'),
            '500': ref('InternalError'),
            '503': ref('Unavailable'),
          },
        },
      },
      '/v1/maintenance': {
        post: {
          operationId: 'createMaintenanceWindow',
          summary: 'Create a maintenance window: the agents it covers are never expired while it lasts',
          description:
            'Covers the agents listed in selector.agentIds and those whose reported labels include every ' +
            'one of selector.labels. A start in the past (or none) is now. An agent still silent when the ' +
            'window ends expires at the later of its deadline and the end plus its TTL. Bounds: at most ' +
            `${MAINTENANCE_LIMITS.openWindows} windows active or upcoming at once (409 beyond), at most 7 ` +
            'days long, starting at most 90 days ahead.',
          security: OPERATOR,
          requestBody: {
            required: true,
            content: { 'application/json': { schema: input(windowBodySchema) } },
          },
          responses: {
            '201': {
              description: 'Created; Location names it.',
              headers: { Location: { required: true, schema: { type: 'string' } } },
              content: { 'application/json': { schema: output(windowViewSchema) } },
              links: {
                GetMaintenanceWindow: {
                  operationId: 'getMaintenanceWindow',
                  parameters: { id: '$response.body#/id' },
                },
                EndMaintenanceWindow: {
                  operationId: 'endMaintenanceWindow',
                  parameters: { id: '$response.body#/id' },
                },
              },
            },
            '400': ref('InvalidRequest'),
            '401': ref('Unauthorized'),
            '403': ref('Forbidden'),
            '409': problem(
              `${MAINTENANCE_LIMITS.openWindows} windows are already open, or the windows would take too much room.`,
            ),
            '413': problem(`The body is over ${LIMITS.bodyBytes} bytes.`),
            '415': problem(
              'The body is not application/json in UTF-8, or carries a Content-Encoding other than identity.',
            ),
            '500': ref('InternalError'),
            '503': ref('Unavailable'),
          },
        },
        get: {
          operationId: 'listMaintenanceWindows',
          summary: 'The maintenance windows active or still to start',
          security: OPERATOR,
          responses: {
            '200': {
              description: 'Every open window, by start.',
              content: { 'application/json': { schema: output(windowListSchema) } },
            },
            '401': ref('Unauthorized'),
            '403': ref('Forbidden'),
            '500': ref('InternalError'),
            '503': ref('Unavailable'),
          },
        },
      },
      '/v1/maintenance/{id}': {
        get: {
          operationId: 'getMaintenanceWindow',
          summary: 'One maintenance window (ended ones are kept about a week)',
          security: OPERATOR,
          parameters: [windowIdParameter],
          responses: {
            '200': {
              description: 'The window.',
              content: { 'application/json': { schema: output(windowViewSchema) } },
            },
            '401': ref('Unauthorized'),
            '403': ref('Forbidden'),
            '404': problem('No window with this id (or it ended long ago).'),
            '500': ref('InternalError'),
            '503': ref('Unavailable'),
          },
        },
        delete: {
          operationId: 'endMaintenanceWindow',
          summary: 'End a maintenance window now (or cancel one still to start)',
          description:
            'Agents it held expire at the actual end plus their TTL, once the reconciler has run. ' +
            'Idempotent: ending an ended window answers it unchanged.',
          security: OPERATOR,
          parameters: [windowIdParameter],
          responses: {
            '200': {
              description: 'The ended window.',
              content: { 'application/json': { schema: output(windowViewSchema) } },
            },
            '401': ref('Unauthorized'),
            '403': ref('Forbidden'),
            '404': problem('No window with this id (or it ended long ago).'),
            '500': ref('InternalError'),
            '503': ref('Unavailable'),
          },
        },
      },
    },
    components: {
      securitySchemes: {
        agentToken: {
          type: 'http',
          scheme: 'bearer',
          description:
            "The agents' token (HEARTBEAT_TOKEN locally; the secret named by HEARTBEAT_TOKENS_SECRET_ARN " +
            'in AWS), sent in exactly one Authorization header. It may only report heartbeats.',
        },
        operatorToken: {
          type: 'http',
          scheme: 'bearer',
          description:
            "Locally, the operators' token (OPERATOR_TOKEN): reading and operating, never reporting.",
        },
        sigv4: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description:
            'In AWS, an IAM caller: requests signed with SigV4 (service execute-api) by a role holding the ' +
            "stack's OperatorPolicyArn; API Gateway answers 403 to anyone else.",
          'x-amazon-apigateway-authtype': 'awsSigv4',
        },
      },
      schemas: { Problem: output(problemSchema) },
      responses: {
        InvalidRequest: problem(
          'Invalid JSON, fields or query parameters; `errors` has one entry per problem.',
        ),
        Unauthorized: problem('No valid bearer token.', {
          'WWW-Authenticate': { schema: { type: 'string', const: 'Bearer' } },
        }),
        Forbidden: problem(
          "A valid credential of the other kind: an agent's token on a reading or operating route, or the " +
            "operators' on the heartbeat route.",
        ),
        InternalError: problem('A bug of ours: logged with the request id in `detail`, no stack trace.'),
        Unavailable: problem('The store or a secret is unavailable; retry after Retry-After seconds.', {
          'Retry-After': { required: true, schema: { type: 'string', pattern: '^[0-9]+$' } },
        }),
      },
    },
  };
}

/** Credentials apart (issue 10): the agents' token reports; operators read and operate. */
const AGENT = [{ agentToken: [] }];
const OPERATOR = [{ operatorToken: [] }, { sigv4: [] }];

/**
 * A schema in OpenAPI 3.1's dialect, without the `$schema` keyword (the document sets the dialect).
 * A pattern with Unicode property classes (`\p{L}`, the agent id's) is valid ECMA-262, as JSON
 * Schema specifies, but most non-JavaScript tools (Python's `re`: openapi-spec-validator,
 * schemathesis) reject the whole document over it; it moves to `x-unicode-pattern`, and the
 * description says the rule in words.
 */
function jsonSchema(schema: z.core.$ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const generated = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    override: ({ jsonSchema: node }) => {
      if (typeof node.pattern === 'string' && node.pattern.includes('\\p{')) {
        node['x-unicode-pattern'] = node.pattern;
        delete node.pattern;
      }
    },
  }) as Record<string, unknown>;
  const { $schema: _dialect, ...rest } = generated;
  return rest;
}
