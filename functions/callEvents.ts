/**
 * POST /api/v1/dial_status and POST /api/v1/call_status — Twilio's status webhooks for the
 * calls make_call placed: how each dial ended (and what the caller hears then), and each
 * leg's status and duration. Verified like make_call; never throws.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { slackAlertSender } from '../lib/alerts.js';
import { CALL_LIMITS_TIMEOUT_MS, type CallLimitStore, callLimitStoreFor, within } from '../lib/callLimitStore.js';
import { type Env, processEnv } from '../lib/config.js';
import { type ConfigLoader, configLoader } from '../lib/functionConfig.js';
import { FUNCTION_FIELDS, type FunctionField } from '../lib/functionFields.js';
import { type HttpResponse, plainText } from '../lib/httpResponses.js';
import { errorName, powertoolsLogger } from '../lib/log.js';
import { powertoolsMetrics } from '../lib/metrics.js';
import { createReporter, locateFailedAnswer, type ReportingDeps } from '../lib/reporter.js';
import { CALL_EVENTS_ORIGIN, callEventRoute, type StatusAnswer, slotNotReleased } from '../lib/statusWebhooks.js';
import { answerWithoutConfig, type WebhookAnswer, webhookRequest } from '../lib/twilioWebhook.js';

export interface CallEventsDeps extends ReportingDeps {
  config: ConfigLoader<FunctionField<'callEvents'>>;
  /** Only the local gateway sets this: without TWILIO_AUTH_TOKEN, skip the signature check. */
  allowUnsignedRequests: boolean;
  /** The call-limits store for a table (default: DynamoDB, one per table and container). */
  callLimits?: (table: string) => CallLimitStore;
}

export function defaultDeps(env: Env = processEnv()): CallEventsDeps {
  const log = powertoolsLogger();
  return {
    config: configLoader(FUNCTION_FIELDS.callEvents, env),
    log,
    alert: slackAlertSender(log),
    allowUnsignedRequests: false,
    metrics: powertoolsMetrics(),
  };
}

export function createHandler(deps: CallEventsDeps) {
  const report = createReporter(deps, CALL_EVENTS_ORIGIN);
  const options = { allowUnsignedRequests: deps.allowUnsignedRequests };
  const storeFor = deps.callLimits ?? callLimitStoreFor;
  return report.invocation(async (event: APIGatewayProxyEventV2): Promise<HttpResponse> => {
    const request = webhookRequest(event);
    const route = callEventRoute(request.routePath);
    if (!route) return plainText(404, 'Not Found');
    let answer: WebhookAnswer;
    let slackUrl: string | undefined;
    try {
      const loaded = await deps.config.read();
      slackUrl = loaded.config.SLACK_WEBHOOK_URL;
      await report.secretHealth(loaded, slackUrl);
      const answered: StatusAnswer = route.answer(request, loaded.config, options);
      answer = answered;
      const table = loaded.config.CALL_LIMITS_TABLE;
      if (answered.release && table) {
        const { callSid, userId } = answered.release;
        const failed = await within(storeFor(table).release(callSid, userId), CALL_LIMITS_TIMEOUT_MS).then(
          () => undefined,
          errorName,
        );
        if (failed) answer = slotNotReleased(answered, failed, route.notReleased(answered));
      }
    } catch (error) {
      answer = locateFailedAnswer(answerWithoutConfig(request, error, options, route.ourFailure()), error);
    }
    await report.perform(answer, slackUrl);
    return answer.response;
  });
}

export const handler = createHandler(defaultDeps());
