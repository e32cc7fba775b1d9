/**
 * Twilio's status webhooks, as pure decisions like make_call's: `dial_status` (the
 * `<Dial action>`: how the dial ended, and what the caller hears then) and `call_status`
 * (each leg's `statusCallback` events: status and duration). Both are verified by the one
 * webhook verifier before anything is read.
 */
import { shown, type VendorAlert } from './alerts.js';
import { type HttpResponse, plainText, twiml } from './httpResponses.js';
import { callerUserId, isUserId } from './identity.js';
import { DIAL_STATUSES, LEG_STATUSES, type LEGS, METRIC } from './metricNames.js';
import { ROUTE_PATHS, SLOT_HOLDER_PARAM } from './routePaths.js';
import {
  verifyWebhook,
  type WebhookAnswer,
  type WebhookConfig,
  type WebhookOptions,
  type WebhookRequest,
} from './twilioWebhook.js';
import { hangupTwiml, MESSAGES, sayTwiml } from './twiml.js';
import { param, type WebhookParams } from './webhookBody.js';

export const CALL_EVENTS_ORIGIN = {
  vendorApi: 'call_events',
  originApi: '[POST] /api/v1/dial_status, /api/v1/call_status',
} as const satisfies Pick<VendorAlert, 'vendorApi' | 'originApi'>;

type DialStatus = (typeof DIAL_STATUSES)[number];
type LegStatus = (typeof LEG_STATUSES)[number];
const isOneOf = <T extends string>(values: readonly T[], value: string | undefined): value is T =>
  (values as readonly (string | undefined)[]).includes(value);
/** A metric dimension takes only values we know: a signed request still decides nothing unbounded. */
const dialStatusDimension = (status: string | undefined): DialStatus =>
  isOneOf(DIAL_STATUSES, status) ? status : 'other';

export type Leg = (typeof LEGS)[number];

/** A logged parameter: Twilio's, but kept short whatever it holds. */
const shownParam = (params: WebhookParams, name: string) => shown(param(params, name));

/** The leg of a dial_status request, from the `leg` the action URL carries (signed with it). */
function dialLeg(rawQueryString: string): Leg {
  const leg = new URLSearchParams(rawQueryString).get('leg');
  return leg === 'number' || leg === 'client' ? leg : 'unknown';
}

/** The leg of a call_status event, from whom Twilio called. */
function calledLeg(params: WebhookParams): Leg {
  const to = param(params, 'To');
  if (!to) return 'unknown';
  return to.startsWith('client:') ? 'client' : 'number';
}

/** What the caller hears once the dial has ended. */
export function dialOutcomeTwiml(status: string | undefined): string {
  switch (status) {
    case 'completed':
    case 'answered':
      return hangupTwiml();
    case 'busy':
      return sayTwiml(MESSAGES.busy);
    case 'no-answer':
      return sayTwiml(MESSAGES.noAnswer);
    default:
      return sayTwiml(MESSAGES.notConnected);
  }
}

/** A parameter that must come once came twice: nothing to act on. */
const repeatedParam = () => plainText(400, 'Bad Request: repeated parameter');

/**
 * The parameters each status webhook acts on (counts, frees a slot by): each must come once,
 * as make_call's routing parameters must (Twilio signs a sorted, merged form).
 */
const DIAL_STATUS_PARAMS = ['DialCallStatus', 'CallSid'] as const;
const CALL_STATUS_PARAMS = ['CallSid', 'ParentCallSid', 'CallStatus', 'CallDuration', 'To', 'From'] as const;

/** For a failure of ours after a dial: end the call, which has nothing left to do. */
export const dialStatusFailure = () => twiml(hangupTwiml());
/** For a failure of ours on a status event: Twilio records it; nothing else depends on the answer. */
export const callStatusFailure = () => plainText(503, 'Service Unavailable');

/** The call whose concurrent-call slot is freed, and whose it is: the holder make_call named in the signed URL. */
export interface SlotRelease {
  callSid: string;
  userId: string;
}

function slotRelease(callSid: string | undefined, request: WebhookRequest): SlotRelease | undefined {
  const userId = new URLSearchParams(request.rawQueryString).get(SLOT_HOLDER_PARAM);
  return callSid && isUserId(userId) ? { callSid, userId } : undefined;
}

/** A status webhook's answer; `release`: the concurrent-call slot the event frees. */
export type StatusAnswer = WebhookAnswer & { release?: SlotRelease };

export function answerDialStatus(
  request: WebhookRequest,
  config: WebhookConfig,
  options: WebhookOptions,
): StatusAnswer {
  const verified = verifyWebhook(request, config, options, {
    ourFailure: dialStatusFailure,
    repeated: repeatedParam,
    single: DIAL_STATUS_PARAMS,
  });
  if (!verified.verified) return verified.answer;
  const { params } = verified;
  const status = param(params, 'DialCallStatus');
  const leg = dialLeg(request.rawQueryString);
  // The dial is over, whether or not a leg was ever created (a refused <Dial> creates none):
  // the slot is the call's own (CallSid here is make_call's), its holder signed in the URL.
  const release = leg === 'number' ? slotRelease(param(params, 'CallSid'), request) : undefined;
  return {
    ...(release ? { release } : {}),
    response: twiml(dialOutcomeTwiml(status)),
    log: {
      level: 'info',
      message: 'Dial ended',
      attributes: {
        callSid: shownParam(params, 'CallSid'),
        dialCallSid: shownParam(params, 'DialCallSid'),
        dialCallStatus: shownParam(params, 'DialCallStatus'),
        dialCallDuration: shownParam(params, 'DialCallDuration'),
        leg,
      },
    },
    metrics: [{ name: METRIC.DialOutcome, dimensions: { Status: dialStatusDimension(status), Leg: leg } }],
  };
}

const noContent = (): HttpResponse => ({ statusCode: 204, headers: { 'cache-control': 'no-store' }, body: '' });

/** call_status's answer to one event: 204, its log line (`leg`: whose leg it is), what it counts and frees. */
function callStatusAnswer(
  params: WebhookParams,
  leg: Leg | 'caller',
  metrics: WebhookAnswer['metrics'],
  release: SlotRelease | undefined,
): StatusAnswer {
  return {
    ...(release ? { release } : {}),
    response: noContent(),
    log: {
      level: 'info',
      message: 'Call status',
      attributes: {
        callSid: shownParam(params, 'CallSid'),
        parentCallSid: shownParam(params, 'ParentCallSid'),
        callStatus: shownParam(params, 'CallStatus'),
        direction: shownParam(params, 'Direction'),
        sequenceNumber: shownParam(params, 'SequenceNumber'),
        ...(param(params, 'CallDuration') === undefined ? {} : { callDuration: shownParam(params, 'CallDuration') }),
        leg,
      },
    },
    metrics,
  };
}

/**
 * An event of the caller's own call (no ParentCallSid): the TwiML App's status callback, when
 * the whole call has ended. That call is make_call's, so its end frees the slot it took even
 * when it ended before any leg was dialed (the caller hung up while make_call answered). Whose
 * slot is Twilio's signed `From`, an identity we issue. Not counted: the dialed legs' events
 * are the call outcomes and durations.
 */
function callerCallStatus(params: WebhookParams, config: WebhookConfig, ended: boolean): StatusAnswer {
  const callSid = param(params, 'CallSid');
  const userId = callerUserId(param(params, 'From'), config.TWILIO_ML_APP_SID);
  return callStatusAnswer(params, 'caller', [], ended && callSid && userId ? { callSid, userId } : undefined);
}

export function answerCallStatus(
  request: WebhookRequest,
  config: WebhookConfig,
  options: WebhookOptions,
): StatusAnswer {
  const verified = verifyWebhook(request, config, options, {
    ourFailure: callStatusFailure,
    repeated: repeatedParam,
    single: CALL_STATUS_PARAMS,
  });
  if (!verified.verified) return verified.answer;
  const { params } = verified;
  const status = param(params, 'CallStatus');
  const ended = isOneOf<LegStatus>(LEG_STATUSES, status);
  const parentCallSid = param(params, 'ParentCallSid');
  if (parentCallSid === undefined) return callerCallStatus(params, config, ended);
  const leg = calledLeg(params);
  const duration = Number(param(params, 'CallDuration'));
  const metrics: WebhookAnswer['metrics'] = ended
    ? [
        {
          name: METRIC.CallDuration,
          dimensions: { Leg: leg, Status: status },
          seconds: Number.isFinite(duration) && duration >= 0 ? duration : 0,
        },
        { name: METRIC.CallsCompleted, dimensions: { Status: status } },
      ]
    : [];
  // The slot is the parent call's (make_call's CallSid): the dialed leg's ParentCallSid.
  return callStatusAnswer(params, leg, metrics, ended ? slotRelease(parentCallSid, request) : undefined);
}

/**
 * A status webhook's answer when freeing the ended call's slot failed (`reason`: the error's
 * name). The event is logged and counted as it came, and the store's failure is counted and
 * alerted: until the slot is freed by the call's other webhook or expires, the caller has one
 * call fewer of MAX_CONCURRENT_PHONE_CALLS. call_status answers 503, a failure of ours
 * (Twilio's debugger shows it; a `#rc=` retry policy delivers the callback again); dial_status
 * still answers its TwiML, which the caller hears.
 */
export function slotNotReleased(answered: StatusAnswer, reason: string, response: HttpResponse): WebhookAnswer {
  return {
    response,
    log: {
      level: 'error',
      message: `${answered.log.message}: concurrent-call slot not released`,
      attributes: { ...answered.log.attributes, reason },
    },
    metrics: [...answered.metrics, { name: METRIC.CallLimitsUnavailable, dimensions: {} }],
    alert: {
      key: 'slot-not-released',
      errorMsg: 'Call limits unavailable: an ended call’s concurrent-call slot was not freed (it expires by itself)',
      meta: { reason },
    },
  };
}

interface CallEventRoute {
  answer: (request: WebhookRequest, config: WebhookConfig, options: WebhookOptions) => StatusAnswer;
  ourFailure: () => HttpResponse;
  /** The answer when the event's slot could not be freed. */
  notReleased: (answered: StatusAnswer) => HttpResponse;
}
/** The two routes this module answers, by the route's path. */
const CALL_EVENT_ROUTES = new Map<string, CallEventRoute>([
  [
    ROUTE_PATHS.dialStatus,
    { answer: answerDialStatus, ourFailure: dialStatusFailure, notReleased: (answered) => answered.response },
  ],
  [ROUTE_PATHS.callStatus, { answer: answerCallStatus, ourFailure: callStatusFailure, notReleased: callStatusFailure }],
]);
/** The route answering `routePath`, if this module has one (a Map: no path reaches an object's own properties). */
export function callEventRoute(routePath: string): CallEventRoute | undefined {
  return CALL_EVENT_ROUTES.get(routePath);
}
