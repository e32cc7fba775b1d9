/**
 * Tokens as the apps hold them. `legacyPortalToken` reproduces web2py AuthJWT's bytes
 * (`{"alg": "HS256", "typ": "JWT"}` with spaces, float iat/exp) with a plain HMAC, so
 * the test does not depend on the library under test to make its input.
 */
import { createHmac } from 'node:crypto';

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

/** Signs arbitrary header and payload text with HMAC-SHA256 (or any digest) as given. */
export function signRaw(headerJson: string, payloadJson: string, secret: string, digest = 'sha256'): string {
  const signingInput = `${b64url(headerJson)}.${b64url(payloadJson)}`;
  return `${signingInput}.${createHmac(digest, secret).update(signingInput).digest('base64url')}`;
}

/** Python's json.dumps separators: ", " and ": ". */
function pythonJson(value: unknown): string {
  return JSON.stringify(value).replace(/","/g, '", "').replace(/":/g, '": ').replace(/,"/g, ', "');
}

export function legacyPortalToken(userId: unknown, secret: string, nowSeconds = Date.now() / 1000, ttl = 3600): string {
  const iat = nowSeconds + 0.123456;
  const payload = {
    iat,
    exp: iat + ttl,
    iss: 'Metropia Auth',
    user: { id: userId, email: 'rider@example.com', first_name: 'Ri', last_name: 'Der' },
    user_groups: { '3': 'user' },
    hmac_key: '',
  };
  return signRaw('{"alg": "HS256", "typ": "JWT"}', pythonJson(payload), secret);
}
