/** The pure parts of the authorizer: reading the header and the user id. */
import { describe, expect, it } from 'vitest';
import { bearerToken, userIdFromClaims } from '../../lib/portalJwt.js';

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
