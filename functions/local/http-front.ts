import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Clock, Log } from '../core/ports.js';
import { errorToResponse } from '../http/errors-to-response.js';
import { type HttpResult, payloadTooLarge } from '../http/problem.js';
import { toApiGatewayEvent } from './http-to-event.js';

export interface HttpFrontOptions {
  invoke(event: APIGatewayProxyEventV2): Promise<HttpResult>;
  maxBodyBytes: number;
  clock: Clock;
  log: Log;
}

/**
 * The HTTP server standing in for API Gateway: it hands the functions the request as API Gateway
 * would (raw bytes, repeated headers joined), refuses a body it would never pass on before reading
 * it, and tells a client that went away from an error of ours.
 */
export function createHttpFront(options: HttpFrontOptions): Server {
  const server = createServer((request, response) => void serve(request, response, options));
  // Node answers `Expect: 100-continue` on its own unless told otherwise: a client announcing
  // 10 MB would be invited to send them, only to be refused once they arrived.
  server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
    if (declaredTooLarge(request, options.maxBodyBytes)) {
      refuseTooLarge(response, options.maxBodyBytes);
      return;
    }
    response.writeContinue();
    void serve(request, response, options);
  });
  return server;
}

class BodyTooLargeError extends Error {}

async function serve(request: IncomingMessage, response: ServerResponse, options: HttpFrontOptions) {
  if (declaredTooLarge(request, options.maxBodyBytes)) {
    refuseTooLarge(response, options.maxBodyBytes);
    return;
  }
  let body: Buffer;
  try {
    body = await readBody(request, options.maxBodyBytes);
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      refuseTooLarge(response, options.maxBodyBytes);
      return;
    }
    // A truncated body, a close after `Expect: 100-continue`, a malformed chunk: the client's
    // doing, nothing of ours failed, and there is nobody left to answer.
    options.log.info('client closed the connection before its request was complete', {
      method: request.method,
      path: request.url,
      code: (error as { code?: unknown }).code,
    });
    response.destroy();
    return;
  }
  let result: HttpResult;
  try {
    result = await options.invoke(toApiGatewayEvent(request, body, options.clock));
  } catch (error) {
    result = errorToResponse(error, options.log, undefined);
  }
  writeResult(response, result);
}

function declaredTooLarge(request: IncomingMessage, maxBytes: number): boolean {
  const declared = Number(request.headers['content-length'] ?? 0);
  return Number.isFinite(declared) && declared > maxBytes;
}

/** Answers 413 without reading the body, and closes the connection so the rest is never read. */
function refuseTooLarge(response: ServerResponse, maxBytes: number): void {
  const result = payloadTooLarge(maxBytes).toResponse();
  writeResult(response, { ...result, headers: { ...result.headers, connection: 'close' } });
}

/** Reads a request body of at most `maxBytes`; a longer one (chunked, undeclared) is refused. */
async function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    length += chunk.byteLength;
    if (length > maxBytes) throw new BodyTooLargeError();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function writeResult(response: ServerResponse, result: HttpResult): void {
  if (response.destroyed) return;
  response.writeHead(result.statusCode, {
    ...result.headers,
    'content-length': Buffer.byteLength(result.body),
  });
  response.end(result.body);
}
