/**
 * The API's routes, read by both the CDK stack and the local gateway so that what runs
 * on a laptop is what is deployed.
 */
import type { FunctionName } from '../lib/functionFields.js';
import { ROUTE_PATHS } from '../lib/routePaths.js';

export interface Route {
  method: 'GET' | 'POST';
  path: string;
  function: Exclude<FunctionName, 'authorizer'>;
  /** Whether the Lambda authorizer guards the route (bearer token in `Authorization`). */
  authorized: boolean;
}

export const ROUTES = [
  { method: 'GET', path: ROUTE_PATHS.callToken, function: 'callToken', authorized: true },
  // Twilio cannot send a bearer token; makeCall verifies Twilio's signature instead.
  { method: 'POST', path: ROUTE_PATHS.makeCall, function: 'makeCall', authorized: false },
  // Twilio's status callbacks, signed like make_call; one small function serves both.
  { method: 'POST', path: ROUTE_PATHS.dialStatus, function: 'callEvents', authorized: false },
  { method: 'POST', path: ROUTE_PATHS.callStatus, function: 'callEvents', authorized: false },
] as const satisfies readonly Route[];

/** API Gateway's route key, e.g. `POST /api/v1/make_call`; for a route of ROUTES, exactly its key. */
export type RouteKeyOf<R extends Pick<Route, 'method' | 'path'>> = R extends {
  method: infer M extends string;
  path: infer P extends string;
}
  ? `${M} ${P}`
  : never;

/** The route keys of ROUTES (what a per-route setting such as a throttle is keyed by). */
export type RouteKey = RouteKeyOf<(typeof ROUTES)[number]>;

export const routeKey = <R extends Pick<Route, 'method' | 'path'>>(route: R) =>
  `${route.method} ${route.path}` as RouteKeyOf<R>;
