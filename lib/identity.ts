/**
 * The Twilio client identity this service gives an app user, `<TWILIO_ML_APP_SID>_uid<user id>`:
 * call_token issues it (lib/voiceToken.ts) and make_call recognises it (lib/callRouting.ts).
 * No imports, so make_call's bundle takes it without jose or twilio's AccessToken.
 */

const USER_ID = /^[A-Za-z0-9_]{1,64}$/;

/** The user id form everything downstream relies on (it becomes part of a Twilio identity). */
export function isUserId(value: unknown): value is string {
  return typeof value === 'string' && USER_ID.test(value);
}

export function identityPrefix(appSid: string): string {
  return `${appSid}_uid`;
}
