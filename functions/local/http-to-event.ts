import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Clock } from '../core/ports.js';
import type { HttpResult } from '../http/problem.js';

export interface Route {
  routeKey: string;
  pathParameters?: Record<string, string>;
}

/** The routes API Gateway has in AWS (see cdk/); anything else goes to `$default`. */
export function matchRoute(path: string): Route {
  if (path === '/v1/heartbeats') return { routeKey: 'ANY /v1/heartbeats' };
  if (path === '/v1/agents') return { routeKey: 'ANY /v1/agents' };
  const agent = /^\/v1\/agents\/([^/]+)$/.exec(path);
  if (agent?.[1] !== undefined) {
    try {
      return {
        routeKey: 'ANY /v1/agents/{agentId}',
        pathParameters: { agentId: decodeURIComponent(agent[1]) },
      };
    } catch {
      return { routeKey: '$default' }; // malformed %-escape: no such route
    }
  }
  return { routeKey: '$default' };
}

/**
 * Reads a request body, keeping at most `maxBytes + 1` bytes: enough for the handler to see it is
 * too large and answer 413, without letting a huge upload fill the runner's memory.
 */
export async function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let kept = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    if (kept > maxBytes) continue; // drain the rest
    const slice = chunk.subarray(0, maxBytes + 1 - kept);
    chunks.push(slice);
    kept += slice.byteLength;
  }
  return Buffer.concat(chunks);
}

/** Builds the payload-v2 event API Gateway's HTTP API would send for this request. */
export function toApiGatewayEvent(
  request: IncomingMessage,
  body: Buffer,
  clock: Clock,
): APIGatewayProxyEventV2 {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const route = matchRoute(url.pathname);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const contentType = headers['content-type'] ?? '';
  // API Gateway passes text bodies as text and everything else base64-encoded.
  const isText = /json|text|xml|form-urlencoded/i.test(contentType);
  const now = new Date(clock.now());
  const method = (request.method ?? 'GET').toUpperCase();
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

export function writeResult(response: ServerResponse, result: HttpResult): void {
  response.writeHead(result.statusCode, {
    ...result.headers,
    'content-length': Buffer.byteLength(result.body),
  });
  response.end(result.body);
}

/** API Gateway joins repeated query parameters with commas. */
function queryParameters(params: URLSearchParams): Record<string, string> {
  const result: Record<string, string> = {};
  for (const key of new Set(params.keys())) result[key] = params.getAll(key).join(',');
  return result;
}
