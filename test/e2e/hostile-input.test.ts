import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalApp } from '../../functions/local/app.js';
import { RecordingLog } from '../support/fakes.js';
import { OPERATOR_TOKEN, startTestApp } from '../support/local-app.js';

// Inputs found from outside (issue 8), through the local runner's real HTTP server: each is the
// client's 4xx problem+json, never a 500 and never stored.
const TOKEN = 'hostile-token';
let app: LocalApp;
let stop: () => Promise<void> = async () => undefined;
const log = new RecordingLog();

beforeAll(async () => {
  ({ app, stop } = await startTestApp({ token: TOKEN, log }));
});

afterAll(() => stop());

const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
// Reading is an operator's (credentials apart).
const get = (path: string) =>
  fetch(`${app.url}${path}`, { headers: { ...headers, authorization: `Bearer ${OPERATOR_TOKEN}` } });
const post = (body: unknown) =>
  fetch(`${app.url}/v1/heartbeats`, { method: 'POST', headers, body: JSON.stringify(body) });

async function problem(response: Response, status: number) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  return (await response.json()) as { errors?: Array<{ pointer: string }> };
}

describe('hostile input through the local runner', () => {
  it('a forged list cursor (a 2 KB position) is a 400 on /cursor, not the store refusing it as a 500', async () => {
    for (const position of [
      { shard: 0, after: 'x'.repeat(2048) },
      { shard: 0, after: 'a/b' },
    ]) {
      const cursor = Buffer.from(JSON.stringify(position)).toString('base64url');
      const body = await problem(await get(`/v1/agents?state=alive&cursor=${cursor}`), 400);
      expect(body.errors?.map((e) => e.pointer)).toEqual(['/cursor']);
    }
  });

  it("'.' and '..' are refused as agent ids: they could never be read back through the path", async () => {
    for (const agentId of ['.', '..']) {
      const body = await problem(await post({ agentId }), 400);
      expect(body.errors?.map((e) => e.pointer)).toEqual(['/agentId']);
    }
    expect((await post({ agentId: '...' })).status).toBe(200);
    expect((await get('/v1/agents/...')).status).toBe(200);
  });

  it('a limit is decimal digits only: 0x10, 1e1 or 16.0 are a 400; 16 is a page', async () => {
    for (const limit of ['0x10', '1e1', '16.0', ' 16', '-1', '0', '101']) {
      const body = await problem(await get(`/v1/agents?state=alive&limit=${encodeURIComponent(limit)}`), 400);
      expect(body.errors?.map((e) => e.pointer)).toEqual(['/limit']);
    }
    expect((await get('/v1/agents?state=alive&limit=16')).status).toBe(200);
  });
});

/**
 * Sends bytes exactly as given over a raw socket (a client library would fix them up) and returns
 * what came back once the server closed or stayed quiet for a moment; `close` ends the connection
 * after sending, as a client that gives up would.
 */
function raw(parts: Array<string | Buffer>, options: { close?: boolean } = {}): Promise<string> {
  const { port } = new URL(app.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    const received: Buffer[] = [];
    let quiet: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(quiet);
      socket.destroy();
      resolve(Buffer.concat(received).toString('latin1'));
    };
    // Whatever arrived is the answer once the server closes or goes quiet.
    const settleSoon = () => {
      clearTimeout(quiet);
      quiet = setTimeout(finish, 300);
    };
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      settleSoon();
    });
    socket.on('close', finish);
    socket.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' || error.code === 'EPIPE' ? finish() : reject(error),
    );
    socket.on('connect', () => {
      for (const part of parts) socket.write(part);
      if (options.close === true) socket.end(() => setTimeout(finish, 300));
    });
  });
}

const request = (head: string[], body: Buffer | string = '') => [
  [
    'POST /v1/heartbeats HTTP/1.1',
    'Host: localhost',
    `Authorization: Bearer ${TOKEN}`,
    'Connection: close',
    ...head,
    '',
    '',
  ].join('\r\n'),
  body,
];

const jsonHead = (length: number) => ['Content-Type: application/json', `Content-Length: ${length}`];
const statusOf = (response: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1]);
const bodyOf = (response: string) => response.slice(response.indexOf('\r\n\r\n') + 4);

describe('hostile bytes through the local runner, sent over a raw socket', () => {
  it('invalid UTF-8 (C3 28, an encoded surrogate ED A0 80) is a 400 and nothing is stored', async () => {
    for (const [agentId, bad] of [
      ['utf8-bad-1', [0xc3, 0x28]],
      ['utf8-bad-2', [0xed, 0xa0, 0x80]],
    ] as const) {
      const body = Buffer.concat([
        Buffer.from(`{"agentId":"${agentId}","labels":{"k":"`),
        Buffer.from(bad),
        Buffer.from('"}}'),
      ]);
      const response = await raw(request(jsonHead(body.byteLength), body));
      expect(statusOf(response)).toBe(400);
      expect(response).toMatch(/content-type: application\/problem\+json/i);
      expect((await get(`/v1/agents/${agentId}`)).status).toBe(404);
    }
  });

  it('a body declared in another charset is a 415, even when its bytes would parse', async () => {
    const body = Buffer.from('{"agentId":"latin-1","labels":{"k":"caf\xe9"}}', 'latin1');
    for (const type of ['application/json; charset=latin1', 'application/json;charset="ISO-8859-1"']) {
      const response = await raw(
        request([`Content-Type: ${type}`, `Content-Length: ${body.byteLength}`], body),
      );
      expect(statusOf(response)).toBe(415);
      expect(bodyOf(response)).toContain('UTF-8');
    }
    const utf8 = Buffer.from('{"agentId":"charset-utf8"}');
    const ok = await raw(
      request(['Content-Type: application/json; charset=UTF-8', `Content-Length: ${utf8.byteLength}`], utf8),
    );
    expect(statusOf(ok)).toBe(200);
    expect((await get('/v1/agents/latin-1')).status).toBe(404);
  });

  it('Content-Encoding gzip is a 415, for a real gzip body and for a plain body labelled gzip', async () => {
    const plain = Buffer.from('{"agentId":"gzip-labelled"}');
    const gzipped = gzipSync(Buffer.from('{"agentId":"gzip-real"}'));
    for (const body of [gzipped, plain]) {
      const response = await raw(request([...jsonHead(body.byteLength), 'Content-Encoding: gzip'], body));
      expect(statusOf(response)).toBe(415);
      expect(bodyOf(response)).toContain('uncompressed');
    }
    expect((await get('/v1/agents/gzip-labelled')).status).toBe(404);
    expect((await get('/v1/agents/gzip-real')).status).toBe(404);
  });

  it('two Authorization headers are a 401, even when both carry the valid token', async () => {
    const body = Buffer.from('{"agentId":"two-credentials"}');
    const response = await raw(
      request([...jsonHead(body.byteLength), `Authorization: Bearer ${TOKEN}`], body),
    );
    expect(statusOf(response)).toBe(401);
    expect((await get('/v1/agents/two-credentials')).status).toBe(404);
  });

  it('a huge declared Content-Length is a 413 at once: no 100 Continue, the body is never read', async () => {
    const withExpect = await raw(request([...jsonHead(10_000_000), 'Expect: 100-continue']));
    expect(withExpect).not.toContain('100 Continue');
    expect(statusOf(withExpect)).toBe(413);
    const without = await raw(request(jsonHead(10_000_000), '{"agentId":"'));
    expect(statusOf(without)).toBe(413);
  });

  it('a chunked body longer than the limit is a 413', async () => {
    const chunk = 'x'.repeat(16 * 1024);
    const chunks = Array.from({ length: 6 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join('');
    const response = await raw(
      request(['Content-Type: application/json', 'Transfer-Encoding: chunked'], `${chunks}0\r\n\r\n`),
    );
    expect(statusOf(response)).toBe(413);
  });

  it('a client that goes away mid-request is logged as that, never as an error of ours', async () => {
    const gone = () => log.withMessage('client closed the connection before its request was complete').length;
    const errorsBefore = log.lines.filter((line) => line.level === 'error').length;
    // A truncated body, then the close.
    await raw(request(jsonHead(100), '{"agentId":'), { close: true });
    await expect.poll(gone).toBe(1);
    // `Expect: 100-continue`, then the close instead of the body.
    await raw(request([...jsonHead(20), 'Expect: 100-continue']), { close: true });
    await expect.poll(gone).toBe(2);
    // A chunk size that is not hexadecimal.
    await raw(
      request(['Content-Type: application/json', 'Transfer-Encoding: chunked'], 'zz\r\n{}\r\n0\r\n\r\n'),
    );
    await expect.poll(gone).toBe(3);
    expect(log.lines.filter((line) => line.level === 'error').slice(errorsBefore)).toEqual([]);
    // And the server still answers.
    expect((await get('/v1/agents?state=alive')).status).toBe(200);
  });
});
