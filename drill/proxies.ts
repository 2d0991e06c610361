import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

// The outages a drill switches on and off, between the service's parts, without touching them:
// the HTTP front that agents reach (ingest-down), and the store's socket (store-down).

export interface Switch {
  down: boolean;
}

/**
 * Stands in front of the local runner's HTTP server, as API Gateway stands in front of the ingest
 * function. While down, it answers every other request 503 and leaves the rest unanswered (the
 * agent's own timeout ends them), the two ways an unavailable front fails.
 */
export async function startFrontProxy(
  upstream: string,
  state: Switch,
): Promise<{ url: string; close(): Promise<void> }> {
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 128 });
  const held = new Set<http.ServerResponse>();
  let requests = 0;
  const server = http.createServer((request, response) => {
    if (state.down) {
      if (requests++ % 2 === 0) {
        request.resume();
        response.writeHead(503, { 'content-type': 'application/problem+json', 'retry-after': '1' });
        response.end(JSON.stringify({ title: 'Service Unavailable', status: 503 }));
      } else {
        request.resume();
        held.add(response); // never answered
        response.on('close', () => held.delete(response));
      }
      return;
    }
    const forwarded = http.request(
      new URL(request.url ?? '/', upstream),
      { method: request.method, headers: request.headers, agent: keepAlive },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forwarded.on('error', () => response.destroy());
    request.pipe(forwarded);
  });
  const url = await listen(server);
  return {
    url,
    async close() {
      for (const response of held) response.destroy();
      keepAlive.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A TCP proxy in front of the store's server. Going down resets every open connection; while
 * down, new connections are accepted and never answered (a socket that never answers), so every
 * store call runs into its deadline. Coming back up drops the held ones, so clients reconnect.
 */
export async function startTcpProxy(
  upstreamPort: number,
  state: Switch,
): Promise<{ port: number; setDown(down: boolean): void; close(): Promise<void> }> {
  const open = new Set<net.Socket>();
  const held = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (state.down) {
      held.add(client);
      client.on('close', () => held.delete(client));
      client.on('error', () => undefined);
      client.resume(); // read and drop whatever it sends
      return;
    }
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    setDown(down: boolean) {
      state.down = down;
      for (const socket of down ? open : held) socket.destroy();
    },
    async close() {
      for (const socket of [...open, ...held]) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
