/**
 * API Gateway HTTP API Lambda authorizer (REQUEST, payload 2.0, simple responses):
 * allows a request whose bearer token is a valid portal JWT and passes the user id on.
 * A bad token is denied, never thrown; a failing secret store is thrown (API Gateway
 * answers 500 and does not cache it).
 */
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { type Env, processEnv } from '../lib/config.js';
import { type ConfigLoader, configLoader } from '../lib/functionConfig.js';
import { FUNCTION_FIELDS, type FunctionField } from '../lib/functionFields.js';
import { describeError, type Log, powertoolsLogger } from '../lib/log.js';
import { bearerToken, verifierFor } from '../lib/portalJwt.js';

export interface AuthorizerDeps {
  config: ConfigLoader<FunctionField<'authorizer'>>;
  log: Log;
  now?: () => Date;
}

export type AuthorizerResult = { isAuthorized: true; context: { userId: string } } | { isAuthorized: false };

export function defaultDeps(env: Env = processEnv()): AuthorizerDeps {
  return { config: configLoader(FUNCTION_FIELDS.authorizer, env), log: powertoolsLogger() };
}

export function createHandler(deps: AuthorizerDeps) {
  return async (event: APIGatewayRequestAuthorizerEventV2): Promise<AuthorizerResult> => {
    const config = await deps.config().catch((error: unknown) => {
      deps.log.error('Authorizer configuration unavailable', { error: describeError(error) });
      throw new Error('Authorizer configuration unavailable');
    });
    const token = bearerToken(event.headers?.authorization);
    const userId =
      token === undefined
        ? undefined
        : await verifierFor(config.JWT_SECRET, config.JWT_PREVIOUS_SECRET)(token, deps.now?.());
    if (userId === undefined) {
      deps.log.info('Denied', {
        routeKey: event.routeKey,
        reason: token === undefined ? 'malformed header' : 'bad token',
      });
      return { isAuthorized: false };
    }
    return { isAuthorized: true, context: { userId } };
  };
}

export const handler = createHandler(defaultDeps());
