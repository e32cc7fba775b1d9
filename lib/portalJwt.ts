/**
 * The portal's bearer tokens: HS256 JWTs the mobile apps already hold, issued by the
 * legacy web2py portal (`{"alg": "HS256", "typ": "JWT"}` with spaces, float iat/exp,
 * `user.id`) or by jose/jsonwebtoken (`sub`). Verification only; nothing here does I/O.
 */
import { type JWTPayload, jwtVerify } from 'jose';
import { JWSSignatureVerificationFailed, JWTClaimValidationFailed } from 'jose/errors';
import { isUserId } from './identity.js';

export { isUserId };

export const MAX_TOKEN_LENGTH = 4096;
export const CLOCK_TOLERANCE_SECONDS = 30;
/** JWT_MAX_TTL's default (lib/config.ts): 30 days. */
export const DEFAULT_MAX_TTL_SECONDS = 2_592_000;

/** The token from an `Authorization: Bearer <token>` header, or undefined when malformed. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const parts = header.split(' ');
  if (parts.length !== 2) return undefined;
  const [scheme, token] = parts as [string, string];
  if (scheme.toLowerCase() !== 'bearer' || token === '' || token.length > MAX_TOKEN_LENGTH) return undefined;
  return token;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;
/** Characters whose 6 bits end in 2 zero bits (a segment of length 3 mod 4 ends in one). */
const LOW_2_ZERO = /[AEIMQUYcgkosw048]$/;
/** Characters whose 6 bits end in 4 zero bits (a segment of length 2 mod 4 ends in one). */
const LOW_4_ZERO = /[AQgw]$/;
/** An HMAC-SHA256 is 32 bytes: 43 characters, the last carrying 2 unused bits that are zero. */
const HS256_SIGNATURE = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/**
 * Whether `segment` is the one base64url text of the bytes it decodes to: base64url alphabet
 * only (no `+`, `/`, `=` or whitespace), not of length 1 mod 4, unused trailing bits zero.
 * Decoders (atob, Buffer, Uint8Array.fromBase64) accept all of those, so without this many
 * strings decode to the same bytes.
 */
export function isCanonicalBase64url(segment: string): boolean {
  if (!BASE64URL.test(segment)) return false;
  switch (segment.length % 4) {
    case 0:
      return true;
    case 2:
      return LOW_4_ZERO.test(segment);
    case 3:
      return LOW_2_ZERO.test(segment);
    default:
      return false;
  }
}

/**
 * One token, one string: three segments, each the canonical base64url of its bytes, the
 * third an HS256 signature (32 bytes). jose decodes leniently (padding, non-zero trailing
 * bits, and on Node before `Uint8Array.fromBase64` whitespace too), so without this one
 * signed token has many spellings, each its own entry in API Gateway's authorizer cache
 * (keyed by the Authorization header). Runs before jose.
 */
export function isCanonicalCompactJws(token: string): boolean {
  const segments = token.split('.');
  if (segments.length !== 3) return false;
  const [header, payload, signature] = segments as [string, string, string];
  return isCanonicalBase64url(header) && isCanonicalBase64url(payload) && HS256_SIGNATURE.test(signature);
}

/** A token whose shape may be valid (a canonical compact JWS): what the checker judges. */
export type WellFormedToken = string & { readonly __wellFormed: unique symbol };

type TokenShape =
  | { readonly token: WellFormedToken }
  | { readonly token?: undefined; readonly reason: 'non-canonical encoding' | 'bad token' };

/** `segment`'s bytes as a JSON object, else undefined. */
function jsonObjectIn(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the (canonical) token's header is a JSON object naming HS256 and its payload is not
 * empty. The payload is left to jose: parsing it here too measured ≈ 2 µs more a request
 * (a third of the authorizer's floor), and a forged payload passes any keyless check anyway.
 */
function isHs256Jwt(token: string): boolean {
  const [header = '', payload = ''] = token.split('.');
  return payload.length > 0 && jsonObjectIn(header)?.alg === 'HS256';
}

/**
 * The token when its shape may be valid, else why it never can be, whatever the keys: a
 * canonical compact JWS whose header is a JSON object with `alg` HS256 and whose payload is
 * not empty (anything else jose would refuse after the secrets were read).
 */
export function tokenShape(token: string): TokenShape {
  if (!isCanonicalCompactJws(token)) {
    return { reason: token.split('.').length === 3 ? 'non-canonical encoding' : 'bad token' };
  }
  return isHs256Jwt(token) ? { token: token as WellFormedToken } : { reason: 'bad token' };
}

export type HeaderShape =
  | { readonly token: WellFormedToken }
  | { readonly token?: undefined; readonly reason: DenyReason };

/**
 * The token an `Authorization` header carries when it may be a valid portal token, else why
 * it never can be (`malformed header`, or the token's shape problem). Needs no key and does
 * no I/O, so the authorizer denies such a header before it reads the secrets: while they
 * cannot be had, what an anonymous caller sends is still a plain deny, not a failure.
 */
export function tokenFromHeader(header: string | undefined): HeaderShape {
  const token = bearerToken(header);
  return token === undefined ? { reason: 'malformed header' } : tokenShape(token);
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

/** What a token must carry beyond a good signature (JWT_ISSUER, JWT_AUDIENCE, JWT_MAX_TTL). */
export interface ClaimRules {
  /** When set, `iss` must equal it. */
  readonly issuer?: string | undefined;
  /** When set, `aud` must be it or an array containing it. */
  readonly audience?: string | undefined;
  /** `exp` at most this many seconds ahead of now (plus the clock tolerance). */
  readonly maxTtlSeconds: number;
}

export const DEFAULT_CLAIM_RULES: ClaimRules = { maxTtlSeconds: DEFAULT_MAX_TTL_SECONDS };

/**
 * Why a token was denied: a fixed set of names (each a kind of the capped log), never
 * anything taken from the token.
 */
export type DenyReason =
  /** The Authorization header is not `Bearer <token>` (`bearerToken`). */
  | 'malformed header'
  | 'non-canonical encoding'
  | 'bad token'
  | 'wrong issuer'
  | 'wrong audience'
  | 'exp not finite'
  | 'exp too far ahead'
  | 'iat not finite'
  | 'iat in the future'
  | 'bad user id';

export type TokenVerdict = { readonly userId: string } | { readonly userId?: undefined; readonly reason: DenyReason };

/** The rules jose does not check: `exp` finite and not too far ahead, `iat` finite and not ahead. */
export function claimTimeProblem(payload: JWTPayload, rules: ClaimRules, now: Date): DenyReason | undefined {
  const nowSeconds = now.getTime() / 1000;
  const { exp, iat } = payload;
  // jose has checked that both are numbers (exp required); JSON's 1e400 parses to Infinity.
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return 'exp not finite';
  if (exp > nowSeconds + rules.maxTtlSeconds + CLOCK_TOLERANCE_SECONDS) return 'exp too far ahead';
  if (iat !== undefined) {
    if (typeof iat !== 'number' || !Number.isFinite(iat)) return 'iat not finite';
    if (iat > nowSeconds + CLOCK_TOLERANCE_SECONDS) return 'iat in the future';
  }
  return undefined;
}

/** Judges a token already found well formed (tokenShape, tokenFromHeader): its shape is checked once. */
export type PortalTokenChecker = (token: WellFormedToken, now?: Date) => Promise<TokenVerdict>;
export type PortalTokenVerifier = (token: string, now?: Date) => Promise<string | undefined>;

type VerificationKey = Awaited<ReturnType<typeof importHmacKey>>;

function importHmacKey(secret: string) {
  return crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'verify',
  ]);
}

/** The verdict for one key, or 'other key' when only the signature failed (another key may fit). */
async function verdictFor(
  token: string,
  key: VerificationKey,
  rules: ClaimRules,
  now: Date,
): Promise<TokenVerdict | 'other key'> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: ['HS256'],
      requiredClaims: ['exp'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: now,
      ...(rules.issuer === undefined ? {} : { issuer: rules.issuer }),
      ...(rules.audience === undefined ? {} : { audience: rules.audience }),
    }));
  } catch (error) {
    if (error instanceof JWSSignatureVerificationFailed) return 'other key';
    if (error instanceof JWTClaimValidationFailed && error.claim === 'iss') return { reason: 'wrong issuer' };
    if (error instanceof JWTClaimValidationFailed && error.claim === 'aud') return { reason: 'wrong audience' };
    return { reason: 'bad token' };
  }
  const problem = claimTimeProblem(payload, rules, now);
  if (problem !== undefined) return { reason: problem };
  const userId = userIdFromClaims(payload);
  return userId === undefined ? { reason: 'bad user id' } : { userId };
}

/**
 * A checker for the current secret and, during a rotation, the previous one. Keys are
 * imported once here, not per request (halves the cost of a verify). A token whose
 * signature one key verifies is judged by that key alone.
 */
export function portalTokenChecker(
  secret: string,
  previousSecret?: string,
  rules: ClaimRules = DEFAULT_CLAIM_RULES,
): PortalTokenChecker {
  const keys = Promise.all([secret, previousSecret].filter((s): s is string => !!s).map(importHmacKey));
  return async (token, now = new Date()) => {
    for (const key of await keys) {
      const verdict = await verdictFor(token, key, rules, now);
      if (verdict !== 'other key') return verdict;
    }
    return { reason: 'bad token' };
  };
}

/** The same, answering only the user id (undefined for any denial). */
export function portalTokenVerifier(
  secret: string,
  previousSecret?: string,
  rules: ClaimRules = DEFAULT_CLAIM_RULES,
): PortalTokenVerifier {
  const check = portalTokenChecker(secret, previousSecret, rules);
  return async (token, now) => {
    const shape = tokenShape(token);
    return shape.token === undefined ? undefined : (await check(shape.token, now)).userId;
  };
}

let current:
  | { secret: string; previousSecret: string | undefined; rules: ClaimRules; check: PortalTokenChecker }
  | undefined;

const sameRules = (a: ClaimRules, b: ClaimRules) =>
  a.issuer === b.issuer && a.audience === b.audience && a.maxTtlSeconds === b.maxTtlSeconds;

/** The checker for these secrets and rules, made again only when they change (on rotation). */
export function checkerFor(secret: string, previousSecret: string | undefined, rules: ClaimRules): PortalTokenChecker {
  if (current?.secret !== secret || current.previousSecret !== previousSecret || !sameRules(current.rules, rules)) {
    current = { secret, previousSecret, rules: { ...rules }, check: portalTokenChecker(secret, previousSecret, rules) };
  }
  return current.check;
}
