/**
 * Response shapes, one place for each: the portal's JSON envelope for the app API, plain
 * text and TwiML for the Twilio webhook.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export type HttpResponse = APIGatewayProxyStructuredResultV2 & { statusCode: number; body: string };

/** The portal's error codes, kept so the apps' existing error handling keeps working. */
export const ErrorCode = {
  /** ERROR_BAD_REQUEST_PARAMS in the portal. */
  badRequestParams: 10001,
  unauthorized: 10003,
  internal: 99999,
} as const;

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };

export function success(data: unknown): HttpResponse {
  return { statusCode: 200, headers: JSON_HEADERS, body: JSON.stringify({ status: 'success', data }) };
}

export function failure(statusCode: number, code: number, msg: string): HttpResponse {
  return { statusCode, headers: JSON_HEADERS, body: JSON.stringify({ status: 'fail', error: { code, msg } }) };
}

export const invalidParameters = () => failure(400, ErrorCode.badRequestParams, 'Invalid parameters');
export const unauthorized = () => failure(401, ErrorCode.unauthorized, 'Unauthorized');
export const internalError = () => failure(500, ErrorCode.internal, 'Internal error');

/** Seconds an app should wait before asking again while the secret store cannot be read. */
export const RETRY_AFTER_SECONDS = 30;

export function serviceUnavailable(): HttpResponse {
  const response = failure(503, ErrorCode.internal, 'Service temporarily unavailable');
  return { ...response, headers: { ...response.headers, 'retry-after': String(RETRY_AFTER_SECONDS) } };
}

export function plainText(statusCode: number, body: string): HttpResponse {
  return { statusCode, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }, body };
}

export function twiml(xml: string): HttpResponse {
  return { statusCode: 200, headers: { 'content-type': 'text/xml', 'cache-control': 'no-store' }, body: xml };
}
