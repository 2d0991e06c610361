import { createHmac, hash, timingSafeEqual } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { forbidden, unauthorized } from './problem.js';
import { header } from './request.js';

/** Where valid tokens come from: a fixed list, or a source that may refresh (a rotated secret). */
export type TokenSource = () => Promise<readonly string[]>;
/**
 * `claimedAgentId`: for the heartbeat route, the agent the request reports for (read from its
 * body, lazily: only per-agent tokens need it). Undefined when the body names none.
 */
export type Authenticate = (
  event: APIGatewayProxyEventV2,
  claimedAgentId?: () => string | undefined,
) => Promise<void>;

/**
 * Bearer-token check in constant time. Several tokens may be valid at once (current and previous)
 * so tokens can be rotated without a fleet-wide flag day. Hashing first gives equal-length inputs
 * to timingSafeEqual, so neither a token's content nor its length leaks through timing.
 *
 * `otherRole`: the tokens of the other kind of caller (an agent's on an operator's route, or the
 * other way round), answered 403 rather than 401: the caller is known, but may not do this.
 */
export function makeBearerAuth(
  tokens: readonly string[] | TokenSource,
  otherRole?: { tokens: readonly string[]; detail: string },
): Authenticate {
  const source: TokenSource = typeof tokens === 'function' ? tokens : async () => tokens;
  if (typeof tokens !== 'function') assertUsable(tokens);
  return async (event) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header(event, 'authorization') ?? '');
    if (match === null) throw unauthorized();
    const valid = await source();
    assertUsable(valid);
    const presented = digest(match[1] ?? '');
    if (matchesAny(valid, presented)) return;
    if (otherRole !== undefined && matchesAny(otherRole.tokens, presented)) throw forbidden(otherRole.detail);
    throw unauthorized();
  };
}

/**
 * Per-agent tokens (CDK context `agentAuth=per-agent`): an agent's token is
 * base64url(HMAC-SHA256(secret, agentId)), so it is good for that agent only, and checking it
 * needs no storage: the secret and the agent id the request reports for. Rotation as for the
 * fleet token: tokens from the current and the previous secret are both accepted.
 */
export function agentToken(secret: string, agentId: string): string {
  return createHmac('sha256', secret).update(agentId, 'utf8').digest('base64url');
}

/**
 * The heartbeat route's check with per-agent tokens. A token of another agent, or one sent with
 * no agent id, is a 401: without storage it cannot be told from a made-up one.
 */
export function makePerAgentAuth(
  secrets: TokenSource,
  otherRole?: { tokens: readonly string[]; detail: string },
): Authenticate {
  return async (event, claimedAgentId) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header(event, 'authorization') ?? '');
    if (match === null) throw unauthorized();
    const keys = await secrets();
    assertUsable(keys);
    const presented = digest(match[1] ?? '');
    const agentId = claimedAgentId?.();
    if (agentId !== undefined) {
      const expected = keys.map((key) => digest(agentToken(key, agentId)));
      if (expected.reduce((found, e) => timingSafeEqual(e, presented) || found, false)) return;
    }
    if (otherRole !== undefined && matchesAny(otherRole.tokens, presented)) throw forbidden(otherRole.detail);
    throw unauthorized();
  };
}

/** Compares against every token, without short-circuiting, so timing does not reveal which matched. */
function matchesAny(tokens: readonly string[], presented: Buffer): boolean {
  return tokens
    .map(knownDigest)
    .reduce((found, expected) => timingSafeEqual(expected, presented) || found, false);
}

/**
 * In AWS the read and operator routes use the HTTP API's IAM authorization: API Gateway checks the
 * SigV4 signature and the caller's execute-api:Invoke permission before the function runs, and
 * answers 403 itself otherwise. The function still refuses an event without an IAM caller, so a
 * route left without the authorizer by mistake fails closed.
 */
export const requireIamCaller: Authenticate = async (event) => {
  const context = event.requestContext as { authorizer?: { iam?: { userArn?: string } } } | undefined;
  if (typeof context?.authorizer?.iam?.userArn !== 'string') {
    throw forbidden('this route needs an operator credential (IAM, SigV4-signed)');
  }
};

function assertUsable(tokens: readonly string[]): void {
  if (tokens.length === 0 || tokens.some((token) => token.length === 0)) {
    throw new Error('at least one non-empty bearer token must be configured');
  }
}

function digest(value: string): Buffer {
  return hash('sha256', value, 'buffer');
}

// The configured tokens' digests, computed once rather than on every request. A few entries:
// the current and previous token, and those of a rotation or two before a cold start.
const knownDigests = new Map<string, Buffer>();
function knownDigest(token: string): Buffer {
  let known = knownDigests.get(token);
  if (known === undefined) {
    if (knownDigests.size >= 8) knownDigests.clear();
    known = digest(token);
    knownDigests.set(token, known);
  }
  return known;
}
