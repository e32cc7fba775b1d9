/**
 * GET /api/v1/call_token?type=apns|fcm — a Twilio Voice access token for the signed-in
 * app user (the authorizer put the user id in the request context).
 */
import type { APIGatewayProxyEventV2WithLambdaAuthorizer } from 'aws-lambda';
import { type AlertSender, alertDeduplicator, routeAlerts, slackAlertSender } from '../lib/alerts.js';
import { type Env, processEnv } from '../lib/config.js';
import { type ConfigLoader, configLoader } from '../lib/functionConfig.js';
import { FUNCTION_FIELDS, type FunctionField } from '../lib/functionFields.js';
import { type HttpResponse, internalError, invalidParameters, success, unauthorized } from '../lib/httpResponses.js';
import { describeError, type Log, powertoolsLogger } from '../lib/log.js';
import { type MetricSink, noMetrics, powertoolsMetrics } from '../lib/metrics.js';
import { isUserId } from '../lib/portalJwt.js';
import { isPushPlatform, issueVoiceToken } from '../lib/voiceToken.js';

export interface CallTokenDeps {
  config: ConfigLoader<FunctionField<'callToken'>>;
  log: Log;
  alert: AlertSender;
  /** Whether an alert with this key may go out now (the same alert at most once a minute). */
  shouldAlert: (key: string) => boolean;
  metrics?: MetricSink;
}

export type CallTokenEvent = APIGatewayProxyEventV2WithLambdaAuthorizer<{ userId?: unknown }>;

const ORIGIN = { vendorApi: 'token', originApi: '[GET] /api/v1/call_token' } as const;

export function defaultDeps(env: Env = processEnv()): CallTokenDeps {
  const log = powertoolsLogger();
  return {
    config: configLoader(FUNCTION_FIELDS.callToken, env),
    log,
    alert: slackAlertSender(log),
    shouldAlert: alertDeduplicator(60_000),
    metrics: powertoolsMetrics(),
  };
}

export function createHandler(deps: CallTokenDeps) {
  const metrics = deps.metrics ?? noMetrics;
  const alertOnce = routeAlerts(deps.alert, deps.shouldAlert, ORIGIN);
  return async (event: CallTokenEvent): Promise<HttpResponse> => {
    const userId = event.requestContext.authorizer?.lambda?.userId;
    if (!isUserId(userId)) return unauthorized();
    const query = event.queryStringParameters ?? {};
    let slackUrl: string | undefined;
    try {
      const config = await deps.config();
      slackUrl = config.SLACK_WEBHOOK_URL;
      if (!isPushPlatform(query.type)) {
        deps.log.warn('Invalid parameters', { query });
        metrics.count('InvalidParameters');
        await alertOnce(`invalid:${query.type ?? ''}`, 'Invalid parameters', query, slackUrl);
        return invalidParameters();
      }
      const issued = issueVoiceToken(config, userId, query.type);
      deps.log.info('Token issued', { userId, platform: query.type });
      metrics.count('TokenIssued', { Platform: query.type });
      return success(issued);
    } catch (error) {
      deps.log.error('Token not issued', { userId, error: describeError(error) });
      metrics.count('TokenFailed');
      await alertOnce('failure', 'Internal error', { reason: describeError(error).message }, slackUrl);
      return internalError();
    }
  };
}

export const handler = createHandler(defaultDeps());
