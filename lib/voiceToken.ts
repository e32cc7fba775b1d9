/**
 * Twilio Voice access tokens for the apps, as the legacy controller issued them:
 * identity `<TwiML app SID>_uid<user id>`, a VoiceGrant for outgoing calls through the
 * TwiML app and incoming calls by push on the app's platform.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';
import AccessToken from 'twilio/lib/jwt/AccessToken.js';
import { shown } from './alerts.js';
import type { Config } from './config.js';
import { identityPrefix } from './identity.js';
import { PLATFORMS } from './metricNames.js';

/** The apps' push platforms: also TokenIssued's Platform dimension. */
export const PUSH_PLATFORMS = PLATFORMS;
export type PushPlatform = (typeof PUSH_PLATFORMS)[number];

export function isPushPlatform(value: unknown): value is PushPlatform {
  return (PUSH_PLATFORMS as readonly unknown[]).includes(value);
}

export type VoiceTokenConfig = Pick<
  Config,
  | 'TWILIO_ACCOUNT_SID'
  | 'TWILIO_ML_APP_SID'
  | 'TWILIO_ML_APNS_CERT_SID'
  | 'TWILIO_ML_FCM_CERT_SID'
  | 'TWILIO_TOKEN_TTL'
  | 'TWILIO_API_KEY'
  | 'TWILIO_API_KEY_SECRET'
>;

/** The most parameter names an invalid-parameters alert lists. */
const NAMES_SHOWN = 10;

/**
 * What the invalid-parameters alert says of the request: `type` as sent (cut), and the names
 * of the other parameters, never their values. The legacy controller posted every field, and
 * an app that also sends its bearer token in the query (web2py's `_token`, OAuth's
 * `access_token`) would have put it in Slack.
 */
export function invalidParametersMeta(query: Record<string, string | undefined> | undefined) {
  const others = Object.keys(query ?? {})
    .filter((name) => name !== 'type')
    .sort();
  return {
    type: shown(query?.type) ?? null,
    ...(others.length > 0 ? { otherParameters: others.slice(0, NAMES_SHOWN).map((name) => shown(name)) } : {}),
  };
}

export function pushCredentialSid(platform: PushPlatform, config: VoiceTokenConfig): string {
  return platform === 'apns' ? config.TWILIO_ML_APNS_CERT_SID : config.TWILIO_ML_FCM_CERT_SID;
}

// jsonwebtoken re-derives a key from a string secret on every sign (~740 µs); a KeyObject
// made once signs in ~30 µs. Keep the last one: the secret changes only on rotation.
let signingKey: { secret: string; key: KeyObject } | undefined;
function signingKeyFor(secret: string): KeyObject {
  if (signingKey?.secret !== secret) signingKey = { secret, key: createSecretKey(Buffer.from(secret, 'utf8')) };
  return signingKey.key;
}

export interface IssuedVoiceToken {
  token: string;
  identity_prefix: string;
  /** Seconds the token is valid (TWILIO_TOKEN_TTL): the app refreshes it before placing a call. */
  expires_in: number;
}

export function issueVoiceToken(config: VoiceTokenConfig, userId: string, platform: PushPlatform): IssuedVoiceToken {
  const prefix = identityPrefix(config.TWILIO_ML_APP_SID);
  const accessToken = new AccessToken(
    config.TWILIO_ACCOUNT_SID,
    config.TWILIO_API_KEY,
    // AccessToken passes the secret straight to jsonwebtoken, which also takes a KeyObject.
    signingKeyFor(config.TWILIO_API_KEY_SECRET) as unknown as string,
    { identity: prefix + userId, ttl: config.TWILIO_TOKEN_TTL },
  );
  accessToken.addGrant(
    new AccessToken.VoiceGrant({
      pushCredentialSid: pushCredentialSid(platform, config),
      outgoingApplicationSid: config.TWILIO_ML_APP_SID,
    }),
  );
  return { token: accessToken.toJwt(), identity_prefix: prefix, expires_in: config.TWILIO_TOKEN_TTL };
}
