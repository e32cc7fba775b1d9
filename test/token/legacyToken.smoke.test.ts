import { describe, expect, it } from 'vitest';
import { portalTokenVerifier } from '../../lib/portalJwt.js';
import { legacyPortalToken } from '../support/portalTokens.js';

const SECRET = 'a-test-jwt-secret-of-some-length';

describe('portal tokens', () => {
  it('accepts a legacy web2py token (spaced header, float iat/exp) and reads user.id', async () => {
    const token = legacyPortalToken(42, SECRET);
    expect(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()).toBe('{"alg": "HS256", "typ": "JWT"}');
    expect(await portalTokenVerifier(SECRET)(token)).toBe('42');
  });
});
