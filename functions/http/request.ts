import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { badRequest, methodNotAllowed, payloadTooLarge, unsupportedMediaType } from './problem.js';

export function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  // API Gateway lower-cases header names in payload v2; look case-insensitively anyway for other callers.
  const headers = event.headers ?? {};
  const direct = headers[name];
  if (typeof direct === 'string') return direct;
  const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
  const value = key === undefined ? undefined : headers[key];
  return typeof value === 'string' ? value : undefined;
}

/** `allow`: every method the route serves, for the 405's Allow header (default: `allowed`). */
export function requireMethod(event: APIGatewayProxyEventV2, allowed: string, allow = allowed): void {
  const method = event.requestContext?.http?.method ?? '';
  if (method.toUpperCase() !== allowed) throw methodNotAllowed(method || 'this method', allow);
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;.*)?$/i;
// Stateless between calls (no `stream` option), so one serves every request.
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)"?/i;

/** Reads a JSON body defensively: every way it can be wrong is the client's 4xx, never our 5xx. */
export function readJsonBody(event: APIGatewayProxyEventV2, maxBytes: number): unknown {
  const contentType = header(event, 'content-type');
  if (contentType === undefined || !JSON_TYPE.test(contentType.trim())) {
    throw unsupportedMediaType('send the body as application/json');
  }
  // JSON is UTF-8 (RFC 8259): a body declared in another charset would be misread, not converted.
  const charset = CHARSET.exec(contentType)?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
    throw unsupportedMediaType(`charset=${charset} is not accepted; send the JSON as UTF-8`);
  }
  // API Gateway passes compressed bodies through as they are; decoding them here would invite
  // decompression bombs for 64 KiB of JSON. Refusing is explicit where ignoring misled.
  const encoding = header(event, 'content-encoding')?.trim();
  if (encoding !== undefined && encoding !== '' && encoding.toLowerCase() !== 'identity') {
    throw unsupportedMediaType(`Content-Encoding ${encoding} is not accepted; send the body uncompressed`);
  }

  const raw = typeof event.body === 'string' ? event.body : '';
  let text: string;
  if (event.isBase64Encoded === true) {
    const bytes = Buffer.from(raw, 'base64');
    if (bytes.byteLength > maxBytes) throw payloadTooLarge(maxBytes);
    try {
      text = STRICT_UTF8.decode(bytes);
    } catch {
      throw badRequest('the body is not valid UTF-8 JSON');
    }
  } else {
    // A text body arrives decoded already: no need to encode it again only to decode it. A lone
    // surrogate is what invalid UTF-8 would have become; refused as the bytes would have been.
    if (Buffer.byteLength(raw, 'utf8') > maxBytes) throw payloadTooLarge(maxBytes);
    if (!raw.isWellFormed()) throw badRequest('the body is not valid UTF-8 JSON');
    text = raw;
  }
  if (text.length === 0) throw badRequest('the body is empty; send a JSON object');

  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw badRequest('the body is not valid UTF-8 JSON');
  }
}
