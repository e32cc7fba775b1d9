/**
 * Builds the events API Gateway HTTP API (payload format 2.0) hands to Lambda, from a
 * plain description of an HTTP request, and reads Lambda results back the way API
 * Gateway does. Pure functions: the local gateway does the I/O.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';

export interface LocalRequest {
  method: string;
  /** Path and query as received, e.g. `/api/v1/call_token?type=apns`. */
  url: string;
  /** Node's `IncomingMessage.headers`: lower-cased names. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  sourceIp: string;
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

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** `requestContext.time` as HTTP API writes it: `12/Mar/2020:19:03:58 +0000` (UTC), not ISO 8601. */
function requestTime(now: Date): string {
  const date = `${two(now.getUTCDate())}/${MONTHS[now.getUTCMonth()]}/${now.getUTCFullYear()}`;
  return `${date}:${two(now.getUTCHours())}:${two(now.getUTCMinutes())}:${two(now.getUTCSeconds())} +0000`;
}

export function proxyEvent(request: LocalRequest, routeKey: string, now = new Date()): APIGatewayProxyEventV2 {
  const url = new URL(request.url, 'http://local');
  const headers: Record<string, string | undefined> = { ...joinValues(request.headers), 'x-forwarded-proto': 'http' };
  const { cookie, ...headersWithoutCookie } = headers;
  const hasBody = request.body.length > 0;
  const isBase64Encoded = hasBody && !TEXT_CONTENT.test(headers['content-type'] ?? '');
  const host = headers.host ?? 'localhost';
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    ...(cookie ? { cookies: cookie.split(/;\s*/) } : {}),
    headers: headersWithoutCookie,
    queryStringParameters: queryParameters(url.searchParams),
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: host.replace(/:\d+$/, ''),
      domainPrefix: host.split('.')[0] ?? host,
      http: {
        method: request.method,
        path: url.pathname,
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
