// The node:http transport against loopback servers: what the client tests do
// not reach — a connect (TLS handshake) timeout, the per-origin socket cap,
// a graceful close with requests in flight, an abort before sending.
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RequestAbortedError, RequestTimeoutError } from '../../../functions/bitrix24/errors.js';
import { isWriteSafeToRetry } from '../../../functions/bitrix24/retry-policy.js';
import { HttpTransport } from '../../../functions/bitrix24/transport.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function listen(server: Server | TcpServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** An HTTP server that answers `{"ok":true}` after `delayMs`, counting the sockets it saw. */
async function slowServer(delayMs: number): Promise<{ origin: string; sockets: Set<Socket>; peak: () => number }> {
  const sockets = new Set<Socket>();
  let active = 0;
  let peak = 0;
  const server = createHttpServer((req, res) => {
    sockets.add(req.socket);
    active += 1;
    peak = Math.max(peak, active);
    setTimeout(() => {
      active -= 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    }, delayMs);
  });
  const port = await listen(server);
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { origin: `http://127.0.0.1:${port}`, sockets, peak: () => peak };
}

const request = (origin: string, extra: { signal?: AbortSignal } = {}) => ({
  origin,
  host: new URL(origin).host,
  path: '/rest/1/secretcode/im.v2.Event.get',
  method: 'POST' as const,
  body: '{}',
  restMethod: 'im.v2.Event.get',
  ...extra,
});

describe('HttpTransport (node:http)', () => {
  it('a TLS handshake that never completes → RequestTimeoutError (connect), safe to send again', async () => {
    const silent: Socket[] = [];
    const server = createTcpServer((socket) => silent.push(socket));
    const port = await listen(server);
    closers.push(async () => {
      for (const socket of silent) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    });
    const transport = new HttpTransport({ connectTimeoutMs: 200 }, (text) => text);
    closers.push(() => transport.close());

    const error = await transport.send(request(`https://127.0.0.1:${port}`)).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(error).toMatchObject({ phase: 'connect', code: 'UND_ERR_CONNECT_TIMEOUT', message: expect.stringContaining('the connect after 200 ms') as unknown });
    expect(isWriteSafeToRetry(error)).toBe(true);
  });

  it('never opens more than connectionsPerOrigin sockets, and reuses them', async () => {
    const server = await slowServer(50);
    const transport = new HttpTransport({ connectionsPerOrigin: 2 }, (text) => text);
    closers.push(() => transport.close());

    const answers = await Promise.all(Array.from({ length: 6 }, () => transport.send(request(server.origin))));

    expect(answers.map((a) => a.body)).toEqual(Array.from({ length: 6 }, () => '{"ok":true}'));
    expect(server.sockets.size).toBe(2);
    expect(server.peak()).toBe(2);
    expect(transport.stats).toEqual({ connectionsOpened: 2, requests: 6 });
  });

  it('close() lets requests in flight finish', async () => {
    const server = await slowServer(200);
    const transport = new HttpTransport(undefined, (text) => text);

    const pending = transport.send(request(server.origin));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await transport.close();

    await expect(pending).resolves.toEqual({ status: 200, body: '{"ok":true}' });
  });

  it('an already aborted signal → RequestAbortedError, nothing sent', async () => {
    const server = await slowServer(0);
    const transport = new HttpTransport(undefined, (text) => text);
    closers.push(() => transport.close());
    const controller = new AbortController();
    controller.abort();

    const error = await transport.send(request(server.origin, { signal: controller.signal })).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(RequestAbortedError);
    expect(server.sockets.size).toBe(0);
    expect(transport.stats.connectionsOpened).toBe(0);
  });
});
