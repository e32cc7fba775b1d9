/**
 * Builds the events API Gateway HTTP API (payload format 2.0) hands to Lambda, from a
 * plain description of an HTTP request, and reads Lambda results back the way API
 * Gateway does. Pure functions: the local gateway does the I/O.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';

export interface LocalRequest {
  method: string;
  /** The request target exactly as received, e.g. `/api/v1/call_token?type=apns`. */
  url: string;
  /**
   * Node's `IncomingMessage.headersDistinct`: lower-cased names, every value of a repeated
   * header (`IncomingMessage.headers` keeps only the first `authorization`, `host`, …).
   */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The client's address (the socket's remote address). */
  sourceIp: string;
  /** The port the gateway listens on (the socket's local port); 80, plain HTTP's, if not given. */
  localPort?: number;
}

export interface LocalResponse {
  statusCode: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

// HTTP API passes these content types as text and base64-encodes every other body
// (form posts included, which is why handlers must decode them).
const TEXT_CONTENT = /^(text\/|application\/(json|xml|javascript)|[^;]*\+(json|xml))/i;

/** Repeated headers and query parameters are joined with commas, as HTTP API does. */
function joinValues(values: Record<string, string | string[] | undefined>): Record<string, string> {
  const joined: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined) joined[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return joined;
}

function queryParameters(search: URLSearchParams): Record<string, string> | undefined {
  const grouped: Record<string, string[]> = {};
  for (const [name, value] of search) grouped[name] = [...(grouped[name] ?? []), value];
  return Object.keys(grouped).length > 0 ? joinValues(grouped) : undefined;
}

export interface RequestTarget {
  /** The path as sent, before `?`: not normalised (`/a/../b`, `/a//b` and `%5F` stay as they are). */
  rawPath: string;
  /** Everything after the first `?`, as sent. */
  rawQueryString: string;
}

/**
 * Splits a request target the way HTTP API sees it: routes are matched against the raw
 * path, so `/api/v1/x/../make_call` is not `/api/v1/make_call`. Undefined when the
 * target is not a URL at all (the gateway answers 400).
 */
export function requestTarget(url: string): RequestTarget | undefined {
  try {
    new URL(url, 'http://local');
  } catch {
    return undefined;
  }
  // An absolute-form target (`GET http://host/path`) names the origin first; the path follows it.
  const target = url.replace(/^[a-z][a-z\d+.-]*:\/\/[^/?#]*/i, '');
  const query = target.indexOf('?');
  const rawPath = query === -1 ? target : target.slice(0, query);
  return { rawPath: rawPath || '/', rawQueryString: query === -1 ? '' : target.slice(query + 1) };
}

/** Every cookie of every Cookie header, in order: payload 2.0 moves them into `cookies`. */
function cookieList(cookie: string | string[] | undefined): string[] {
  const headers = cookie === undefined ? [] : Array.isArray(cookie) ? cookie : [cookie];
  return headers.flatMap((header) => header.split(/;\s*/)).filter((pair) => pair !== '');
}

/**
 * The headers as API Gateway hands them on: repeated ones joined with `,`, Cookie moved
 * out, and the forwarding headers set by the gateway itself. The client's address is
 * appended to any X-Forwarded-For the client sent (`<sent>, <source ip>`); X-Forwarded-Port
 * and X-Forwarded-Proto say where the gateway listens, whatever the client claimed.
 * Locally that is plain `http`, so a request signed for `http://127.0.0.1:<port>/…` validates.
 */
function forwardedHeaders(request: LocalRequest): Record<string, string> {
  const {
    cookie: _cookie,
    'x-forwarded-for': sentFor,
    'x-forwarded-port': _sentPort,
    'x-forwarded-proto': _sentProto,
    ...headers
  } = joinValues(request.headers);
  return {
    ...headers,
    'x-forwarded-for': sentFor ? `${sentFor}, ${request.sourceIp}` : request.sourceIp,
    'x-forwarded-port': String(request.localPort ?? 80),
    'x-forwarded-proto': 'http',
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** `requestContext.time` as HTTP API writes it: `12/Mar/2020:19:03:58 +0000` (UTC), not ISO 8601. */
function requestTime(now: Date): string {
  const date = `${two(now.getUTCDate())}/${MONTHS[now.getUTCMonth()]}/${now.getUTCFullYear()}`;
  return `${date}:${two(now.getUTCHours())}:${two(now.getUTCMinutes())}:${two(now.getUTCSeconds())} +0000`;
}

export function proxyEvent(request: LocalRequest, routeKey: string, now = new Date()): APIGatewayProxyEventV2 {
  const target = requestTarget(request.url);
  if (!target) throw new Error('The request target is not a URL');
  const headers = forwardedHeaders(request);
  const cookies = cookieList(request.headers.cookie);
  const hasBody = request.body.length > 0;
  const isBase64Encoded = hasBody && !TEXT_CONTENT.test(headers['content-type'] ?? '');
  const host = headers.host ?? 'localhost';
  return {
    version: '2.0',
    routeKey,
    rawPath: target.rawPath,
    rawQueryString: target.rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    queryStringParameters: queryParameters(new URLSearchParams(target.rawQueryString)),
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: host.replace(/:\d+$/, ''),
      domainPrefix: host.split('.')[0] ?? host,
      http: {
        method: request.method,
        path: target.rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: requestTime(now),
      timeEpoch: now.getTime(),
    },
    body: hasBody ? request.body.toString(isBase64Encoded ? 'base64' : 'utf8') : undefined,
    isBase64Encoded,
  };
}

export function authorizerEvent(event: APIGatewayProxyEventV2): APIGatewayRequestAuthorizerEventV2 {
  const { method, path } = event.requestContext.http;
  return {
    version: '2.0',
    type: 'REQUEST',
    routeArn: `arn:aws:execute-api:local:000000000000:local/$default/${method}${path}`,
    identitySource: [event.headers.authorization ?? ''],
    routeKey: event.routeKey,
    rawPath: event.rawPath,
    rawQueryString: event.rawQueryString,
    cookies: event.cookies ?? [],
    headers: event.headers,
    queryStringParameters: event.queryStringParameters ?? {},
    requestContext: event.requestContext,
    pathParameters: {},
    stageVariables: {},
  };
}

const jsonMessage = (statusCode: number, message: string): LocalResponse => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: Buffer.from(JSON.stringify({ message })),
});

export const gatewayResponses = {
  badRequest: () => jsonMessage(400, 'Bad Request'),
  unauthorized: () => jsonMessage(401, 'Unauthorized'),
  forbidden: () => jsonMessage(403, 'Forbidden'),
  notFound: () => jsonMessage(404, 'Not Found'),
  tooLarge: () => jsonMessage(413, 'Request Entity Too Large'),
  internalError: () => jsonMessage(500, 'Internal Server Error'),
};

/**
 * A Lambda result as HTTP API turns it into a response: a structured result is used
 * as is; anything else is sent as a 200 JSON body.
 */
export function httpResponse(result: APIGatewayProxyResultV2): LocalResponse {
  if (typeof result === 'object' && result !== null && 'statusCode' in result && result.statusCode !== undefined) {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(result.headers ?? {})) headers[name.toLowerCase()] = String(value);
    if (result.cookies?.length) headers['set-cookie'] = result.cookies;
    const body = Buffer.from(result.body ?? '', result.isBase64Encoded ? 'base64' : 'utf8');
    return { statusCode: result.statusCode, headers, body };
  }
  const body = typeof result === 'string' ? result : JSON.stringify(result);
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(body) };
}
