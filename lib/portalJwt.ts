/**
 * The portal's bearer tokens: HS256 JWTs the mobile apps already hold, issued by the
 * legacy web2py portal (`{"alg": "HS256", "typ": "JWT"}` with spaces, float iat/exp,
 * `user.id`) or by jose/jsonwebtoken (`sub`). Verification only; nothing here does I/O.
 */
import { type JWTPayload, jwtVerify } from 'jose';

export const MAX_TOKEN_LENGTH = 4096;
export const CLOCK_TOLERANCE_SECONDS = 30;

/** The token from an `Authorization: Bearer <token>` header, or undefined when malformed. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const parts = header.split(' ');
  if (parts.length !== 2) return undefined;
  const [scheme, token] = parts as [string, string];
  if (scheme.toLowerCase() !== 'bearer' || token === '' || token.length > MAX_TOKEN_LENGTH) return undefined;
  return token;
}

const USER_ID_STRING = /^[A-Za-z0-9_]{1,64}$/;

/** The user id form everything downstream relies on (it becomes part of a Twilio identity). */
export function isUserId(value: unknown): value is string {
  return typeof value === 'string' && USER_ID_STRING.test(value);
}

/** `user.id`, else `sub`: a positive safe integer or 1-64 of [A-Za-z0-9_]; else undefined. */
export function userIdFromClaims(payload: JWTPayload): string | undefined {
  const user = payload.user;
  const candidate =
    user !== null && typeof user === 'object' && !Array.isArray(user) && 'id' in user
      ? (user as { id: unknown }).id
      : payload.sub;
  if (typeof candidate === 'number') {
    return Number.isSafeInteger(candidate) && candidate > 0 ? String(candidate) : undefined;
  }
  if (isUserId(candidate)) return candidate;
  return undefined;
}

export type PortalTokenVerifier = (token: string, now?: Date) => Promise<string | undefined>;

type VerificationKey = Awaited<ReturnType<typeof importHmacKey>>;

function importHmacKey(secret: string) {
  return crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'verify',
  ]);
}

async function verifiedUserId(token: string, key: VerificationKey, now: Date | undefined): Promise<string | undefined> {
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: ['HS256'],
      requiredClaims: ['exp'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      ...(now ? { currentDate: now } : {}),
    });
    return userIdFromClaims(payload);
  } catch {
    return undefined;
  }
}

/**
 * A verifier for the current secret and, during a rotation, the previous one. Keys are
 * imported once here, not per request (halves the cost of a verify).
 */
export function portalTokenVerifier(secret: string, previousSecret?: string): PortalTokenVerifier {
  const keys = Promise.all([secret, previousSecret].filter((s): s is string => !!s).map(importHmacKey));
  return async (token, now) => {
    for (const key of await keys) {
      const userId = await verifiedUserId(token, key, now);
      if (userId !== undefined) return userId;
    }
    return undefined;
  };
}

let current: { secret: string; previousSecret: string | undefined; verify: PortalTokenVerifier } | undefined;

/** The verifier for these secrets, made again only when they change (on rotation). */
export function verifierFor(secret: string, previousSecret: string | undefined): PortalTokenVerifier {
  if (current?.secret !== secret || current.previousSecret !== previousSecret) {
    current = { secret, previousSecret, verify: portalTokenVerifier(secret, previousSecret) };
  }
  return current.verify;
}
