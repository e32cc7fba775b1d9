/**
 * Tokens as the apps hold them. `legacyPortalToken` reproduces web2py AuthJWT's bytes
 * (`{"alg": "HS256", "typ": "JWT"}` with spaces, float iat/exp) with a plain HMAC, so
 * the test does not depend on the library under test to make its input.
 */
import { createHmac } from 'node:crypto';

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

/** Signs arbitrary header and payload text with HMAC-SHA256 (or any digest) as given. */
export function signRaw(headerJson: string, payloadJson: string, secret: string, digest = 'sha256'): string {
  return signSegments(b64url(headerJson), b64url(payloadJson), secret, digest);
}

/** Signs header and payload segments given already encoded, however they are spelled. */
export function signSegments(header: string, payload: string, secret: string, digest = 'sha256'): string {
  const signingInput = `${header}.${payload}`;
  return `${signingInput}.${createHmac(digest, secret).update(signingInput).digest('base64url')}`;
}

/** Python's json.dumps separators: ", " and ": ". */
function pythonJson(value: unknown): string {
  return JSON.stringify(value).replace(/","/g, '", "').replace(/":/g, '": ').replace(/,"/g, ', "');
}

export interface LegacyTokenOptions {
  /** Claims added to the portal's payload, or replacing its own (undefined removes one: e.g. `iss`). */
  claims?: Record<string, unknown>;
  /**
   * Claims written as exactly this JSON text, e.g. `{ exp: '1e400' }`: JSON.stringify cannot
   * write a number that parses to Infinity.
   */
  rawClaims?: Record<string, string>;
}

/** Python's json.dumps of the payload, with `rawClaims` put in as given. */
function payloadText(payload: Record<string, unknown>, rawClaims: Record<string, string>): string {
  const placeholders = Object.keys(rawClaims).map((name, i) => [name, `@raw${i}@`] as const);
  let text = pythonJson({ ...payload, ...Object.fromEntries(placeholders) });
  for (const [name, placeholder] of placeholders) text = text.replace(`"${placeholder}"`, rawClaims[name] as string);
  return text;
}

/**
 * A token as the web2py portal signs it: iss "Metropia Auth", no aud, float iat (now +
 * 0.123456) and exp (iat + ttl).
 */
export function legacyPortalToken(
  userId: unknown,
  secret: string,
  nowSeconds = Date.now() / 1000,
  ttl = 3600,
  options: LegacyTokenOptions = {},
): string {
  const iat = nowSeconds + 0.123456;
  const payload = {
    iat,
    exp: iat + ttl,
    iss: 'Metropia Auth',
    user: { id: userId, email: 'rider@example.com', first_name: 'Ri', last_name: 'Der' },
    user_groups: { '3': 'user' },
    hmac_key: '',
    ...options.claims,
  };
  return signRaw('{"alg": "HS256", "typ": "JWT"}', payloadText(payload, options.rawClaims ?? {}), secret);
}
