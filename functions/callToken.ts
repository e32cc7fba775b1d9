/**
 * GET /api/v1/call_token?type=apns|fcm — a Twilio Voice access token for the signed-in
 * app user (the authorizer put the user id in the request context).
 */
import type { APIGatewayProxyEventV2WithLambdaAuthorizer } from 'aws-lambda';
import { shown, slackAlertSender } from '../lib/alerts.js';
import { type Env, processEnv } from '../lib/config.js';
import { type ConfigLoader, configLoader, type LoadedConfig } from '../lib/functionConfig.js';
import { FUNCTION_FIELDS, type FunctionField } from '../lib/functionFields.js';
import {
  type HttpResponse,
  internalError,
  invalidParameters,
  serviceUnavailable,
  success,
  unauthorized,
} from '../lib/httpResponses.js';
import { describeError, powertoolsLogger } from '../lib/log.js';
import { METRIC } from '../lib/metricNames.js';
import { powertoolsMetrics } from '../lib/metrics.js';
import { isUserId } from '../lib/portalJwt.js';
import { createReporter, type ReportingDeps } from '../lib/reporter.js';
import { invalidParametersMeta, isPushPlatform, issueVoiceToken } from '../lib/voiceToken.js';

export interface CallTokenDeps extends ReportingDeps {
  config: ConfigLoader<FunctionField<'callToken'>>;
}

export type CallTokenEvent = APIGatewayProxyEventV2WithLambdaAuthorizer<{ userId?: unknown }>;

const ORIGIN = { vendorApi: 'token', originApi: '[GET] /api/v1/call_token' } as const;

export function defaultDeps(env: Env = processEnv()): CallTokenDeps {
  const log = powertoolsLogger();
  return {
    config: configLoader(FUNCTION_FIELDS.callToken, env),
    log,
    alert: slackAlertSender(log),
    metrics: powertoolsMetrics(),
  };
}

export function createHandler(deps: CallTokenDeps) {
  const report = createReporter(deps, ORIGIN);
  return report.invocation(async (event: CallTokenEvent): Promise<HttpResponse> => {
    const userId = event.requestContext.authorizer?.lambda?.userId;
    if (!isUserId(userId)) return unauthorized();
    const type = event.queryStringParameters?.type;
    let loaded: LoadedConfig<FunctionField<'callToken'>>;
    try {
      loaded = await deps.config.read();
    } catch (error) {
      report.metrics.count(METRIC.TokenFailed);
      const kind = await report.configFailure(error, { userId });
      return kind === 'unavailable' ? serviceUnavailable() : internalError();
    }
    const slackUrl = loaded.config.SLACK_WEBHOOK_URL;
    await report.secretHealth(loaded, slackUrl);
    if (!isPushPlatform(type)) {
      report.capped('invalid-parameters', 'warn', 'Invalid parameters', { userId, type: shown(type) ?? null });
      report.metrics.count(METRIC.InvalidParameters);
      // Keyed by the signed-in user, not by the value: one user gets one alert a minute, whatever they send.
      const meta = invalidParametersMeta(event.queryStringParameters);
      await report.alert({ key: `invalid:${userId}`, errorMsg: 'Invalid parameters', meta }, slackUrl);
      return invalidParameters();
    }
    try {
      const issued = issueVoiceToken(loaded.config, userId, type);
      deps.log.info('Token issued', { userId, platform: type });
      report.metrics.count(METRIC.TokenIssued, { Platform: type });
      return success(issued);
    } catch (error) {
      const { name: reason, location } = describeError(error);
      report.capped('failure', 'error', 'Token not issued', { userId, reason, location });
      report.metrics.count(METRIC.TokenFailed);
      await report.alert({ key: 'token-failure', errorMsg: 'Internal error', meta: { reason } }, slackUrl);
      return internalError();
    }
  });
}

export const handler = createHandler(defaultDeps());
