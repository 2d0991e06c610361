import { createHash, timingSafeEqual } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { unauthorized } from './problem.js';
import { header } from './request.js';

/**
 * Bearer-token check in constant time. Several tokens may be valid at once (current and previous)
 * so tokens can be rotated without a fleet-wide flag day. Hashing first gives equal-length inputs
 * to timingSafeEqual, so neither a token's content nor its length leaks through timing.
 */
export function makeBearerAuth(tokens: readonly string[]): (event: APIGatewayProxyEventV2) => void {
  if (tokens.length === 0 || tokens.some((token) => token.length === 0)) {
    throw new Error('at least one non-empty bearer token must be configured');
  }
  const digests = tokens.map(digest);
  return (event) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header(event, 'authorization') ?? '');
    const presented = digest(match?.[1] ?? '');
    // Compare against every token, without short-circuiting, so timing does not reveal which matched.
    const ok = digests.reduce((found, expected) => timingSafeEqual(expected, presented) || found, false);
    if (!ok || match === null) throw unauthorized();
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
