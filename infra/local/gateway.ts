/**
 * A local stand-in for API Gateway HTTP API: the deployed routes, the Lambda authorizer
 * in front of the protected ones, payload 2.0 events, and API Gateway's own answers
 * (401/403/404/500 `{"message": …}`) — so the functions run on a laptop unchanged.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import type { AuthorizerResult } from '../../functions/authorizer.js';
import { ROUTES, type Route, routeKey } from '../routes.js';
import {
  authorizerEvent,
  gatewayResponses,
  httpResponse,
  type LocalResponse,
  proxyEvent,
  requestTarget,
} from './apiGatewayEvent.js';

// biome-ignore lint/suspicious/noExplicitAny: each function takes its own event type; the gateway builds them all.
export type RouteHandler = (event: any) => Promise<APIGatewayProxyResultV2>;

export interface GatewayHandlers extends Record<Route['function'], RouteHandler> {
  authorizer: (event: APIGatewayRequestAuthorizerEventV2) => Promise<AuthorizerResult>;
}

/** API Gateway's payload limit. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function dispatch(
  handlers: GatewayHandlers,
  event: APIGatewayProxyEventV2,
  route: Route | undefined,
): Promise<LocalResponse> {
  if (!route) return gatewayResponses.notFound();
  if (route.authorized) {
    // The identity source is the Authorization header: without it the authorizer is not called.
    if (!event.headers.authorization) return gatewayResponses.unauthorized();
    let decision: AuthorizerResult;
    try {
      decision = await handlers.authorizer(authorizerEvent(event));
    } catch {
      return gatewayResponses.internalError();
    }
    if (decision.isAuthorized !== true) return gatewayResponses.forbidden();
    event.requestContext = {
      ...event.requestContext,
      authorizer: { lambda: decision.context },
    } as typeof event.requestContext;
  }
  try {
    return httpResponse(await handlers[route.function](event));
  } catch {
    return gatewayResponses.internalError();
  }
}

/** The gateway's answer to one HTTP request. */
async function answer(handlers: GatewayHandlers, request: IncomingMessage): Promise<LocalResponse> {
  const method = request.method ?? 'GET';
  const url = request.url ?? '/';
  const target = requestTarget(url);
  if (!target) return gatewayResponses.badRequest();
  // Matched on the raw path, as API Gateway does: `/api/v1/./make_call` is no route.
  const route = ROUTES.find((r) => r.method === method && r.path === target.rawPath);
  const body = await readBody(request);
  if (body === undefined) return gatewayResponses.tooLarge();
  const event = proxyEvent(
    {
      method,
      url,
      // Not `request.headers`: it keeps only one of a repeated Authorization, Host, Content-Type…
      headers: request.headersDistinct,
      body,
      sourceIp: request.socket.remoteAddress ?? '',
      localPort: request.socket.localPort ?? 0,
    },
    route ? routeKey(route) : '$default',
  );
  return dispatch(handlers, event, route);
}

export function createGateway(handlers: GatewayHandlers): Server {
  return createServer((request, response) => {
    // Whatever one request does (a URL that does not parse, a client that hangs up mid-body),
    // the gateway answers it or drops it and goes on serving the others.
    answer(handlers, request)
      .catch(() => gatewayResponses.internalError())
      .then((result) => {
        if (response.headersSent || response.destroyed) return;
        response.writeHead(result.statusCode, result.headers);
        response.end(result.body);
      });
  });
}
