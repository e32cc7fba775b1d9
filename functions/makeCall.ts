/**
 * POST /api/v1/make_call — Twilio's voice webhook for calls placed from the app.
 * Verifies Twilio's signature, routes the call, answers TwiML. Never throws: Twilio
 * plays an application error for anything but a response.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { type AlertSender, alertDeduplicator, routeAlerts, slackAlertSender } from '../lib/alerts.js';
import { answerCallWebhook, MAKE_CALL_ORIGIN, makeCallConfig, refused } from '../lib/callWebhook.js';
import { type Env, processEnv } from '../lib/config.js';
import type { ConfigLoader } from '../lib/functionConfig.js';
import type { FunctionField } from '../lib/functionFields.js';
import type { HttpResponse } from '../lib/httpResponses.js';
import { describeError, type Log, powertoolsLogger } from '../lib/log.js';
import { type MetricSink, noMetrics, powertoolsMetrics } from '../lib/metrics.js';

export interface MakeCallDeps {
  config: ConfigLoader<FunctionField<'makeCall'>>;
  log: Log;
  alert: AlertSender;
  /** Whether an alert with this key may go out now (the same alert at most once a minute). */
  shouldAlert: (key: string) => boolean;
  /** Only the local gateway sets this: without TWILIO_AUTH_TOKEN, skip the signature check. */
  allowUnsignedRequests: boolean;
  metrics?: MetricSink;
}

export function defaultDeps(env: Env = processEnv()): MakeCallDeps {
  const log = powertoolsLogger();
  return {
    config: makeCallConfig(env),
    log,
    alert: slackAlertSender(log),
    shouldAlert: alertDeduplicator(60_000),
    allowUnsignedRequests: false,
    metrics: powertoolsMetrics(),
  };
}

export function createHandler(deps: MakeCallDeps) {
  const metrics = deps.metrics ?? noMetrics;
  const alertOnce = routeAlerts(deps.alert, deps.shouldAlert, MAKE_CALL_ORIGIN);
  return async (event: APIGatewayProxyEventV2): Promise<HttpResponse> => {
    try {
      const config = await deps.config();
      const answer = answerCallWebhook(
        {
          routePath: event.routeKey.split(' ')[1] ?? event.rawPath,
          rawPath: event.rawPath,
          rawQueryString: event.rawQueryString,
          headers: event.headers,
          domainName: event.requestContext.domainName,
          sourceIp: event.requestContext.http.sourceIp,
          body: event.body,
          isBase64Encoded: event.isBase64Encoded,
          contentType: event.headers['content-type'],
        },
        config,
        { allowUnsignedRequests: deps.allowUnsignedRequests },
      );
      deps.log[answer.log.level](answer.log.message, answer.log.attributes);
      metrics.count(answer.metric.name, answer.metric.dimensions);
      if (answer.alert)
        await alertOnce(answer.alert.key, answer.alert.errorMsg, answer.alert.meta, config.SLACK_WEBHOOK_URL);
      return answer.response;
    } catch (error) {
      deps.log.error('make_call failed', { error: describeError(error) });
      metrics.count('WebhookFailed');
      await alertOnce('failure', 'Internal error', { reason: describeError(error).message }, undefined).catch(
        () => undefined,
      );
      return refused();
    }
  };
}

export const handler = createHandler(defaultDeps());
