/**
 * Per-caller call limits, as plain data: which counters a call counts in, which of them may
 * refuse it, and what the caller hears when one does. Pure; lib/callLimitStore.ts applies
 * the steps to DynamoDB.
 */
import type { Config } from './config.js';
import { twiml } from './httpResponses.js';
import { type LIMIT_NAMES, METRIC } from './metricNames.js';
import type { WebhookAnswer } from './twilioWebhook.js';
import { MESSAGES, sayTwiml } from './twiml.js';

export type LimitName = (typeof LIMIT_NAMES)[number];

export type LimitSettings = Pick<
  Config,
  | 'MAX_PHONE_CALLS_PER_HOUR'
  | 'MAX_PHONE_CALLS_PER_DAY'
  | 'MAX_CLIENT_CALLS_PER_HOUR'
  | 'MAX_CONCURRENT_PHONE_CALLS'
  | 'MAX_PHONE_CALLS_PER_MINUTE'
  | 'CALL_LIMITS_FAIL_CLOSED'
  | 'TWILIO_CALL_TIME_LIMIT'
>;

/** What a dialed call is, for its limits. */
export interface LimitedCall {
  leg: 'number' | 'client' | 'support';
  userId: string;
  callSid: string;
}

export type LimitStep =
  /** Add one to a counter; with `limit`, only while it is below it. */
  | { op: 'count'; key: string; limit?: number; expiresAt: number; name: LimitName }
  /** Take one of these slots (free, or expired) for this call. */
  | { op: 'slot'; keys: string[]; callSid: string; expiresAt: number; name: 'phone-concurrent' };

/** A slot outlives the longest call by this much when no completed callback releases it. */
export const SLOT_MARGIN_SECONDS = 300;

const seconds = (ms: number) => Math.floor(ms / 1000);
/** The window a time falls in, as text for a key, and when the window ends (epoch seconds). */
function windowOf(nowMs: number, unit: 'minute' | 'hour' | 'day') {
  const iso = new Date(nowMs).toISOString();
  const length = { minute: 60, hour: 3600, day: 86_400 }[unit];
  const start = Math.floor(seconds(nowMs) / length) * length;
  return { label: iso.slice(0, { minute: 16, hour: 13, day: 10 }[unit]), end: start + length };
}

/**
 * The steps for one call, most likely to refuse first, the service-wide breaker last (a
 * caller refused on their own limits does not use the service's budget). Support calls are
 * counted and never refused; app-user calls have their own hourly limit only. Counters
 * expire a window after theirs ends, so a late retry still sees them.
 */
export function limitSteps(call: LimitedCall, nowMs: number, settings: LimitSettings): LimitStep[] {
  const hour = windowOf(nowMs, 'hour');
  const day = windowOf(nowMs, 'day');
  const minute = windowOf(nowMs, 'minute');
  const user = `u#${call.userId}`;
  if (call.leg === 'client') {
    return [
      {
        op: 'count',
        key: `${user}#client-hour#${hour.label}`,
        limit: settings.MAX_CLIENT_CALLS_PER_HOUR,
        expiresAt: hour.end + 3600,
        name: 'client-hour',
      },
    ];
  }
  const limited = call.leg === 'number';
  const counters: LimitStep[] = [
    {
      op: 'count',
      key: `${user}#phone-hour#${hour.label}`,
      ...(limited ? { limit: settings.MAX_PHONE_CALLS_PER_HOUR } : {}),
      expiresAt: hour.end + 3600,
      name: 'phone-hour',
    },
    {
      op: 'count',
      key: `${user}#phone-day#${day.label}`,
      ...(limited ? { limit: settings.MAX_PHONE_CALLS_PER_DAY } : {}),
      expiresAt: day.end + 86_400,
      name: 'phone-day',
    },
    {
      op: 'count',
      key: `service#phone-minute#${minute.label}`,
      ...(limited ? { limit: settings.MAX_PHONE_CALLS_PER_MINUTE } : {}),
      expiresAt: minute.end + 60,
      name: 'phone-minute',
    },
  ];
  if (!limited) return counters;
  const slots = Array.from({ length: settings.MAX_CONCURRENT_PHONE_CALLS }, (_, i) => `${user}#phone-active#${i}`);
  const slot: LimitStep = {
    op: 'slot',
    keys: slots,
    callSid: call.callSid,
    expiresAt: seconds(nowMs) + settings.TWILIO_CALL_TIME_LIMIT + SLOT_MARGIN_SECONDS,
    name: 'phone-concurrent',
  };
  return [slot, ...counters];
}

/** What the store says about a call. */
export type LimitOutcome =
  | { allowed: true }
  | { allowed: false; limit: LimitName }
  /** The store failed or did not answer within the limit: `reason` is the error's name. */
  | { unavailable: true; reason: string };

/** What a refused call hears: nothing is dialed. */
const refusedCall = () => twiml(sayTwiml(MESSAGES.limited));

/** The answer to a call a limit refused. */
function limited(call: LimitedCall, limit: LimitName, attributes: Record<string, unknown>): WebhookAnswer {
  return {
    response: refusedCall(),
    log: { level: 'warn', message: 'Call limited', attributes: { ...attributes, limit } },
    // A caller decides how many of these there are: capped per limit.
    logCap: `limited:${limit}`,
    metrics: [{ name: METRIC.CallLimited, dimensions: { Limit: limit } }],
    alert: {
      // Per caller and limit, once an hour; the breaker is one kind, once a minute like any alert.
      ...(limit === 'phone-minute'
        ? { key: `limited:${limit}` }
        : { key: `limited:${limit}:${call.userId}`, hourly: true }),
      errorMsg: limit === 'phone-minute' ? 'Service-wide phone call breaker tripped' : 'Caller reached a call limit',
      meta: { userId: call.userId, limit },
    },
  };
}

/**
 * make_call's answer once the limits have spoken. Unavailable: the call goes ahead (a
 * missed count costs less than a rider who cannot reach a driver), unless
 * CALL_LIMITS_FAIL_CLOSED; either way counted and alerted.
 */
export function answerWithLimits(
  dialed: WebhookAnswer,
  call: LimitedCall,
  outcome: LimitOutcome,
  settings: Pick<LimitSettings, 'CALL_LIMITS_FAIL_CLOSED'>,
): WebhookAnswer {
  if ('allowed' in outcome) {
    return outcome.allowed ? dialed : limited(call, outcome.limit, dialed.log.attributes);
  }
  const unavailable = {
    metrics: [{ name: METRIC.CallLimitsUnavailable, dimensions: {} }],
    alert: {
      key: 'call-limits-unavailable',
      errorMsg: settings.CALL_LIMITS_FAIL_CLOSED
        ? 'Call limits unavailable: calls refused (CALL_LIMITS_FAIL_CLOSED)'
        : 'Call limits unavailable: calls go ahead uncounted',
      meta: { reason: outcome.reason },
    },
  };
  if (settings.CALL_LIMITS_FAIL_CLOSED) {
    return {
      response: refusedCall(),
      log: {
        level: 'error',
        message: 'Call refused: call limits unavailable',
        attributes: { ...dialed.log.attributes, reason: outcome.reason },
      },
      logCap: 'limits-unavailable',
      metrics: unavailable.metrics,
      alert: unavailable.alert,
    };
  }
  return {
    ...dialed,
    metrics: [...dialed.metrics, ...unavailable.metrics],
    log: { ...dialed.log, attributes: { ...dialed.log.attributes, callLimits: 'unavailable' } },
    alert: unavailable.alert,
  };
}
