import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { matchRoute } from '../../functions/local/http-to-event.js';

export const TOKEN = 'test-token';

export interface EventInput {
  method?: string;
  path?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
  isBase64Encoded?: boolean;
}

/** A payload-v2 event as API Gateway's HTTP API sends it. */
export function apiEvent(input: EventInput = {}): APIGatewayProxyEventV2 {
  const path = input.path ?? '/v1/heartbeats';
  const method = input.method ?? 'POST';
  const route = matchRoute(path, method.toUpperCase());
  return {
    version: '2.0',
    routeKey: route.routeKey,
    rawPath: path,
    rawQueryString: new URLSearchParams(input.query ?? {}).toString(),
    ...(input.query ? { queryStringParameters: input.query } : {}),
    headers: input.headers ?? { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    ...(route.pathParameters ? { pathParameters: route.pathParameters } : {}),
    requestContext: {
      accountId: 'test',
      apiId: 'test',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: 'req-1',
      routeKey: route.routeKey,
      stage: '$default',
      time: new Date(0).toISOString(),
      timeEpoch: 0,
    },
    ...(input.body === undefined ? {} : { body: input.body }),
    isBase64Encoded: input.isBase64Encoded ?? false,
  };
}

export function heartbeatEvent(body: unknown, headers?: Record<string, string>): APIGatewayProxyEventV2 {
  return apiEvent({ body: JSON.stringify(body), ...(headers ? { headers } : {}) });
}

/**
 * An event as API Gateway sends it on an IAM-authorized route (the read and operator routes in
 * AWS): the SigV4 signature was checked before the function runs, and the caller is named here.
 */
export function iamEvent(input: EventInput = {}): APIGatewayProxyEventV2 {
  const event = apiEvent({ headers: { 'content-type': 'application/json' }, ...input });
  const authorizer = {
    iam: {
      accountId: '123456789012',
      userArn: 'arn:aws:sts::123456789012:assumed-role/oncall/alice',
      userId: 'AROAEXAMPLE:alice',
    },
  };
  return { ...event, requestContext: { ...event.requestContext, authorizer } } as APIGatewayProxyEventV2;
}
