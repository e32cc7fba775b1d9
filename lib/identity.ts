/**
 * The Twilio client identity this service gives an app user, `<TWILIO_ML_APP_SID>_uid<user id>`:
 * call_token issues it (lib/voiceToken.ts); make_call (lib/callRouting.ts) and call_status
 * (lib/statusWebhooks.ts) recognise it.
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

/**
 * The user id of the caller when Twilio's From is `client:` and an identity this service
 * issues (`<TWILIO_ML_APP_SID>_uid<user id>`), else undefined: make_call's caller, and whose
 * call a status event of the caller's own leg ends. The app's own `from` never stands in for it.
 */
export function callerUserId(twilioFrom: string | undefined, appSid: string): string | undefined {
  const prefix = `client:${identityPrefix(appSid)}`;
  if (!twilioFrom?.startsWith(prefix)) return undefined;
  const userId = twilioFrom.slice(prefix.length);
  return isUserId(userId) ? userId : undefined;
}
