import { randomUUID } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Clock } from '../core/ports.js';

export interface Route {
  routeKey: string;
  pathParameters?: Record<string, string>;
}

/**
 * The routes API Gateway has in AWS (cdk/api.ts); anything else goes to `$default`. A route for
 * one method wins over the path's ANY route, as in API Gateway.
 */
export function matchRoute(path: string, method: string): Route {
  if (path === '/v1/heartbeats') return { routeKey: 'ANY /v1/heartbeats' };
  if (path === '/v1/agents') return { routeKey: 'ANY /v1/agents' };
  if (path === '/v1/maintenance') return { routeKey: 'ANY /v1/maintenance' };
  const window = /^\/v1\/maintenance\/([^/]+)$/.exec(path);
  if (window?.[1] !== undefined) {
    try {
      return { routeKey: 'ANY /v1/maintenance/{id}', pathParameters: { id: decodeURIComponent(window[1]) } };
    } catch {
      return { routeKey: '$default' }; // malformed %-escape: no such route
    }
  }
  const agent = /^\/v1\/agents\/([^/]+)$/.exec(path);
  if (agent?.[1] !== undefined) {
    try {
      return {
        routeKey: method === 'DELETE' ? 'DELETE /v1/agents/{agentId}' : 'ANY /v1/agents/{agentId}',
        pathParameters: { agentId: decodeURIComponent(agent[1]) },
      };
    } catch {
      return { routeKey: '$default' }; // malformed %-escape: no such route
    }
  }
  return { routeKey: '$default' };
}

/** Builds the payload-v2 event API Gateway's HTTP API would send for this request. */
export function toApiGatewayEvent(
  request: IncomingMessage,
  body: Buffer,
  clock: Clock,
): APIGatewayProxyEventV2 {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const method = (request.method ?? 'GET').toUpperCase();
  const route = matchRoute(url.pathname, method);
  // API Gateway joins a repeated header's values with commas. Node keeps only the first of some
  // (Authorization, Content-Type): a second credential must not be silently dropped.
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(request.headersDistinct)) {
    if (values !== undefined) headers[name] = values.join(',');
  }
  // API Gateway passes text bodies as text and everything else base64-encoded. Bytes that are not
  // UTF-8 go base64-encoded too, unchanged: decoding them here would replace them with U+FFFD
  // before the handler's strict check could see them.
  const isText = /json|text|xml|form-urlencoded/i.test(headers['content-type'] ?? '') && isUtf8(body);
  const now = new Date(clock.now());
  return {
    version: '2.0',
    routeKey: route.routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    headers,
    ...(url.searchParams.size > 0 ? { queryStringParameters: queryParameters(url.searchParams) } : {}),
    ...(route.pathParameters ? { pathParameters: route.pathParameters } : {}),
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'localhost',
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: route.routeKey,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    ...(body.byteLength > 0
      ? { body: isText ? body.toString('utf8') : body.toString('base64'), isBase64Encoded: !isText }
      : { isBase64Encoded: false }),
  };
}

/** API Gateway joins repeated query parameters with commas. */
function queryParameters(params: URLSearchParams): Record<string, string> {
  const result: Record<string, string> = {};
  for (const key of new Set(params.keys())) result[key] = params.getAll(key).join(',');
  return result;
}
