/** The pure parts of the authorizer: reading the header, the token's spelling, its times and the user id. */
import { randomBytes } from 'node:crypto';
import { CompactSign, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  bearerToken,
  CLOCK_TOLERANCE_SECONDS,
  claimTimeProblem,
  DEFAULT_CLAIM_RULES,
  isCanonicalBase64url,
  isCanonicalCompactJws,
  tokenFromHeader,
  userIdFromClaims,
} from '../../lib/portalJwt.js';
import { signRaw } from '../support/portalTokens.js';

describe('bearerToken: scheme Bearer (any case), exactly two parts, at most 4096 characters', () => {
  it.each([
    ['Bearer abc.def.ghi', 'abc.def.ghi'],
    ['bearer abc.def.ghi', 'abc.def.ghi'],
    ['BeArEr abc.def.ghi', 'abc.def.ghi'],
    [`Bearer ${'a'.repeat(4096)}`, 'a'.repeat(4096)],
  ])('reads the token from %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['the scheme alone', 'Bearer'],
    ['an empty token', 'Bearer '],
    ['two spaces', 'Bearer  abc.def.ghi'],
    ['three parts', 'Bearer abc.def.ghi more'],
    ['another scheme', 'Basic abc.def.ghi'],
    ['no scheme', 'abc.def.ghi'],
    ['"Bearer:" with a colon', 'Bearer: abc.def.ghi'],
    ['a token of 4097 characters', `Bearer ${'a'.repeat(4097)}`],
  ])('reads nothing from %s', (_kind, header) => {
    expect(bearerToken(header)).toBeUndefined();
  });
});

describe('userIdFromClaims: user.id, else sub; a positive safe integer or 1-64 of [A-Za-z0-9_]', () => {
  it.each([
    ['user.id 42', { user: { id: 42 } }, '42'],
    ['user.id "42"', { user: { id: '42' } }, '42'],
    ['sub "42" without user', { sub: '42' }, '42'],
    ['sub when user has no id', { user: { name: 'x' }, sub: 'abc_9' }, 'abc_9'],
    ['user.id over sub', { user: { id: 7 }, sub: '8' }, '7'],
    ['the largest safe integer', { user: { id: Number.MAX_SAFE_INTEGER } }, String(Number.MAX_SAFE_INTEGER)],
  ])('reads %s', (_kind, claims, userId) => {
    expect(userIdFromClaims(claims)).toBe(userId);
  });

  it.each([
    ['neither user.id nor sub', {}],
    ['user.id 0', { user: { id: 0 } }],
    ['user.id -1', { user: { id: -1 } }],
    ['user.id 1.5', { user: { id: 1.5 } }],
    ['user.id NaN-like string', { user: { id: 'NaN!' } }],
    ['user.id 2^53', { user: { id: 2 ** 53 } }],
    ['user.id "4;2"', { user: { id: '4;2' } }],
    ['user.id {}', { user: { id: {} } }],
    ['user.id []', { user: { id: [] } }],
    ['user.id of 65 characters', { user: { id: 'x'.repeat(65) } }],
    ['sub with a slash', { sub: 'a/b' }],
    ['sub with a space', { sub: 'a b' }],
    ['user an array', { user: [42] }],
  ])('rejects %s', (_kind, claims) => {
    expect(userIdFromClaims(claims)).toBeUndefined();
  });
});

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** The reference: a segment is canonical when decoding and encoding again gives it back. */
const reencodes = (segment: string) => Buffer.from(segment, 'base64url').toString('base64url') === segment;

describe('isCanonicalBase64url: exactly the segments that decode and re-encode to themselves', () => {
  const stems = ['', 'e', 'ey', 'eyJ', 'eyJh', 'eyJhb', 'eyJhbG', 'eyJhbGc'];
  const lasts = [...ALPHABET, '=', '+', '/', ' ', '\t', '.', '~'];

  it.each(stems)('agrees with the re-encoding for every last character after %j', (stem) => {
    for (const last of lasts) {
      expect([stem + last, isCanonicalBase64url(stem + last)]).toEqual([stem + last, reencodes(stem + last)]);
      expect([`${stem + last}=`, isCanonicalBase64url(`${stem + last}=`)]).toEqual([`${stem + last}=`, false]);
    }
  });

  it('accepts the encoding of 0 to 64 random bytes, 500 times', () => {
    for (let i = 0; i < 500; i++) {
      const segment = randomBytes(i % 65).toString('base64url');
      expect([segment, isCanonicalBase64url(segment)]).toEqual([segment, true]);
    }
  });

  it.each([
    ['padding "="', 'eyJhbGciOiJIUzI1NiJ9eQ=='],
    ['non-zero trailing bits (length 2 mod 4)', 'eR'],
    ['non-zero trailing bits (length 3 mod 4)', 'eyK'],
    ['length 1 mod 4', 'eyJhb'],
    ['"+" from the standard alphabet', 'ab+c'],
    ['"/" from the standard alphabet', 'ab/c'],
    ['a space', 'ey Jh'],
    ['a tab', 'ey\tJh'],
    ['a newline', 'eyJh\n'],
  ])('rejects %s', (_kind, segment) => {
    expect(isCanonicalBase64url(segment)).toBe(false);
  });
});

const SECRET = 'current-portal-jwt-secret-0001';
const GOOD = signRaw('{"alg":"HS256","typ":"JWT"}', '{"sub":"42","exp":1748782800}', SECRET);
const [HEADER, PAYLOAD, SIGNATURE] = GOOD.split('.') as [string, string, string];
/** The same signature bytes spelled with the last character's two unused bits set. */
const trailingBits = (signature: string, bits: 1 | 2 | 3) =>
  signature.slice(0, -1) + ALPHABET[ALPHABET.indexOf(signature.at(-1) as string) + bits];

describe('isCanonicalCompactJws: three canonical segments, the third 43 characters (32 bytes)', () => {
  it('accepts a token as HMAC-SHA256 and base64url write it', () => {
    expect(isCanonicalCompactJws(GOOD)).toBe(true);
  });

  it('the canonical signature is 43 characters ending in one of AEIMQUYcgkosw048', () => {
    expect(SIGNATURE).toMatch(/^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/);
  });

  it.each([
    ['a signature padded with "="', `${HEADER}.${PAYLOAD}.${SIGNATURE}=`],
    ['a signature with its trailing bits changed (+1)', `${HEADER}.${PAYLOAD}.${trailingBits(SIGNATURE, 1)}`],
    ['a signature with its trailing bits changed (+2)', `${HEADER}.${PAYLOAD}.${trailingBits(SIGNATURE, 2)}`],
    ['a signature with its trailing bits changed (+3)', `${HEADER}.${PAYLOAD}.${trailingBits(SIGNATURE, 3)}`],
    ['a signature of 42 characters', `${HEADER}.${PAYLOAD}.${SIGNATURE.slice(0, 42)}`],
    ['a signature of 44 characters', `${HEADER}.${PAYLOAD}.${SIGNATURE}A`],
    ['an HS512 signature (64 bytes)', signRaw('{"alg":"HS512"}', '{"sub":"42"}', SECRET, 'sha512')],
    ['a tab inside the signature', `${HEADER}.${PAYLOAD}.${SIGNATURE.slice(0, 9)}\t${SIGNATURE.slice(9)}`],
    ['a padded header', `${HEADER}=.${PAYLOAD}.${SIGNATURE}`],
    ['a padded payload', `${HEADER}.${PAYLOAD}=.${SIGNATURE}`],
    ['two segments', `${HEADER}.${PAYLOAD}`],
    ['four segments', `${GOOD}.${SIGNATURE}`],
  ])('rejects %s', (_kind, token) => {
    expect(isCanonicalCompactJws(token)).toBe(false);
  });
});

describe('tokenFromHeader: the token when it may be valid, else why it never can be (no key needed)', () => {
  const SIGNATURE = GOOD.split('.')[2] ?? '';
  const json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  it('gives the token of a well-formed header', () => {
    expect(tokenFromHeader(`Bearer ${GOOD}`)).toEqual({ token: GOOD });
  });

  it.each([
    ['no header', undefined, 'malformed header'],
    ['another scheme', `Basic ${GOOD}`, 'malformed header'],
    ['a token of 4097 characters', `Bearer ${'a'.repeat(4097)}`, 'malformed header'],
    ['junk', 'Bearer junk', 'bad token'],
    ['two segments', `Bearer ${HEADER}.${PAYLOAD}`, 'bad token'],
    ['a signature padded with "="', `Bearer ${GOOD}=`, 'non-canonical encoding'],
    ['an empty signature', `Bearer ${HEADER}.${PAYLOAD}.`, 'non-canonical encoding'],
    ['empty header and payload segments', `Bearer ..${SIGNATURE}`, 'bad token'],
    ['a header naming another algorithm', `Bearer ${json({ alg: 'none' })}.${PAYLOAD}.${SIGNATURE}`, 'bad token'],
    [
      'a header that is not JSON',
      `Bearer ${Buffer.from('alg').toString('base64url')}.${PAYLOAD}.${SIGNATURE}`,
      'bad token',
    ],
    ['an empty payload', `Bearer ${HEADER}..${SIGNATURE}`, 'bad token'],
  ])('denies %s', (_kind, header, reason) => {
    expect(tokenFromHeader(header)).toEqual({ reason });
  });
});

/**
 * What jose 6 does by itself, measured here (Node 20 decodes with atob; Node with
 * Uint8Array.fromBase64 decodes in its "loose" mode, as lenient). These are why the
 * authorizer checks the spelling and the times itself.
 */
describe('jose alone (why the authorizer checks more)', () => {
  const key = new TextEncoder().encode(SECRET);
  const verify = (token: string) =>
    jwtVerify(token, key, { algorithms: ['HS256'], currentDate: new Date(1748779200_000) }).then(
      ({ payload }) => payload,
      () => undefined,
    );

  it.each([
    ['a signature padded with "="', `${HEADER}.${PAYLOAD}.${SIGNATURE}=`],
    ['a signature with its trailing bits changed', `${HEADER}.${PAYLOAD}.${trailingBits(SIGNATURE, 1)}`],
    ['a tab inside the signature', `${HEADER}.${PAYLOAD}.${SIGNATURE.slice(0, 9)}\t${SIGNATURE.slice(9)}`],
  ])('accepts %s', async (_kind, token) => {
    expect(await verify(token)).toEqual({ sub: '42', exp: 1748782800 });
  });

  it('accepts exp 1e400 (JSON.parse makes it Infinity: never expires)', async () => {
    const token = await new CompactSign(new TextEncoder().encode('{"sub":"42","exp":1e400}'))
      .setProtectedHeader({ alg: 'HS256' })
      .sign(key);

    expect(await verify(token)).toEqual({ sub: '42', exp: Number.POSITIVE_INFINITY });
  });

  it('accepts iat an hour in the future (it checks iat only with maxTokenAge)', async () => {
    const token = signRaw('{"alg":"HS256"}', '{"sub":"42","exp":1748782800,"iat":1748782800}', SECRET);

    expect(await verify(token)).toEqual({ sub: '42', exp: 1748782800, iat: 1748782800 });
  });
});

describe('claimTimeProblem: exp finite and at most the max TTL ahead, iat finite and not ahead', () => {
  const now = new Date('2025-06-01T12:00:00Z');
  const nowS = now.getTime() / 1000;
  const rules = { maxTtlSeconds: 3600 };
  const tolerance = CLOCK_TOLERANCE_SECONDS;

  it.each([
    ['exp an hour ahead', { exp: nowS + 3600 }],
    ['exp the max TTL plus the tolerance ahead', { exp: nowS + 3600 + tolerance }],
    ['float exp and iat (the legacy portal)', { exp: nowS + 3599.123456, iat: nowS + 0.123456 }],
    ['iat the tolerance ahead', { exp: nowS + 60, iat: nowS + tolerance }],
    ['no iat', { exp: nowS + 60 }],
  ])('accepts %s', (_kind, claims) => {
    expect(claimTimeProblem(claims, rules, now)).toBeUndefined();
  });

  it.each([
    ['exp Infinity (1e400 in the JSON)', { exp: Number.POSITIVE_INFINITY }, 'exp not finite'],
    ['exp NaN', { exp: Number.NaN }, 'exp not finite'],
    ['exp 1e300', { exp: 1e300 }, 'exp too far ahead'],
    ['exp 1 s beyond the max TTL plus the tolerance', { exp: nowS + 3600 + tolerance + 1 }, 'exp too far ahead'],
    ['iat Infinity', { exp: nowS + 60, iat: Number.POSITIVE_INFINITY }, 'iat not finite'],
    ['iat -Infinity', { exp: nowS + 60, iat: Number.NEGATIVE_INFINITY }, 'iat not finite'],
    ['iat 1 s beyond the tolerance ahead', { exp: nowS + 60, iat: nowS + tolerance + 1 }, 'iat in the future'],
  ])('rejects %s as %j', (_kind, claims, reason) => {
    expect(claimTimeProblem(claims, rules, now)).toBe(reason);
  });

  it('allows 30 days by default', () => {
    expect(DEFAULT_CLAIM_RULES.maxTtlSeconds).toBe(30 * 86400);
  });
});
