import { generateKeyPairSync, sign } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/authorizer.js';
import type { Env } from '../../lib/config.js';
import { configLoader } from '../../lib/functionConfig.js';
import { FUNCTION_FIELDS } from '../../lib/functionFields.js';
import { openGate } from '../support/gates.js';
import { legacyPortalToken, signRaw } from '../support/portalTokens.js';
import { recordingLog } from '../support/recordingLog.js';
import { useSecretsManagerEndpoint } from '../support/secretsManagerEndpoint.js';
import { authorizerRequest } from './events.js';

const SECRET = 'current-portal-jwt-secret-0001';
const PREVIOUS_SECRET = 'previous-portal-jwt-secret-0002';
const NOW = new Date('2025-06-01T12:00:00Z');
const NOW_S = NOW.getTime() / 1000;
const ALLOW_42 = { isAuthorized: true, context: { userId: '42' } };
const DENY = { isAuthorized: false };

function authorizer(env: Env = { JWT_SECRET: SECRET }) {
  const log = recordingLog();
  const handler = createHandler({
    config: configLoader(FUNCTION_FIELDS.authorizer, env),
    log,
    alert: async () => undefined,
    logGate: openGate,
    now: () => NOW,
  });
  return { handler, log };
}

const b64url = (text: string) => Buffer.from(text).toString('base64url');
const HS256 = '{"alg":"HS256","typ":"JWT"}';
const claims = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ iat: NOW_S, exp: NOW_S + 3600, user: { id: 42 }, ...extra });
/** A correctly signed HS256 token with these payload claims. */
const signed = (extra: Record<string, unknown> = {}, secret = SECRET) => signRaw(HS256, claims(extra), secret);
const GOOD = signed();

function rs256Token(): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const input = `${b64url('{"alg":"RS256","typ":"JWT"}')}.${b64url(claims())}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

/** A correctly signed token padded to exactly `length` characters. */
function tokenOfLength(length: number): string {
  for (const header of [HS256, '{"alg":"HS256"}', '{"alg": "HS256"}', '{"typ":"JWT","alg":"HS256"}']) {
    for (let pad = 0; pad < length; pad++) {
      const token = signRaw(header, claims({ pad: 'x'.repeat(pad) }), SECRET);
      if (token.length === length) return token;
      if (token.length > length) break;
    }
  }
  throw new Error(`no token of length ${length}`);
}

// Each kind of bad token or bad Authorization header the issue lists (and a few more).
const BAD_AUTHORIZATION: [string, () => string | undefined][] = [
  ['alg "none" with an empty signature', () => `${b64url('{"alg":"none","typ":"JWT"}')}.${b64url(claims())}.`],
  [
    'HS384 signed with the right secret (only HS256 is allowed)',
    () => signRaw('{"alg":"HS384"}', claims(), SECRET, 'sha384'),
  ],
  [
    'HS512 signed with the right secret (only HS256 is allowed)',
    () => signRaw('{"alg":"HS512"}', claims(), SECRET, 'sha512'),
  ],
  ['RS256 header over an HMAC of the secret (algorithm confusion)', () => signRaw('{"alg":"RS256"}', claims(), SECRET)],
  ['RS256 signed with a real RSA key', rs256Token],
  ['signed with a different secret', () => signed({}, 'some-other-secret-of-enough-length')],
  ['expired 31 s ago, beyond the 30 s tolerance', () => signed({ iat: NOW_S - 7200, exp: NOW_S - 31 })],
  ['exp missing', () => signRaw(HS256, JSON.stringify({ iat: NOW_S, user: { id: 42 } }), SECRET)],
  ['exp not a number', () => signed({ exp: String(NOW_S + 3600) })],
  ['nbf 60 s in the future', () => signed({ nbf: NOW_S + 60 })],
  ['two segments', () => GOOD.split('.').slice(0, 2).join('.')],
  ['four segments', () => `${GOOD}.${GOOD.split('.')[2]}`],
  ['header that is not base64url', () => `*${GOOD.slice(1)}`],
  ['payload that is not JSON', () => signRaw(HS256, 'user=42; exp=never', SECRET)],
  ['payload that is a JSON array', () => signRaw(HS256, '[42]', SECRET)],
  [
    'payload changed after signing',
    () => {
      const [header, , signature] = GOOD.split('.');
      return `${header}.${b64url(claims({ user: { id: 43 } }))}.${signature}`;
    },
  ],
  ['trailing garbage after the signature', () => `${GOOD}garbage`],
  ['a 5 KB token, correctly signed', () => tokenOfLength(5 * 1024)],
  ['user.id missing and no sub', () => signed({ user: { email: 'rider@example.com' } })],
  ['user.id 0', () => signed({ user: { id: 0 } })],
  ['user.id negative', () => signed({ user: { id: -42 } })],
  ['user.id 1.5', () => signed({ user: { id: 1.5 } })],
  ['user.id "4;2"', () => signed({ user: { id: '4;2' } })],
  ['user.id an object', () => signed({ user: { id: { id: 42 } } })],
  ['user.id an array', () => signed({ user: { id: [42] } })],
  ['user.id null', () => signed({ user: { id: null } })],
  ['user.id true', () => signed({ user: { id: true } })],
  ['user.id beyond the safe integers', () => signed({ user: { id: 2 ** 53 } })],
  ['user.id an empty string', () => signed({ user: { id: '' } })],
  ['user.id a string of 65 characters', () => signed({ user: { id: 'a'.repeat(65) } })],
  ['user.id with a trailing newline', () => signed({ user: { id: '42\n' } })],
  ['user.id with non-ASCII digits', () => signed({ user: { id: '４２' } })],
  ['sub with a path in it and no user', () => signed({ user: undefined, sub: '../42' })],
].map(([kind, token]) => [kind, () => `Bearer ${(token as () => string)()}`] as [string, () => string]);

const BAD_HEADERS: [string, () => string | undefined][] = [
  ['no Authorization header', () => undefined],
  ['empty bearer', () => 'Bearer '],
  ['the scheme alone', () => 'Bearer'],
  ['no scheme', () => GOOD],
  ['Basic scheme', () => `Basic ${GOOD}`],
  ['two spaces after the scheme', () => `Bearer  ${GOOD}`],
  ['a tab after the scheme', () => `Bearer\t${GOOD}`],
  ['a third part after the token', () => `Bearer ${GOOD} extra`],
  ['a leading space', () => ` Bearer ${GOOD}`],
];

describe('authorizer: bad tokens', () => {
  const { handler } = authorizer();

  it('has a corpus of at least 25 kinds of bad token', () => {
    expect(BAD_AUTHORIZATION.length + BAD_HEADERS.length).toBeGreaterThanOrEqual(25);
  });

  it.each([...BAD_AUTHORIZATION, ...BAD_HEADERS])('denies, without throwing, %s', async (_kind, authorization) => {
    const event = authorizerRequest(authorization());

    const result = handler(event);

    await expect(result).resolves.toEqual(DENY);
  });
});

describe('authorizer: good tokens', () => {
  const { handler } = authorizer();

  it('allows a valid token and passes the user id on as context.userId', async () => {
    const result = await handler(authorizerRequest(`Bearer ${GOOD}`));

    expect(result).toEqual(ALLOW_42);
  });

  it('accepts the scheme in lower case ("bearer")', async () => {
    const result = await handler(authorizerRequest(`bearer ${GOOD}`));

    expect(result).toEqual(ALLOW_42);
  });

  it('accepts the scheme in upper case ("BEARER")', async () => {
    const result = await handler(authorizerRequest(`BEARER ${GOOD}`));

    expect(result).toEqual(ALLOW_42);
  });

  it('accepts a legacy web2py portal token (spaced header, float iat/exp, user.id)', async () => {
    const token = legacyPortalToken(42, SECRET, NOW_S);

    const result = await handler(authorizerRequest(`Bearer ${token}`));

    expect(result).toEqual(ALLOW_42);
  });

  it('accepts a compact-header token made by jose, reading the user from sub', async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('42')
      .setIssuedAt(NOW_S)
      .setExpirationTime(NOW_S + 600)
      .sign(new TextEncoder().encode(SECRET));

    const result = await handler(authorizerRequest(`Bearer ${token}`));

    expect(result).toEqual(ALLOW_42);
  });

  it('reads sub when user has no id', async () => {
    const token = signed({ user: { email: 'rider@example.com' }, sub: '42' });

    const result = await handler(authorizerRequest(`Bearer ${token}`));

    expect(result).toEqual(ALLOW_42);
  });

  it('accepts a string user id of letters, digits and underscores', async () => {
    const token = signed({ user: { id: 'driver_123' } });

    const result = await handler(authorizerRequest(`Bearer ${token}`));

    expect(result).toEqual({ isAuthorized: true, context: { userId: 'driver_123' } });
  });

  it('accepts a string user id of exactly 64 characters', async () => {
    const id = 'u'.repeat(64);

    const result = await handler(authorizerRequest(`Bearer ${signed({ user: { id } })}`));

    expect(result).toEqual({ isAuthorized: true, context: { userId: id } });
  });

  it('accepts the largest safe integer as a user id', async () => {
    const result = await handler(authorizerRequest(`Bearer ${signed({ user: { id: Number.MAX_SAFE_INTEGER } })}`));

    expect(result).toEqual({ isAuthorized: true, context: { userId: String(Number.MAX_SAFE_INTEGER) } });
  });

  it('accepts a token of exactly 4096 characters', async () => {
    const token = tokenOfLength(4096);

    const result = await handler(authorizerRequest(`Bearer ${token}`));

    expect(result).toEqual(ALLOW_42);
  });

  it('denies a token of 4097 characters', async () => {
    const token = tokenOfLength(4097);

    const result = await handler(authorizerRequest(`Bearer ${token}`));

    expect(result).toEqual(DENY);
  });
});

describe('authorizer: clock tolerance of 30 s', () => {
  const { handler } = authorizer();

  it('accepts a token that expired 29 s ago', async () => {
    const token = signed({ iat: NOW_S - 3600, exp: NOW_S - 29 });

    const result = await handler(authorizerRequest(`Bearer ${token}`));

    expect(result).toEqual(ALLOW_42);
  });

  it('denies a token that expired 31 s ago', async () => {
    const token = signed({ iat: NOW_S - 3600, exp: NOW_S - 31 });

    const result = await handler(authorizerRequest(`Bearer ${token}`));

    expect(result).toEqual(DENY);
  });

  it('accepts a token whose nbf is 29 s in the future', async () => {
    const token = signed({ nbf: NOW_S + 29 });

    const result = await handler(authorizerRequest(`Bearer ${token}`));

    expect(result).toEqual(ALLOW_42);
  });

  it('denies a token whose nbf is 31 s in the future', async () => {
    const token = signed({ nbf: NOW_S + 31 });

    const result = await handler(authorizerRequest(`Bearer ${token}`));

    expect(result).toEqual(DENY);
  });
});

describe('authorizer: secret rotation with JWT_PREVIOUS_SECRET', () => {
  const oldToken = signed({}, PREVIOUS_SECRET);

  it('accepts a token signed with JWT_PREVIOUS_SECRET when it is set', async () => {
    const { handler } = authorizer({ JWT_SECRET: SECRET, JWT_PREVIOUS_SECRET: PREVIOUS_SECRET });

    const result = await handler(authorizerRequest(`Bearer ${oldToken}`));

    expect(result).toEqual(ALLOW_42);
  });

  it('still accepts a token signed with JWT_SECRET when JWT_PREVIOUS_SECRET is set', async () => {
    const { handler } = authorizer({ JWT_SECRET: SECRET, JWT_PREVIOUS_SECRET: PREVIOUS_SECRET });

    const result = await handler(authorizerRequest(`Bearer ${GOOD}`));

    expect(result).toEqual(ALLOW_42);
  });

  it('denies a token signed with the previous secret when JWT_PREVIOUS_SECRET is not set', async () => {
    const { handler } = authorizer({ JWT_SECRET: SECRET });

    const result = await handler(authorizerRequest(`Bearer ${oldToken}`));

    expect(result).toEqual(DENY);
  });

  it('denies a token signed with the old current secret once the secret has rotated', async () => {
    const { handler } = authorizer({ JWT_SECRET: 'the-next-portal-jwt-secret-0003', JWT_PREVIOUS_SECRET: SECRET });
    const { handler: afterRotation } = authorizer({ JWT_SECRET: 'the-next-portal-jwt-secret-0003' });

    const during = await handler(authorizerRequest(`Bearer ${GOOD}`));
    const after = await afterRotation(authorizerRequest(`Bearer ${GOOD}`));

    expect([during, after]).toEqual([ALLOW_42, DENY]);
  });
});

describe('authorizer: logging', () => {
  it('logs a denial with its reason but never the token', async () => {
    const { handler, log } = authorizer();
    const token = signed({}, 'some-other-secret-of-enough-length');

    await handler(authorizerRequest(`Bearer ${token}`));

    expect(log.entries.map((e) => e.message)).toContain('Denied');
    expect(log.text()).not.toContain(token.split('.')[2]);
    expect(log.text()).not.toContain(token.split('.')[1]);
  });
});

describe('authorizer: a failing secret store is thrown, not denied', () => {
  it('throws and logs the setting when the configuration is invalid (JWT_SECRET missing)', async () => {
    const { handler, log } = authorizer({});

    const result = handler(authorizerRequest(`Bearer ${GOOD}`));

    await expect(result).rejects.toThrow();
    expect(log.entries.filter((e) => e.level === 'error').map((e) => JSON.stringify(e))).toEqual([
      expect.stringContaining('JWT_SECRET'),
    ]);
  });

  it('throws when JWT_SECRET is too short, and never logs its value', async () => {
    const { handler, log } = authorizer({ JWT_SECRET: 'tooshort' });

    const result = handler(authorizerRequest(`Bearer ${GOOD}`));

    await expect(result).rejects.toThrow();
    expect(log.text()).toContain('JWT_SECRET');
    expect(log.text()).not.toContain('tooshort');
  });

  describe('with SECRET_ID and a Secrets Manager endpoint that fails', () => {
    const endpoint = useSecretsManagerEndpoint({ error: 'InternalServiceError', status: 500 });

    it('throws for a valid token, logs an error, and asked the store', async () => {
      const { handler, log } = authorizer({ SECRET_ID: 'voice/authorizer-test' });

      const result = handler(authorizerRequest(`Bearer ${GOOD}`));

      await expect(result).rejects.toThrow();
      expect(endpoint.requests.map((r) => r.secretId)).toContain('voice/authorizer-test');
      expect(log.entries.filter((e) => e.level === 'error')).toHaveLength(1);
    });

    it('recovers by itself once the store answers: the next attempt, 5 s later, allows', async () => {
      let time = 1_000_000;
      const handler = createHandler({
        config: configLoader(
          FUNCTION_FIELDS.authorizer,
          { SECRET_ID: 'voice/authorizer-recovery' },
          { now: () => time },
        ),
        log: recordingLog(),
        alert: async () => undefined,
        now: () => NOW,
      });
      endpoint.behaviour = { error: 'InternalServiceError', status: 500 };
      await expect(handler(authorizerRequest(`Bearer ${GOOD}`))).rejects.toThrow();
      endpoint.behaviour = { secretString: JSON.stringify({ JWT_SECRET: SECRET }) };
      await expect(handler(authorizerRequest(`Bearer ${GOOD}`))).rejects.toThrow();
      time += 5_000;

      const result = await handler(authorizerRequest(`Bearer ${GOOD}`));

      expect(result).toEqual(ALLOW_42);
    });
  });
});
