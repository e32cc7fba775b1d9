/**
 * API Gateway HTTP API Lambda authorizer (REQUEST, payload 2.0, simple responses):
 * allows a request whose bearer token is a valid portal JWT and passes the user id on.
 * A bad token is denied, never thrown, and logged (capped) under its reason's name
 * (`denied:<DenyReason>`, lib/portalJwt.ts). A header that can never be a token is denied
 * before the configuration is read, so a secret-store outage never turns an anonymous
 * caller's junk into a failure. For a well-formed token, secrets that cannot be read are
 * thrown (API Gateway answers 500 and does not cache it, where a deny would lock the user
 * out for the authorizer cache's TTL).
 */
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { slackAlertSender } from '../lib/alerts.js';
import { type Env, processEnv } from '../lib/config.js';
import { type ConfigLoader, configLoader, type LoadedConfig } from '../lib/functionConfig.js';
import { FUNCTION_FIELDS, type FunctionField } from '../lib/functionFields.js';
import { powertoolsLogger } from '../lib/log.js';
import { powertoolsMetrics } from '../lib/metrics.js';
import { checkerFor, type DenyReason, tokenFromHeader } from '../lib/portalJwt.js';
import { alreadyReported, createReporter, type ReportingDeps } from '../lib/reporter.js';

export interface AuthorizerDeps extends ReportingDeps {
  config: ConfigLoader<FunctionField<'authorizer'>>;
  now?: () => Date;
}

export type AuthorizerResult = { isAuthorized: true; context: { userId: string } } | { isAuthorized: false };

const ORIGIN = { vendorApi: 'authorizer', originApi: 'API Gateway authorizer' } as const;

export function defaultDeps(env: Env = processEnv()): AuthorizerDeps {
  const log = powertoolsLogger();
  return {
    config: configLoader(FUNCTION_FIELDS.authorizer, env),
    log,
    alert: slackAlertSender(log),
    metrics: powertoolsMetrics(),
  };
}

export function createHandler(deps: AuthorizerDeps) {
  const report = createReporter(deps, ORIGIN);
  const deny = (routeKey: string, reason: DenyReason): AuthorizerResult => {
    // One of a fixed set of names (DenyReason), never a value from the request.
    report.capped(`denied:${reason}`, 'info', 'Denied', { routeKey, reason });
    return { isAuthorized: false };
  };
  return report.invocation(async (event: APIGatewayRequestAuthorizerEventV2): Promise<AuthorizerResult> => {
    const shape = tokenFromHeader(event.headers?.authorization);
    if (shape.token === undefined) return deny(event.routeKey, shape.reason);
    let loaded: LoadedConfig<FunctionField<'authorizer'>>;
    try {
      loaded = await deps.config.read();
    } catch (error) {
      await report.configFailure(error);
      throw alreadyReported(new Error('Authorizer configuration unavailable'));
    }
    const { config } = loaded;
    await report.secretHealth(loaded, config.SLACK_WEBHOOK_URL);
    const rules = { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, maxTtlSeconds: config.JWT_MAX_TTL };
    const check = checkerFor(config.JWT_SECRET, config.JWT_PREVIOUS_SECRET, rules);
    const verdict = await check(shape.token, deps.now?.());
    if (verdict.userId === undefined) return deny(event.routeKey, verdict.reason);
    return { isAuthorized: true, context: { userId: verdict.userId } };
  });
}

export const handler = createHandler(defaultDeps());
