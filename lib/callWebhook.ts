/**
 * The make_call webhook's decision, as a pure function of the request and the
 * configuration: the response to send, what to log, and what (if anything) to alert.
 * The handler only loads the configuration and performs the log and the alert.
 */
import { type VendorAlert, withoutQuery } from './alerts.js';
import { type CallDecision, type DialPolicy, dialPolicyProblems, routeCall } from './callRouting.js';
import type { Config, Env } from './config.js';
import { configLoader } from './functionConfig.js';
import { FUNCTION_FIELDS } from './functionFields.js';
import { type HttpResponse, plainText, twiml } from './httpResponses.js';
import { METRIC, SIGNATURE_REJECTION } from './metricNames.js';
import { type AlertSpec, configFailure, type LogLine } from './secretHealth.js';
import { isSignedByTwilio, type SignedRequest, signedUrl } from './twilioSignature.js';
import { callTwiml, MESSAGES, sayTwiml } from './twiml.js';
import { param, parseWebhookBody, type RawBody } from './webhookBody.js';

export type CallWebhookConfig = DialPolicy &
  Pick<Config, 'TWILIO_CALL_TIME_LIMIT' | 'PUBLIC_BASE_URL' | 'TWILIO_AUTH_TOKEN' | 'TWILIO_SECONDARY_AUTH_TOKEN'>;

export interface CallWebhookRequest extends SignedRequest, RawBody {
  sourceIp: string;
}

export interface CallWebhookAnswer {
  response: HttpResponse;
  log: LogLine;
  /** Set where a caller decides how many such lines there are: the kind whose lines are capped. */
  logCap?: string;
  /** The count this request adds: CallRouted by decision, WebhookRejected by reason, or WebhookFailed. */
  metric: {
    name: typeof METRIC.CallRouted | typeof METRIC.WebhookRejected | typeof METRIC.WebhookFailed;
    dimensions: Record<string, string>;
  };
  /** An alert for the on-call engineer, with the key that de-duplicates it. */
  alert?: AlertSpec;
}

export const MAKE_CALL_ORIGIN = {
  vendorApi: 'make_call',
  originApi: '[POST] /api/v1/make_call',
} as const satisfies Pick<VendorAlert, 'vendorApi' | 'originApi'>;

const rejected = (reason: string): CallWebhookAnswer['metric'] => ({
  name: METRIC.WebhookRejected,
  dimensions: { Reason: reason },
});
const routed = (decision: CallDecision): CallWebhookAnswer['metric'] => ({
  name: METRIC.CallRouted,
  dimensions: { Decision: decision.kind },
});
const forbidden = () => plainText(403, 'Forbidden');
/** For a failure of ours: Twilio would play "an application error" for a 500; the caller hears why instead. */
export const tryLater = () => twiml(sayTwiml(MESSAGES.tryLater));

/** What to say about a decision: destinations are logged, as the legacy controller's meta did. */
function describe(decision: CallDecision): Record<string, unknown> {
  switch (decision.kind) {
    case 'number':
      return { decision: 'dial number', to: decision.number, callerId: decision.callerId };
    case 'client':
      return { decision: 'dial client', to: decision.identity, callerId: decision.callerId };
    case 'greeting':
      return { decision: 'greeting' };
    case 'blocked':
      return { decision: 'blocked', to: decision.to, reason: decision.reason };
    default:
      return { decision: decision.kind, to: decision.to };
  }
}

/**
 * make_call's configuration. The dialing settings are also checked against the phone
 * metadata, once, when the loader is made — not on every request.
 */
export function makeCallConfig(env: Env) {
  return configLoader(FUNCTION_FIELDS.makeCall, env, { check: dialPolicyProblems });
}

function bodyRejected(body: { status: number; message: string }): CallWebhookAnswer {
  return {
    response: plainText(body.status, body.message),
    log: { level: 'warn', message: 'Rejected body', attributes: { status: body.status } },
    logCap: 'body',
    metric: rejected(`body ${body.status}`),
  };
}

/** One kind of alert for every unsigned request, whatever its source, URL or parameters. */
function signatureRejected(request: CallWebhookRequest, url: string): CallWebhookAnswer {
  const meta = {
    url: withoutQuery(url),
    sourceIp: request.sourceIp,
    hasSignature: !!request.headers['x-twilio-signature'],
  };
  return {
    response: forbidden(),
    log: { level: 'warn', message: 'Request not signed by Twilio', attributes: meta },
    logCap: SIGNATURE_REJECTION,
    metric: rejected(SIGNATURE_REJECTION),
    alert: { key: SIGNATURE_REJECTION, errorMsg: 'Request not signed by Twilio', meta },
  };
}

/**
 * A failure of ours (the configuration or the secret store) is answered with spoken TwiML
 * and dials nothing; a request that verifiably carries no signature still gets 403.
 */
function failedOurs(
  request: CallWebhookRequest,
  failure: { log: LogLine; alert: AlertSpec },
  options: { allowUnsignedRequests: boolean },
): CallWebhookAnswer {
  const body = parseWebhookBody(request);
  if ('status' in body) return bodyRejected(body);
  if (!options.allowUnsignedRequests && !request.headers['x-twilio-signature']) {
    return signatureRejected(request, signedUrl(request, undefined));
  }
  return {
    response: tryLater(),
    log: failure.log,
    logCap: 'failure',
    metric: { name: METRIC.WebhookFailed, dimensions: {} },
    alert: failure.alert,
  };
}

/** make_call's answer when its configuration could not be loaded (`error` from the loader). */
export function answerWithoutConfig(
  request: CallWebhookRequest,
  error: unknown,
  options: { allowUnsignedRequests: boolean },
): CallWebhookAnswer {
  return failedOurs(request, configFailure(error), options);
}

export function answerCallWebhook(
  request: CallWebhookRequest,
  config: CallWebhookConfig,
  options: { allowUnsignedRequests: boolean },
): CallWebhookAnswer {
  if (!config.TWILIO_AUTH_TOKEN && !options.allowUnsignedRequests) {
    const errorMsg = 'TWILIO_AUTH_TOKEN is not set: no request can be verified';
    return failedOurs(
      request,
      {
        log: { level: 'error', message: errorMsg, attributes: { setting: 'TWILIO_AUTH_TOKEN' } },
        alert: { key: 'no-auth-token', errorMsg, meta: { setting: 'TWILIO_AUTH_TOKEN' } },
      },
      options,
    );
  }
  const body = parseWebhookBody(request);
  if ('status' in body) return bodyRejected(body);
  if (config.TWILIO_AUTH_TOKEN) {
    const url = signedUrl(request, config.PUBLIC_BASE_URL);
    const signature = request.headers['x-twilio-signature'];
    const authTokens = [config.TWILIO_AUTH_TOKEN, config.TWILIO_SECONDARY_AUTH_TOKEN].filter((t): t is string => !!t);
    if (!authTokens.some((authToken) => isSignedByTwilio(authToken, signature, url, body))) {
      return signatureRejected(request, url);
    }
  }
  const callSid = param(body.params, 'CallSid');
  const decision = routeCall(
    { to: param(body.params, 'to'), from: param(body.params, 'from'), twilioFrom: param(body.params, 'From') },
    config,
  );
  const attributes = { callSid, ...describe(decision) };
  const response = twiml(callTwiml(decision, config.TWILIO_CALL_TIME_LIMIT));
  if (decision.kind === 'emergency' || decision.kind === 'blocked') {
    const errorMsg = decision.kind === 'emergency' ? 'Emergency number dialed' : 'Destination not allowed';
    return {
      response,
      log: { level: 'warn', message: errorMsg, attributes },
      metric: routed(decision),
      alert: { key: `${decision.kind}:${decision.to}`, errorMsg, meta: attributes },
    };
  }
  return { response, log: { level: 'info', message: 'Call routed', attributes }, metric: routed(decision) };
}
