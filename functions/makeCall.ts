/**
 * POST /api/v1/make_call — Twilio's voice webhook for calls placed from the app.
 * Verifies Twilio's signature, routes the call, answers TwiML. Never throws and never
 * answers 500: Twilio plays an application error for that; a failure of ours is spoken.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { slackAlertSender } from '../lib/alerts.js';
import { answerCallWithLimits, type CallLimitStore, callLimitStoreFor } from '../lib/callLimitStore.js';
import { answerCallWebhook, MAKE_CALL_ORIGIN, makeCallConfig, tryLater } from '../lib/callWebhook.js';
import { type Env, processEnv } from '../lib/config.js';
import type { ConfigLoader } from '../lib/functionConfig.js';
import type { FunctionField } from '../lib/functionFields.js';
import type { HttpResponse } from '../lib/httpResponses.js';
import { powertoolsLogger } from '../lib/log.js';
import { powertoolsMetrics } from '../lib/metrics.js';
import { type Gate, windowedGate } from '../lib/rateLimits.js';
import { createReporter, locateFailedAnswer, type ReportingDeps } from '../lib/reporter.js';
import { answerWithoutConfig, type WebhookAnswer, webhookRequest } from '../lib/twilioWebhook.js';

export interface MakeCallDeps extends ReportingDeps {
  config: ConfigLoader<FunctionField<'makeCall'>>;
  /** Only the local gateway sets this: without TWILIO_AUTH_TOKEN, skip the signature check. */
  allowUnsignedRequests: boolean;
  /** The call-limits store for a table (default: DynamoDB, one per table and container). */
  callLimits?: (table: string) => CallLimitStore;
  /** The most a call waits for the limits (default CALL_LIMITS_TIMEOUT_MS). */
  callLimitsTimeoutMs?: number;
  /** Which limit alerts may go out: each caller and limit once an hour (default). */
  limitAlertGate?: Gate;
  now?: () => number;
}

/** `config`: a loader made already (the local gateway reads it for its banner too). */
export function defaultDeps(env: Env = processEnv(), config = makeCallConfig(env)): MakeCallDeps {
  const log = powertoolsLogger();
  return {
    config,
    log,
    alert: slackAlertSender(log),
    allowUnsignedRequests: false,
    metrics: powertoolsMetrics(),
  };
}

export function createHandler(deps: MakeCallDeps) {
  const report = createReporter(deps, MAKE_CALL_ORIGIN);
  const options = { allowUnsignedRequests: deps.allowUnsignedRequests };
  const storeFor = deps.callLimits ?? callLimitStoreFor;
  const limitAlerts = deps.limitAlertGate ?? windowedGate({ windowMs: 3_600_000, perKey: 1 });
  const now = deps.now ?? Date.now;
  return report.invocation(async (event: APIGatewayProxyEventV2): Promise<HttpResponse> => {
    const request = webhookRequest(event);
    let answer: WebhookAnswer;
    let slackUrl: string | undefined;
    try {
      const loaded = await deps.config.read();
      const { config } = loaded;
      slackUrl = config.SLACK_WEBHOOK_URL;
      await report.secretHealth(loaded, slackUrl);
      answer = await answerCallWithLimits(answerCallWebhook(request, config, options), config, {
        store: storeFor,
        nowMs: now(),
        hourlyAlerts: limitAlerts,
        ...(deps.callLimitsTimeoutMs === undefined ? {} : { timeoutMs: deps.callLimitsTimeoutMs }),
      });
    } catch (error) {
      answer = locateFailedAnswer(answerWithoutConfig(request, error, options, tryLater()), error);
    }
    await report.perform(answer, slackUrl);
    return answer.response;
  });
}

export const handler = createHandler(defaultDeps());
