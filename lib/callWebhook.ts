/**
 * The make_call webhook's decision, as a pure function of the request and the
 * configuration: the response to send, what to log, and what (if anything) to alert.
 * The handler only loads the configuration and performs the log and the alert.
 */
import type { VendorAlert } from './alerts.js';
import { type CallDecision, type DialPolicy, dialPolicyProblems, routeCall } from './callRouting.js';
import type { Config, Env } from './config.js';
import { configLoader } from './functionConfig.js';
import { FUNCTION_FIELDS } from './functionFields.js';
import { type HttpResponse, plainText, twiml } from './httpResponses.js';
import { isSignedByTwilio, type SignedRequest, signedUrl } from './twilioSignature.js';
import { callTwiml } from './twiml.js';
import { param, parseWebhookBody, type RawBody } from './webhookBody.js';

export type CallWebhookConfig = DialPolicy &
  Pick<Config, 'TWILIO_CALL_TIME_LIMIT' | 'PUBLIC_BASE_URL' | 'TWILIO_AUTH_TOKEN' | 'TWILIO_SECONDARY_AUTH_TOKEN'>;

export interface CallWebhookRequest extends SignedRequest, RawBody {
  sourceIp: string;
}

export interface CallWebhookAnswer {
  response: HttpResponse;
  log: { level: 'info' | 'warn' | 'error'; message: string; attributes: Record<string, unknown> };
  /** The count this request adds: CallRouted by decision, or WebhookRejected by reason. */
  metric: { name: 'CallRouted' | 'WebhookRejected'; dimensions: Record<string, string> };
  /** An alert for the on-call engineer, with the key that de-duplicates it. */
  alert?: { key: string; errorMsg: string; meta: Record<string, unknown> };
}

export const MAKE_CALL_ORIGIN = {
  vendorApi: 'make_call',
  originApi: '[POST] /api/v1/make_call',
} as const satisfies Pick<VendorAlert, 'vendorApi' | 'originApi'>;

const rejected = (reason: string): CallWebhookAnswer['metric'] => ({
  name: 'WebhookRejected',
  dimensions: { Reason: reason },
});
const routed = (decision: CallDecision): CallWebhookAnswer['metric'] => ({
  name: 'CallRouted',
  dimensions: { Decision: decision.kind },
});
const forbidden = () => plainText(403, 'Forbidden');
export const refused = () => plainText(500, 'Internal Server Error');

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

export function answerCallWebhook(
  request: CallWebhookRequest,
  config: CallWebhookConfig,
  options: { allowUnsignedRequests: boolean },
): CallWebhookAnswer {
  if (!config.TWILIO_AUTH_TOKEN && !options.allowUnsignedRequests) {
    const errorMsg = 'TWILIO_AUTH_TOKEN is not set: every request is refused';
    return {
      response: refused(),
      log: { level: 'error', message: errorMsg, attributes: {} },
      metric: rejected('no auth token'),
      alert: { key: 'no-auth-token', errorMsg, meta: {} },
    };
  }
  const body = parseWebhookBody(request);
  if ('status' in body) {
    return {
      response: plainText(body.status, body.message),
      log: { level: 'warn', message: 'Rejected body', attributes: { status: body.status } },
      metric: rejected(`body ${body.status}`),
    };
  }
  const callSid = param(body.params, 'CallSid');
  if (config.TWILIO_AUTH_TOKEN) {
    const url = signedUrl(request, config.PUBLIC_BASE_URL);
    const signature = request.headers['x-twilio-signature'];
    const authTokens = [config.TWILIO_AUTH_TOKEN, config.TWILIO_SECONDARY_AUTH_TOKEN].filter((t): t is string => !!t);
    if (!authTokens.some((authToken) => isSignedByTwilio(authToken, signature, url, body))) {
      const meta = { url, sourceIp: request.sourceIp, hasSignature: !!request.headers['x-twilio-signature'] };
      return {
        response: forbidden(),
        log: { level: 'warn', message: 'Request not signed by Twilio', attributes: { callSid, ...meta } },
        metric: rejected('signature'),
        alert: { key: `signature:${request.sourceIp}`, errorMsg: 'Request not signed by Twilio', meta },
      };
    }
  }
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
