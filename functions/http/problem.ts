import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { FieldProblem } from '../core/validation.js';
import type { ProblemBody } from './schemas.js';

export type HttpResult = APIGatewayProxyStructuredResultV2 & { statusCode: number; body: string };

/** An error that is the client's to fix, or a backend's to recover from; it carries its response. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly slug: string,
    readonly title: string,
    detail: string,
    readonly extra: { errors?: FieldProblem[]; headers?: Record<string, string> } = {},
  ) {
    super(detail);
  }

  toResponse(): HttpResult {
    const body: ProblemBody = {
      type: `urn:heartbeat:problem:${this.slug}`,
      title: this.title,
      status: this.status,
      detail: this.message,
      ...(this.extra.errors ? { errors: this.extra.errors } : {}),
    };
    return {
      statusCode: this.status,
      headers: { 'content-type': 'application/problem+json', ...this.extra.headers },
      body: JSON.stringify(body),
    };
  }
}

export const badRequest = (detail: string, errors?: FieldProblem[]) =>
  new HttpError(400, 'invalid-request', 'Invalid request', detail, errors ? { errors } : {});
export const unauthorized = () =>
  new HttpError(
    401,
    'unauthorized',
    'Unauthorized',
    'a valid "Authorization: Bearer <token>" header is required',
    {
      headers: { 'www-authenticate': 'Bearer' },
    },
  );
export const forbidden = (detail: string) => new HttpError(403, 'forbidden', 'Forbidden', detail);
export const notFound = (detail: string) => new HttpError(404, 'not-found', 'Not found', detail);
export const methodNotAllowed = (method: string, allow: string) =>
  new HttpError(
    405,
    'method-not-allowed',
    'Method not allowed',
    `${method} is not allowed here; use ${allow}`,
    {
      headers: { allow },
    },
  );
export const conflict = (detail: string) => new HttpError(409, 'conflict', 'Conflict', detail);
export const payloadTooLarge = (limit: number) =>
  new HttpError(413, 'payload-too-large', 'Payload too large', `the body must be at most ${limit} bytes`);
export const unsupportedMediaType = (detail: string) =>
  new HttpError(415, 'unsupported-media-type', 'Unsupported media type', detail);
export const serviceUnavailable = (detail: string, retryAfterSeconds: number) =>
  new HttpError(503, 'backend-unavailable', 'Service unavailable', detail, {
    headers: { 'retry-after': String(retryAfterSeconds) },
  });

export function json(statusCode: number, value: unknown): HttpResult {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) };
}
