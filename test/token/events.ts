/**
 * The fixture events (test/fixtures/events/*.json), shaped like the payloads API Gateway
 * HTTP API documents for payload format 2.0, loaded fresh for each test.
 */
import { readFileSync } from 'node:fs';
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import type { CallTokenEvent } from '../../functions/callToken.js';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/events/${name}`, import.meta.url), 'utf8'));

/** The authorizer's REQUEST event, carrying `authorization` (or no such header when undefined). */
export function authorizerRequest(authorization: string | undefined): APIGatewayRequestAuthorizerEventV2 {
  const event = fixture('authorizer_request.json') as APIGatewayRequestAuthorizerEventV2;
  delete event.headers?.authorization;
  event.identitySource = [];
  if (authorization !== undefined) {
    event.headers = { ...event.headers, authorization };
    event.identitySource = [authorization];
  }
  return event;
}

/** GET /api/v1/call_token as it reaches the function after the authorizer allowed user 42. */
export function callTokenEvent(): CallTokenEvent {
  return fixture('call_token.json') as CallTokenEvent;
}

/** The same event with other query parameters (undefined: no query string at all). */
export function callTokenEventWithQuery(query: Record<string, string> | undefined): CallTokenEvent {
  const event = callTokenEvent();
  if (query === undefined) {
    delete event.queryStringParameters;
    event.rawQueryString = '';
  } else {
    event.queryStringParameters = query;
    event.rawQueryString = new URLSearchParams(query).toString();
  }
  return event;
}
