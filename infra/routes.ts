/**
 * The API's routes, read by both the CDK stack and the local gateway so that what runs
 * on a laptop is what is deployed.
 */
import type { FunctionName } from '../lib/functionFields.js';

export interface Route {
  method: 'GET' | 'POST';
  path: string;
  function: Exclude<FunctionName, 'authorizer'>;
  /** Whether the Lambda authorizer guards the route (bearer token in `Authorization`). */
  authorized: boolean;
}

export const ROUTES = [
  { method: 'GET', path: '/api/v1/call_token', function: 'callToken', authorized: true },
  // Twilio cannot send a bearer token; makeCall verifies Twilio's signature instead.
  { method: 'POST', path: '/api/v1/make_call', function: 'makeCall', authorized: false },
] as const satisfies readonly Route[];

export const routeKey = (route: Pick<Route, 'method' | 'path'>) => `${route.method} ${route.path}`;
