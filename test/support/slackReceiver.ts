/** A real HTTP server on loopback standing in for Slack's incoming-webhook endpoint. */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { reusedConnections } from './reusedConnections.js';

/**
 * `close-reused`: a request on a connection that has already been answered finds it closed
 * (the socket is destroyed unread), as when Slack closed a kept-alive connection while the
 * container was frozen or idle; the first request on each connection is answered 200.
 * `cut-off`: an answer begun (200, its headers and part of its body), then the connection closed.
 */
export type SlackBehaviour = 'ok' | 'fail' | 'hang' | 'close-reused' | 'cut-off';

export interface SlackReceiver {
  url: string;
  received: { headers: IncomingHttpHeaders; body: unknown }[];
  behaviour: SlackBehaviour;
  /** Requests that found their (reused) connection closed: `close-reused` only. */
  closedOnReuse: number;
  close(): Promise<void>;
}

/** `path`: the webhook's path, the part of a Slack webhook URL that is its secret. */
export async function startSlackReceiver(
  behaviour: SlackBehaviour = 'ok',
  path = '/services/T000/B000/XXXX',
): Promise<SlackReceiver> {
  const received: SlackReceiver['received'] = [];
  const receiver = { behaviour, closedOnReuse: 0 } as SlackReceiver;
  const reused = reusedConnections();
  const server = createServer(async (request, response) => {
    if (reused(request.socket) && receiver.behaviour === 'close-reused') {
      receiver.closedOnReuse++;
      request.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    received.push({ headers: request.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
    if (receiver.behaviour === 'hang') return; // never answers
    if (receiver.behaviour === 'cut-off') {
      response.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
      response.write('o');
      setTimeout(() => request.socket.destroy(), 20);
      return;
    }
    const ok = receiver.behaviour !== 'fail';
    response.writeHead(ok ? 200 : 500, { 'content-type': 'text/plain' });
    response.end(ok ? 'ok' : 'internal_error');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  receiver.received = received;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}
