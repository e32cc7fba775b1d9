/**
 * Where a call placed from the app goes: the legacy controller's routing (phone pattern
 * → number, anything else → app user), with the holes closed: numbers are parsed and
 * checked against the dialing policy, client identities are checked, and caller IDs are
 * limited to numbers the account owns or to the caller's own identity. Pure: no I/O.
 */
import { type CountryCode, isSupportedCountry, parsePhoneNumberWithError } from 'libphonenumber-js/max';
import type { Config } from './config.js';
import { callerUserId } from './identity.js';

export type DialPolicy = Pick<
  Config,
  | 'TWILIO_FROM'
  | 'TWILIO_CALLER_IDS'
  | 'DEFAULT_COUNTRY'
  | 'ALLOWED_DIAL_COUNTRIES'
  | 'EMERGENCY_NUMBERS'
  | 'BLOCKED_NUMBER_TYPES'
  | 'SUPPORT_NUMBER'
  | 'TWILIO_ML_APP_SID'
>;

export interface CallParams {
  /** The destination the app asked for (custom parameter `to`). */
  to?: string | undefined;
  /** The caller ID the app asked for (custom parameter `from`). */
  from?: string | undefined;
  /** Twilio's own `From`: `client:<identity>` for calls from the Voice SDK. */
  twilioFrom?: string | undefined;
}

export type CallDecision =
  /** Twilio's From is not an identity this service issues: no one of ours is calling. */
  | { kind: 'unauthorised'; from: string | undefined }
  | { kind: 'greeting' }
  /** `caller`: the user id of the app user who dialed it (their alerts are keyed by it). */
  | { kind: 'emergency'; to: string; caller: string }
  | { kind: 'invalid'; to: string }
  | { kind: 'blocked'; to: string; reason: string; caller: string }
  /** Dials a number; `caller`: the user id of the app user placing the call (Twilio's From). */
  | { kind: 'number'; number: string; callerId: string; caller: string }
  /** The support line: SUPPORT_NUMBER, with the company's caller ID. */
  | { kind: 'support'; number: string; callerId: string; caller: string }
  | { kind: 'client'; identity: string; callerId: string; caller: string };

/** The legacy controller's test for "this is a phone number". */
export const PHONE_PATTERN = /^[\d+\-() ]+$/;
export const CLIENT_IDENTITY = /^[A-Za-z0-9_]{1,121}$/;
/** A support number of these types is a configuration error, whatever BLOCKED_NUMBER_TYPES says. */
const SUPPORT_BLOCKED_TYPES = new Set(['PREMIUM_RATE', 'SHARED_COST']);

type ParsedNumber = {
  e164: string;
  national: string;
  country: string | undefined;
  type: string | undefined;
  valid: boolean;
};

function parseNumber(text: string, defaultCountry: string): ParsedNumber | undefined {
  try {
    const number = parsePhoneNumberWithError(text, defaultCountry as CountryCode);
    const type = number.getType();
    return {
      e164: number.number,
      national: number.nationalNumber,
      country: number.country,
      type,
      // With the max metadata, isValid() is exactly getType() !== undefined, and each runs
      // getNumberType (fresh RegExps, 9–26 µs a number): asked once.
      valid: type !== undefined,
    };
  } catch {
    return undefined;
  }
}

/** `candidate` in E.164 when it is a number the account may call from, else undefined. */
function ownedNumber(candidate: string | undefined, policy: DialPolicy): string | undefined {
  if (!candidate || !PHONE_PATTERN.test(candidate.trim())) return undefined;
  const parsed = parseNumber(candidate.trim(), policy.DEFAULT_COUNTRY);
  if (!parsed) return undefined;
  return parsed.e164 === policy.TWILIO_FROM || policy.TWILIO_CALLER_IDS.includes(parsed.e164) ? parsed.e164 : undefined;
}

/** Twilio rejects a `client:` caller ID on a phone leg (error 13214): only owned numbers. */
export function phoneCallerId(params: CallParams, policy: DialPolicy): string {
  return ownedNumber(params.from, policy) ?? policy.TWILIO_FROM;
}

/** On a client leg the caller is who Twilio says (`twilioFrom`, one of ours): one app user cannot pose as another. */
export function clientCallerId(params: CallParams & { twilioFrom: string }, policy: DialPolicy): string {
  return ownedNumber(params.from, policy) ?? params.twilioFrom;
}

function routeToNumber(to: string, caller: string, params: CallParams, policy: DialPolicy): CallDecision {
  if (policy.EMERGENCY_NUMBERS.includes(to.replace(/\D/g, ''))) return { kind: 'emergency', to, caller };
  const parsed = parseNumber(to, policy.DEFAULT_COUNTRY);
  if (!parsed?.valid) return { kind: 'invalid', to };
  if (!parsed.country || !policy.ALLOWED_DIAL_COUNTRIES.includes(parsed.country)) {
    return { kind: 'blocked', to, reason: `country ${parsed.country ?? 'none'} is not allowed`, caller };
  }
  if (parsed.type && policy.BLOCKED_NUMBER_TYPES.includes(parsed.type)) {
    return { kind: 'blocked', to, reason: `${parsed.type} number`, caller };
  }
  return { kind: 'number', number: parsed.e164, callerId: phoneCallerId(params, policy), caller };
}

/** What the apps send as `to` for the support line. */
export const SUPPORT_DESTINATION = 'support';

export function routeCall(params: CallParams, policy: DialPolicy): CallDecision {
  const twilioFrom = params.twilioFrom;
  const caller = callerUserId(twilioFrom, policy.TWILIO_ML_APP_SID);
  if (twilioFrom === undefined || caller === undefined) return { kind: 'unauthorised', from: twilioFrom };
  const to = params.to?.trim() ?? '';
  if (to === '') return { kind: 'greeting' };
  // The operator chose this number: no country check; checked against the metadata at load.
  if (policy.SUPPORT_NUMBER && to.toLowerCase() === SUPPORT_DESTINATION) {
    return { kind: 'support', number: policy.SUPPORT_NUMBER, callerId: policy.TWILIO_FROM, caller };
  }
  if (PHONE_PATTERN.test(to)) return routeToNumber(to, caller, params, policy);
  const identity = to.startsWith('client:') ? to.slice('client:'.length) : to;
  if (!CLIENT_IDENTITY.test(identity)) return { kind: 'invalid', to };
  // The caller ID is an owned E.164 number or the caller's own identity (checked above): both are
  // plain ASCII, so nothing a request sends can make the TwiML not XML (VoiceResponse checks no attributes).
  return { kind: 'client', identity, callerId: clientCallerId({ ...params, twilioFrom }, policy), caller };
}

/** Problems with the dialing settings that only the phone metadata can see (named, as config errors are). */
export function dialPolicyProblems(policy: DialPolicy): string[] {
  const problems: string[] = [];
  if (!isSupportedCountry(policy.DEFAULT_COUNTRY)) problems.push('DEFAULT_COUNTRY is not a country with phone numbers');
  if (!policy.ALLOWED_DIAL_COUNTRIES.every((country) => isSupportedCountry(country))) {
    problems.push('ALLOWED_DIAL_COUNTRIES has an entry that is not a country with phone numbers');
  }
  if (policy.SUPPORT_NUMBER) {
    const support = parseNumber(policy.SUPPORT_NUMBER, policy.DEFAULT_COUNTRY);
    if (support && policy.EMERGENCY_NUMBERS.includes(support.national)) {
      problems.push('SUPPORT_NUMBER is an emergency number');
    } else if (!support?.valid) problems.push('SUPPORT_NUMBER is not a valid phone number');
    else if (support.type && SUPPORT_BLOCKED_TYPES.has(support.type)) {
      problems.push(`SUPPORT_NUMBER is a ${support.type.toLowerCase().replace('_', '-')} number`);
    }
  }
  return problems;
}
