/**
 * The make_call webhook's decision, as a pure function of the request and the
 * configuration: the response to send, what to log, and what (if anything) to alert.
 * The handler only loads the configuration and performs the log, the metric and the alert.
 */
import { shown, type VendorAlert } from './alerts.js';
import type { LimitedCall } from './callLimits.js';
import { callLimitProblems } from './callLimitsTable.js';
import { type CallDecision, type DialPolicy, dialPolicyProblems, routeCall } from './callRouting.js';
import type { Config, Env } from './config.js';
import { configLoader } from './functionConfig.js';
import { FUNCTION_FIELDS } from './functionFields.js';
import { twiml } from './httpResponses.js';
import { type DECISIONS, METRIC, MISSING_REJECTION } from './metricNames.js';
import { ROUTE_PATHS, SLOT_HOLDER_PARAM } from './routePaths.js';
import {
  paramsRejected,
  publicBaseUrl,
  verifyWebhook,
  type WebhookAnswer,
  type WebhookConfig,
  type WebhookOptions,
  type WebhookRequest,
} from './twilioWebhook.js';
import { callTwiml, type DialOptions, MESSAGES, sayTwiml } from './twiml.js';
import { param } from './webhookBody.js';

export type CallWebhookConfig = DialPolicy &
  WebhookConfig &
  Pick<
    Config,
    | 'TWILIO_CALL_TIME_LIMIT'
    | 'DIAL_ACTION'
    | 'DIAL_TIMEOUT'
    | 'ANSWER_ON_BRIDGE'
    | 'CALL_STATUS_CALLBACK'
    | 'CALL_LIMITS_TABLE'
  >;

/** make_call's answer; `limits`: a call to dial once the per-caller limits allow it (CALL_LIMITS_TABLE set). */
export type CallWebhookAnswer = WebhookAnswer & { limits?: LimitedCall };

export const MAKE_CALL_ORIGIN = {
  vendorApi: 'make_call',
  originApi: '[POST] /api/v1/make_call',
} as const satisfies Pick<VendorAlert, 'vendorApi' | 'originApi'>;

/**
 * Routing reads these, and the call limits CallSid (the slot a call holds): each must come
 * once (Twilio signs a sorted, merged form, so order tricks must not count).
 */
const ROUTING_PARAMS = ['to', 'from', 'From', 'CallSid'] as const;
const notValid = () => twiml(sayTwiml(MESSAGES.invalid));

/** The decisions that alert the on-call engineer, and what the alert says. */
const ALERTED = {
  emergency: 'Emergency number dialed',
  blocked: 'Destination not allowed',
  unauthorised: 'Caller is not an identity this service issued',
} as const;

/** For a failure of ours: Twilio would play "an application error" for a 500; the caller hears why instead. */
export const tryLater = () => twiml(sayTwiml(MESSAGES.tryLater));

const routed = (decision: CallDecision): WebhookAnswer['metrics'] => [
  { name: METRIC.CallRouted, dimensions: { Decision: decision.kind satisfies (typeof DECISIONS)[number] } },
];

/**
 * What to say about a decision: destinations are logged, as the legacy controller's meta did.
 * Those the request chose and nothing checked (an invalid or emergency `to`, any length the
 * body allows) are cut, as every other value a request chooses is.
 */
function describe(decision: CallDecision): Record<string, unknown> {
  switch (decision.kind) {
    case 'number':
      return { decision: 'dial number', to: decision.number, callerId: decision.callerId };
    case 'support':
      return { decision: 'dial support', to: decision.number, callerId: decision.callerId };
    case 'client':
      return { decision: 'dial client', to: decision.identity, callerId: decision.callerId };
    case 'greeting':
      return { decision: 'greeting' };
    case 'unauthorised':
      return { decision: 'unauthorised', from: shown(decision.from, 160) ?? null };
    case 'blocked':
      return { decision: 'blocked', to: shown(decision.to), reason: decision.reason };
    default:
      return { decision: decision.kind, to: shown(decision.to) };
  }
}

/**
 * make_call's configuration. The dialing settings are also checked against the phone
 * metadata, and the call limits against the callbacks that free their slots, once, when the
 * loader is made — not on every request.
 */
export function makeCallConfig(env: Env) {
  return configLoader(FUNCTION_FIELDS.makeCall, env, {
    check: (settings) => [
      ...dialPolicyProblems(settings),
      ...callLimitProblems(
        settings.CALL_LIMITS_TABLE ? 'when CALL_LIMITS_TABLE is set' : undefined,
        settings.CALL_STATUS_CALLBACK,
      ),
    ],
  });
}

/**
 * The `<Dial>`'s attributes the settings ask for; with every setting off, only the original's.
 * `slotHolder`: the caller whose concurrent-call slot this call takes, named in the URLs of
 * both webhooks that can free it (call_status when the dialed leg ends, dial_status when the
 * dial does, even if no leg was ever created).
 */
export function dialOptions(config: CallWebhookConfig, base: string, slotHolder?: string): DialOptions {
  const holder = (url: string) => (slotHolder ? `${url}?${SLOT_HOLDER_PARAM}=${slotHolder}` : url);
  return {
    timeLimit: config.TWILIO_CALL_TIME_LIMIT,
    ...(config.DIAL_ACTION
      ? { actionUrl: holder(`${base}${ROUTE_PATHS.dialStatus}`), timeout: config.DIAL_TIMEOUT }
      : {}),
    ...(config.ANSWER_ON_BRIDGE ? { answerOnBridge: true } : {}),
    ...(config.CALL_STATUS_CALLBACK ? { statusCallbackUrl: holder(`${base}${ROUTE_PATHS.callStatus}`) } : {}),
  };
}

export function answerCallWebhook(
  request: WebhookRequest,
  config: CallWebhookConfig,
  options: WebhookOptions,
): CallWebhookAnswer {
  const verified = verifyWebhook(request, config, options, {
    ourFailure: tryLater,
    repeated: notValid,
    single: ROUTING_PARAMS,
  });
  if (!verified.verified) return verified.answer;
  const { params } = verified;
  const callSid = param(params, 'CallSid');
  const decision = routeCall(
    { to: param(params, 'to'), from: param(params, 'from'), twilioFrom: param(params, 'From') },
    config,
  );
  const attributes = { callSid, ...describe(decision) };
  const base = publicBaseUrl(request, config.PUBLIC_BASE_URL);
  const errorMsg = ALERTED[decision.kind as keyof typeof ALERTED];
  if (errorMsg) {
    return {
      response: twiml(callTwiml(decision, dialOptions(config, base))),
      log: { level: 'warn', message: errorMsg, attributes },
      metrics: routed(decision),
      // Unauthorised callers are one kind; a destination's alert keys by the user who dialed it, not
      // by what they dialed: one user trying a thousand numbers is one alert a minute, not the cap.
      alert: {
        key: 'caller' in decision ? `${decision.kind}:${decision.caller}` : decision.kind,
        errorMsg,
        meta: { ...attributes, ...('caller' in decision ? { userId: decision.caller } : {}) },
      },
    };
  }
  const dialed = decision.kind === 'number' || decision.kind === 'support' || decision.kind === 'client';
  // Twilio sends a CallSid with every call: without one a call could not be counted, so it is not dialed.
  if (config.CALL_LIMITS_TABLE && dialed && !callSid) return paramsRejected(MISSING_REJECTION, ['CallSid'], notValid());
  const limits: LimitedCall | undefined =
    config.CALL_LIMITS_TABLE && dialed && callSid
      ? { leg: decision.kind, userId: decision.caller, callSid }
      : undefined;
  // A call to a number takes one of its caller's slots: the status webhooks' URLs say whose.
  const slotHolder = limits?.leg === 'number' ? limits.userId : undefined;
  return {
    response: twiml(callTwiml(decision, dialOptions(config, base, slotHolder))),
    log: { level: 'info', message: 'Call routed', attributes },
    metrics: routed(decision),
    ...(limits ? { limits } : {}),
  };
}
