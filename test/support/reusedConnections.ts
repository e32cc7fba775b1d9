/**
 * For a loopback server standing in for a store or Slack: whether a request comes on a
 * connection that carried one before, the connection remembered from its first request on.
 * A server that then destroys the socket unanswered is what a client sees when it reuses a
 * kept-alive connection the other side closed while the container was frozen.
 */
import type { Socket } from 'node:net';

export function reusedConnections(): (socket: Socket) => boolean {
  const seen = new WeakSet<Socket>();
  return (socket) => {
    if (seen.has(socket)) return true;
    seen.add(socket);
    return false;
  };
}
