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

/** One counter in a limit item: one is added per call, while it is below `limit` (none: never refused). */
export interface LimitCounter {
  attribute: string;
  limit?: number;
  name: LimitName;
}

/**
 * One item's share of a call, applied as one conditional write: every counter takes one and
 * the slot is taken, or nothing changes. The phone limits of a caller (calls in progress, the
 * hour, the day) share one item, so that a call refused by one of them holds nothing of the
 * others even for a moment: 100 concurrent calls dial exactly the limit.
 */
export interface LimitStep {
  key: string;
  counters: LimitCounter[];
  /** One of the item's `limit` slots for calls in progress, while fewer unexpired are held. */
  slot?: Slot & { limit: number; name: 'phone-concurrent' };
  /** Counters of windows that have ended, removed by the same write so that the item does not grow. */
  ended: string[];
  expiresAt: number;
}

/** A slot outlives the longest call by this much when no completed callback releases it. */
export const SLOT_MARGIN_SECONDS = 300;

const seconds = (ms: number) => Math.floor(ms / 1000);
const WINDOW = {
  minute: { length: 60, label: 16 },
  hour: { length: 3600, label: 13 },
  day: { length: 86_400, label: 10 },
} as const;
/** The window a time falls in, as text for a key, and when the window ends (epoch seconds). */
function windowOf(nowMs: number, unit: keyof typeof WINDOW) {
  const { length, label } = WINDOW[unit];
  const start = Math.floor(seconds(nowMs) / length) * length;
  return { label: new Date(start * 1000).toISOString().slice(0, label), end: start + length };
}
/** The labels of the `count` windows before the one `nowMs` falls in. */
const windowsBefore = (nowMs: number, unit: keyof typeof WINDOW, count: number) =>
  Array.from({ length: count }, (_, i) => windowOf(nowMs - (i + 1) * WINDOW[unit].length * 1000, unit).label);

/** The attribute of a caller's phone item that counts the calls of one hour, and of one day. */
const hourCounter = (label: string) => `h#${label}`;
const dayCounter = (label: string) => `d#${label}`;
/** The key of a caller's phone item: their calls in progress and their hour and day counters. */
export const phoneItemKey = (userId: string) => `u#${userId}#phone`;
/** A call in progress: a phone item holds its CallSid in a set and when it expires in `slotExpiry(callSid)`. */
export interface Slot {
  callSid: string;
  expiresAt: number;
}
export const slotExpiry = (callSid: string) => `slot#${callSid}`;

/**
 * The steps for one call, in order, the service-wide breaker last (a caller refused on their
 * own limits does not use the service's budget). Support calls are counted and never
 * refused; app-user calls have their own hourly limit only. Counters expire a window after
 * theirs ends, so a late retry still sees them; a caller's phone item lives as long as its
 * day counter or its latest slot. Its counters of the previous day (24 hours and the day)
 * go with each write: only a caller whose calls are more than a day apart leaves one of
 * each behind, until the item expires.
 */
export function limitSteps(call: LimitedCall, nowMs: number, settings: LimitSettings): LimitStep[] {
  const hour = windowOf(nowMs, 'hour');
  const day = windowOf(nowMs, 'day');
  const minute = windowOf(nowMs, 'minute');
  if (call.leg === 'client') {
    return [
      {
        key: `u#${call.userId}#client-hour#${hour.label}`,
        counters: [{ attribute: 'n', limit: settings.MAX_CLIENT_CALLS_PER_HOUR, name: 'client-hour' }],
        ended: [],
        expiresAt: hour.end + 3600,
      },
    ];
  }
  const limited = call.leg === 'number';
  const limit = (value: number) => (limited ? { limit: value } : {});
  const slotExpires = seconds(nowMs) + settings.TWILIO_CALL_TIME_LIMIT + SLOT_MARGIN_SECONDS;
  const caller: LimitStep = {
    key: phoneItemKey(call.userId),
    counters: [
      { attribute: hourCounter(hour.label), ...limit(settings.MAX_PHONE_CALLS_PER_HOUR), name: 'phone-hour' },
      { attribute: dayCounter(day.label), ...limit(settings.MAX_PHONE_CALLS_PER_DAY), name: 'phone-day' },
    ],
    ...(limited
      ? {
          slot: {
            callSid: call.callSid,
            expiresAt: slotExpires,
            limit: settings.MAX_CONCURRENT_PHONE_CALLS,
            name: 'phone-concurrent' as const,
          },
        }
      : {}),
    ended: [...windowsBefore(nowMs, 'hour', 24).map(hourCounter), dayCounter(windowsBefore(nowMs, 'day', 1)[0] ?? '')],
    expiresAt: Math.max(day.end + 86_400, limited ? slotExpires : 0),
  };
  const breaker: LimitStep = {
    key: `service#phone-minute#${minute.label}`,
    counters: [{ attribute: 'n', ...limit(settings.MAX_PHONE_CALLS_PER_MINUTE), name: 'phone-minute' }],
    ended: [],
    expiresAt: minute.end + 60,
  };
  return [caller, breaker];
}

/** An item as the store read it back: its counters, and its slots (no expiry read: expired). */
export interface LimitItem {
  counts: Record<string, number>;
  slots: Slot[];
}

/**
 * Why a step's write was refused, from the item read back after it: this call already
 * holds its slot (an earlier delivery of its webhook took the step); else the first limit it
 * is at (calls in progress, then the hour, then the day); else the expired slots to free
 * before trying again; else nothing (the item changed in between: try again).
 */
export function refusalOf(
  step: LimitStep,
  item: LimitItem,
  nowMs: number,
): { limit: LimitName } | { expired: string[] } | { held: true } | undefined {
  const live = item.slots.filter((slot) => slot.expiresAt >= seconds(nowMs));
  const callSid = step.slot?.callSid;
  // Twilio delivered this call's webhook before (its fallback URL, a retry policy) and it was counted then.
  if (live.some((slot) => slot.callSid === callSid)) return { held: true };
  if (step.slot && live.length >= step.slot.limit) return { limit: step.slot.name };
  const full = step.counters.find(
    (counter) => counter.limit !== undefined && (item.counts[counter.attribute] ?? 0) >= counter.limit,
  );
  if (full) return { limit: full.name };
  if (step.slot && live.length < item.slots.length) {
    return { expired: item.slots.filter((slot) => !live.includes(slot)).map((slot) => slot.callSid) };
  }
  return undefined;
}

/** What the store says about a call. */
export type LimitOutcome =
  | { allowed: true }
  /**
   * `notGivenBack`: what the call took before a later limit refused it could not be given back
   * (the store failed in between): its slot is held until it expires.
   */
  | { allowed: false; limit: LimitName; notGivenBack?: true }
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

/** Whether a call the limits cannot be checked for is refused: fail-closed, except the support line. */
export function refusedWhenUnavailable(
  call: Pick<LimitedCall, 'leg'>,
  settings: Pick<LimitSettings, 'CALL_LIMITS_FAIL_CLOSED'>,
): boolean {
  return settings.CALL_LIMITS_FAIL_CLOSED && call.leg !== 'support';
}

/**
 * make_call's answer once the limits have spoken. Unavailable: the call goes ahead (a
 * missed count costs less than a rider who cannot reach a driver), unless
 * CALL_LIMITS_FAIL_CLOSED; either way counted and alerted. The support line has no limit
 * to check, so it goes ahead either way.
 */
export function answerWithLimits(
  dialed: WebhookAnswer,
  call: LimitedCall,
  outcome: LimitOutcome,
  settings: Pick<LimitSettings, 'CALL_LIMITS_FAIL_CLOSED'>,
): WebhookAnswer {
  if ('allowed' in outcome) {
    if (outcome.allowed) return dialed;
    const refused = limited(call, outcome.limit, dialed.log.attributes);
    if (!outcome.notGivenBack) return refused;
    // The caller may be locked out until the slot expires: counted like any failure of the store.
    return {
      ...refused,
      log: { ...refused.log, level: 'error', attributes: { ...refused.log.attributes, givenBack: false } },
      metrics: [...refused.metrics, { name: METRIC.CallLimitsUnavailable, dimensions: {} }],
    };
  }
  const unavailable = {
    metrics: [{ name: METRIC.CallLimitsUnavailable, dimensions: {} }],
    alert: {
      key: 'call-limits-unavailable',
      errorMsg: settings.CALL_LIMITS_FAIL_CLOSED
        ? 'Call limits unavailable: calls refused (CALL_LIMITS_FAIL_CLOSED), but for the support line'
        : 'Call limits unavailable: calls go ahead unchecked',
      meta: { reason: outcome.reason },
    },
  };
  if (refusedWhenUnavailable(call, settings)) {
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
