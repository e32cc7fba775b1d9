import { generateKeyPairSync, sign } from 'node:crypto';
import { CompactSign, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/authorizer.js';
import { ConfigError, type Env, parseFields } from '../../lib/config.js';
import { configLoader } from '../../lib/functionConfig.js';
import { FUNCTION_FIELDS } from '../../lib/functionFields.js';
import { DEFAULT_MAX_TTL_SECONDS } from '../../lib/portalJwt.js';
import { openGate } from '../support/gates.js';
import { legacyPortalToken, signRaw, signSegments } from '../support/portalTokens.js';
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

describe('authorizer: a failing secret store is thrown for a well-formed token, not denied', () => {
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

    it('a header that cannot be a token is denied without reading the secrets', async () => {
      endpoint.behaviour = { error: 'InternalServiceError', status: 500 };
      const secretId = 'voice/authorizer-shape';
      const loader = configLoader(FUNCTION_FIELDS.authorizer, { SECRET_ID: secretId });
      let reads = 0;
      const config = Object.assign(() => loader(), {
        read: () => {
          reads++;
          return loader.read();
        },
      });
      const log = recordingLog();
      const handler = createHandler({ config, log, alert: async () => undefined, logGate: openGate, now: () => NOW });
      const [header, payload, signature] = GOOD.split('.') as [string, string, string];
      const cannotBeTokens: [string, string | undefined, string][] = [
        ...BAD_HEADERS.map(
          ([kind, make]) => [kind, make(), 'malformed header'] as [string, string | undefined, string],
        ),
        ['a token of 4097 characters', `Bearer ${tokenOfLength(4097)}`, 'malformed header'],
        ['junk', 'Bearer junk', 'bad token'],
        ['two segments', `Bearer ${header}.${payload}`, 'bad token'],
        ['four segments', `Bearer ${GOOD}.${signature}`, 'bad token'],
        ['a signature padded with "="', `Bearer ${GOOD}=`, 'non-canonical encoding'],
        ['alg "none" with an empty signature', `Bearer ${header}.${payload}.`, 'non-canonical encoding'],
        ['a header that is not base64url', `Bearer *${GOOD.slice(1)}`, 'non-canonical encoding'],
      ];

      const results = [];
      for (const [, authorization] of cannotBeTokens) results.push(await handler(authorizerRequest(authorization)));

      expect(results).toEqual(cannotBeTokens.map(() => DENY));
      expect(reads).toBe(0);
      expect(endpoint.requests.filter((r) => r.secretId === secretId)).toHaveLength(0);
      expect(log.entries.filter((e) => e.level === 'error')).toEqual([]);
      expect(reasonsLogged(log)).toEqual(cannotBeTokens.map(([, , reason]) => reason));

      // A well-formed token during the same outage still reads the secrets, and throws (500, not cached).
      await expect(handler(authorizerRequest(`Bearer ${GOOD}`))).rejects.toThrow();
      expect(reads).toBe(1);
      expect(endpoint.requests.filter((r) => r.secretId === secretId)).toHaveLength(1);
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

const DAY = 86400;
const reasonsLogged = (log: ReturnType<typeof authorizer>['log']) =>
  log.entries.filter((e) => e.message === 'Denied').map((e) => e.attributes?.reason);

/** What a test sets on a token; absent claims are left out (the legacy portal's own iat/exp/iss otherwise). */
interface TokenClaims {
  iat?: number;
  exp?: number;
  iss?: string;
  aud?: string | string[];
}

/** A token for user 42 signed by jose (SignJWT): exp an hour ahead unless given, no iat unless given. */
async function joseToken(claims: TokenClaims, secret = SECRET): Promise<string> {
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject('42')
    .setExpirationTime(claims.exp ?? NOW_S + 3600);
  if (claims.iat !== undefined) jwt.setIssuedAt(claims.iat);
  if (claims.iss !== undefined) jwt.setIssuer(claims.iss);
  if (claims.aud !== undefined) jwt.setAudience(claims.aud);
  return jwt.sign(new TextEncoder().encode(secret));
}

/** A token for user 42 as the legacy portal writes it (spaced JSON, float iat/exp, iss "Metropia Auth"). */
async function legacyToken(claims: TokenClaims & Record<string, unknown>, secret = SECRET): Promise<string> {
  return legacyPortalToken(42, secret, NOW_S, 3600, { claims });
}

const MAKERS = [
  ['signed by jose (SignJWT)', joseToken],
  ['in the legacy portal format', legacyToken],
] as const;

/** The handler's decision for `token`, and the reasons it logged. */
async function decide(token: string, env: Env = { JWT_SECRET: SECRET }) {
  const { handler, log } = authorizer(env);
  const result = await handler(authorizerRequest(`Bearer ${token}`));
  return { result, reasons: reasonsLogged(log) };
}

describe('authorizer: exp must be a finite number', () => {
  const text = (exp: string) => `{"iat": ${NOW_S}.5, "exp": ${exp}, "iss": "Metropia Auth", "user": {"id": 42}}`;

  it('denies exp 1e400 in the legacy portal format (JSON.parse makes it Infinity)', async () => {
    const token = legacyPortalToken(42, SECRET, NOW_S, 3600, { rawClaims: { exp: '1e400' } });
    expect(Buffer.from(token.split('.')[1] as string, 'base64url').toString()).toContain('"exp": 1e400');

    expect(await decide(token)).toEqual({ result: DENY, reasons: ['exp not finite'] });
  });

  it('denies exp 1e400 signed by jose (CompactSign over the JSON text)', async () => {
    const token = await new CompactSign(new TextEncoder().encode(text('1e400')))
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(new TextEncoder().encode(SECRET));

    expect(await decide(token)).toEqual({ result: DENY, reasons: ['exp not finite'] });
  });

  it('jose’s SignJWT refuses to write an infinite exp at all', async () => {
    const signing = new SignJWT({ exp: Number.POSITIVE_INFINITY })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(SECRET));

    await expect(signing).rejects.toThrow(/finite/);
  });

  it.each(MAKERS)('denies exp 1e300 (finite, far beyond JWT_MAX_TTL), %s', async (_maker, make) => {
    expect(await decide(await make({ exp: 1e300 }))).toEqual({ result: DENY, reasons: ['exp too far ahead'] });
  });

  it('denies exp 1e300 written by hand', async () => {
    expect(await decide(signRaw(HS256, text('1e300'), SECRET))).toEqual({
      result: DENY,
      reasons: ['exp too far ahead'],
    });
  });
});

describe('authorizer: exp at most JWT_MAX_TTL ahead (default 30 days)', () => {
  it('defaults JWT_MAX_TTL to 30 days', () => {
    expect(parseFields(['JWT_MAX_TTL'], {})).toEqual({ JWT_MAX_TTL: 30 * DAY });
    expect(DEFAULT_MAX_TTL_SECONDS).toBe(30 * DAY);
  });

  it.each(MAKERS)('denies exp 31 days ahead, %s', async (_maker, make) => {
    expect(await decide(await make({ iat: NOW_S, exp: NOW_S + 31 * DAY }))).toEqual({
      result: DENY,
      reasons: ['exp too far ahead'],
    });
  });

  it.each(MAKERS)('allows exp 29 days ahead, %s', async (_maker, make) => {
    expect((await decide(await make({ iat: NOW_S, exp: NOW_S + 29 * DAY }))).result).toEqual(ALLOW_42);
  });

  it('allows a legacy token with float iat and exp 29.5 days ahead', async () => {
    const token = await legacyToken({ iat: NOW_S + 0.25, exp: NOW_S + 29.5 * DAY + 0.123456 });

    expect((await decide(token)).result).toEqual(ALLOW_42);
  });

  it.each(MAKERS)('with JWT_MAX_TTL=3600 denies exp 2 hours ahead and allows 1 hour, %s', async (_maker, make) => {
    const env = { JWT_SECRET: SECRET, JWT_MAX_TTL: '3600' };

    const twoHours = await decide(await make({ exp: NOW_S + 7200 }), env);
    const oneHour = await decide(await make({ exp: NOW_S + 3600 }), env);

    expect([twoHours, oneHour.result]).toEqual([{ result: DENY, reasons: ['exp too far ahead'] }, ALLOW_42]);
  });
});

describe('authorizer: iat, when present, a finite number not in the future beyond 30 s', () => {
  it.each(MAKERS)('denies iat 1 minute in the future, %s', async (_maker, make) => {
    expect(await decide(await make({ iat: NOW_S + 60 }))).toEqual({ result: DENY, reasons: ['iat in the future'] });
  });

  it.each(MAKERS)('allows iat 20 s in the future, %s', async (_maker, make) => {
    expect((await decide(await make({ iat: NOW_S + 20 }))).result).toEqual(ALLOW_42);
  });

  it('allows a legacy token whose float iat is 20.5 s in the future', async () => {
    expect((await decide(await legacyToken({ iat: NOW_S + 20.5 }))).result).toEqual(ALLOW_42);
  });

  it('allows a token without iat (signed by jose)', async () => {
    expect((await decide(await joseToken({}))).result).toEqual(ALLOW_42);
  });

  it('denies iat 1e400 in the legacy portal format', async () => {
    const token = legacyPortalToken(42, SECRET, NOW_S, 3600, { rawClaims: { iat: '1e400' } });

    expect(await decide(token)).toEqual({ result: DENY, reasons: ['iat not finite'] });
  });

  it('denies iat that is not a number', async () => {
    expect((await decide(signed({ iat: String(NOW_S) }))).result).toEqual(DENY);
  });
});

describe('authorizer: JWT_ISSUER, when set, must equal iss', () => {
  const env = { JWT_SECRET: SECRET, JWT_ISSUER: 'Metropia Auth' };

  it.each(MAKERS)('allows iss equal to JWT_ISSUER, %s', async (_maker, make) => {
    expect((await decide(await make({ iss: 'Metropia Auth' }), env)).result).toEqual(ALLOW_42);
  });

  it.each(MAKERS)('denies another iss, %s', async (_maker, make) => {
    expect(await decide(await make({ iss: 'Metropia Reports' }), env)).toEqual({
      result: DENY,
      reasons: ['wrong issuer'],
    });
  });

  it.each(MAKERS)('denies a token without iss, %s', async (_maker, make) => {
    const token = await make({ iss: undefined });

    expect(await decide(token, env)).toEqual({ result: DENY, reasons: ['wrong issuer'] });
  });

  it('denies an iss that differs only in case', async () => {
    expect((await decide(await joseToken({ iss: 'metropia auth' }), env)).result).toEqual(DENY);
  });

  it('holds a token signed with JWT_PREVIOUS_SECRET to the same rule', async () => {
    const rotating = { ...env, JWT_PREVIOUS_SECRET: PREVIOUS_SECRET };

    const other = await decide(await legacyToken({ iss: 'Metropia Reports' }, PREVIOUS_SECRET), rotating);
    const same = await decide(await legacyToken({}, PREVIOUS_SECRET), rotating);

    expect([other, same.result]).toEqual([{ result: DENY, reasons: ['wrong issuer'] }, ALLOW_42]);
  });
});

describe('authorizer: JWT_AUDIENCE, when set, must be aud or in it', () => {
  const env = { JWT_SECRET: SECRET, JWT_AUDIENCE: 'voice' };

  it.each(MAKERS)('allows aud equal to JWT_AUDIENCE, %s', async (_maker, make) => {
    expect((await decide(await make({ aud: 'voice' }), env)).result).toEqual(ALLOW_42);
  });

  it.each(MAKERS)('allows an aud array containing JWT_AUDIENCE, %s', async (_maker, make) => {
    expect((await decide(await make({ aud: ['portal', 'voice'] }), env)).result).toEqual(ALLOW_42);
  });

  it.each(MAKERS)('denies another aud, %s', async (_maker, make) => {
    expect(await decide(await make({ aud: 'portal' }), env)).toEqual({ result: DENY, reasons: ['wrong audience'] });
  });

  it.each(MAKERS)('denies an aud array without JWT_AUDIENCE, %s', async (_maker, make) => {
    expect(await decide(await make({ aud: ['portal', 'reports'] }), env)).toEqual({
      result: DENY,
      reasons: ['wrong audience'],
    });
  });

  it.each(MAKERS)('denies a token without aud, %s', async (_maker, make) => {
    expect(await decide(await make({}), env)).toEqual({ result: DENY, reasons: ['wrong audience'] });
  });

  it('with both set, allows the legacy token once the portal marks it, and denies it unmarked', async () => {
    const both = { ...env, JWT_ISSUER: 'Metropia Auth' };

    const marked = await decide(await legacyToken({ aud: 'voice' }), both);
    const unmarked = await decide(await legacyToken({}), both);

    expect([marked.result, unmarked]).toEqual([ALLOW_42, { result: DENY, reasons: ['wrong audience'] }]);
  });
});

describe('authorizer: JWT_ISSUER and JWT_AUDIENCE unset: neither is checked', () => {
  it('allows the legacy portal token (iss "Metropia Auth", no aud)', async () => {
    expect(await decide(legacyPortalToken(42, SECRET, NOW_S))).toEqual({ result: ALLOW_42, reasons: [] });
  });

  it.each(MAKERS)('allows any iss and aud, %s', async (_maker, make) => {
    expect((await decide(await make({ iss: 'Metropia Reports', aud: 'reports' }))).result).toEqual(ALLOW_42);
  });
});

describe('authorizer: one token, one string (canonical base64url segments)', () => {
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  /** A good token whose signature has a "-" or "_" in it, so the standard alphabet spells it otherwise. */
  const token = (() => {
    for (let jti = 0; ; jti++) {
      const candidate = signed({ jti });
      if (/[-_]/.test(candidate.split('.')[2] as string)) return candidate;
    }
  })();
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const withSignature = (spelling: string) => `${header}.${payload}.${spelling}`;
  const lastIndex = ALPHABET.indexOf(signature.at(-1) as string);
  /** Header or payload text whose base64url has unused trailing bits (length 2 or 3 mod 4). */
  const oddLength = (make: (pad: string) => string) => {
    for (let pad = ''; ; pad += ' ') if (b64url(make(pad)).length % 4 >= 2) return make(pad);
  };
  const payloadText = oddLength((pad) => claims({ pad }));
  const headerText = oddLength((pad) => `{"alg":"HS256",${pad}"typ":"JWT"}`);
  const bumpLast = (segment: string) => segment.slice(0, -1) + ALPHABET[ALPHABET.indexOf(segment.at(-1) as string) + 1];
  const padTo4 = (segment: string) => segment + '='.repeat((4 - (segment.length % 4)) % 4);

  it('allows the canonical spelling', async () => {
    expect(signature).toMatch(/^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/);
    expect((await decide(token)).result).toEqual(ALLOW_42);
  });

  it('allows canonical header and payload segments of every length mod 4', async () => {
    const tokens = [0, 1, 2, 3].map((n) => signed({ pad: 'x'.repeat(n) }));
    expect(new Set(tokens.map((t) => (t.split('.')[1] as string).length % 4))).toEqual(new Set([0, 2, 3]));

    const results = await Promise.all(tokens.map(async (t) => (await decide(t)).result));

    expect(results).toEqual([ALLOW_42, ALLOW_42, ALLOW_42, ALLOW_42]);
  });

  it.each([
    ['a signature padded with "="', () => withSignature(`${signature}=`)],
    ['a signature padded with "=="', () => withSignature(`${signature}==`)],
    ...[1, 2, 3].map(
      (bits) =>
        [
          `a signature whose trailing bits are changed by ${bits} (the same 32 bytes)`,
          () => withSignature(signature.slice(0, -1) + ALPHABET[lastIndex + bits]),
        ] as const,
    ),
    [
      'a signature in the standard alphabet ("+", "/")',
      () => withSignature(signature.replace(/-/g, '+').replace(/_/g, '/')),
    ],
    ['a signature of 42 characters', () => withSignature(signature.slice(0, 42))],
    ['a signature of 44 characters', () => withSignature(`${signature}A`)],
    ['a signature of 86 characters', () => withSignature(signature + signature)],
    ['a tab inside the signature', () => withSignature(`${signature.slice(0, 9)}\t${signature.slice(9)}`)],
    ['a payload padded with "=", signed as spelled', () => signSegments(header, padTo4(b64url(payloadText)), SECRET)],
    [
      'a payload with non-zero trailing bits, signed as spelled',
      () => signSegments(header, bumpLast(b64url(payloadText)), SECRET),
    ],
    [
      'a payload in the standard alphabet, signed as spelled',
      () => {
        const standard = Buffer.from(claims({ note: '~~~???>>>' }))
          .toString('base64')
          .replace(/=+$/, '');
        expect(standard).toMatch(/[+/]/);
        return signSegments(header, standard, SECRET);
      },
    ],
    ['a header padded with "=", signed as spelled', () => signSegments(padTo4(b64url(headerText)), payload, SECRET)],
    [
      'a header with non-zero trailing bits, signed as spelled',
      () => signSegments(bumpLast(b64url(headerText)), payload, SECRET),
    ],
  ] as [string, () => string][])('denies %s', async (_kind, variant) => {
    const spelled = variant();
    expect(spelled).not.toBe(token);

    expect(await decide(spelled)).toEqual({ result: DENY, reasons: ['non-canonical encoding'] });
  });
});

describe('authorizer: denials are logged by a fixed reason, never a value from the request', () => {
  it('logs each denial kind under its own name', async () => {
    const env = { JWT_SECRET: SECRET, JWT_ISSUER: 'Metropia Auth', JWT_AUDIENCE: 'voice' };
    const { handler, log } = authorizer(env);
    const good = { iss: 'Metropia Auth', aud: 'voice' };
    const tokens = [
      `${await legacyToken({ ...good })}=`,
      await legacyToken({ ...good }, 'some-other-secret-of-enough-length'),
      await legacyToken({ aud: 'voice', iss: '"}; evil' }),
      await legacyToken({ iss: 'Metropia Auth', aud: 'denied:injected' }),
      await legacyToken({ ...good, exp: NOW_S + 90 * DAY }),
      await legacyToken({ ...good, iat: NOW_S + 3600 }),
      await legacyToken({ ...good, user: { id: 'a/b' } }),
    ];

    for (const token of tokens) expect(await handler(authorizerRequest(`Bearer ${token}`))).toEqual(DENY);
    await handler(authorizerRequest('Basic x'));

    expect(reasonsLogged(log)).toEqual([
      'non-canonical encoding',
      'bad token',
      'wrong issuer',
      'wrong audience',
      'exp too far ahead',
      'iat in the future',
      'bad user id',
      'malformed header',
    ]);
  });
});

describe('authorizer: JWT_ISSUER, JWT_AUDIENCE and JWT_MAX_TTL settings', () => {
  const problems = (env: Env) => {
    try {
      parseFields(['JWT_ISSUER', 'JWT_AUDIENCE', 'JWT_MAX_TTL'], env);
      return [];
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
  };

  it('throws, naming JWT_MAX_TTL, when JWT_MAX_TTL=abc', async () => {
    const { handler, log } = authorizer({ JWT_SECRET: SECRET, JWT_MAX_TTL: 'abc' });

    await expect(handler(authorizerRequest(`Bearer ${GOOD}`))).rejects.toThrow();
    expect(log.entries.filter((e) => e.level === 'error').map((e) => JSON.stringify(e))).toEqual([
      expect.stringContaining('JWT_MAX_TTL must be a whole number from 60 to 31536000'),
    ]);
  });

  it.each(['abc', '59', '31536001', '3600.5', '-3600', '1e6'])('rejects JWT_MAX_TTL=%s, naming it', (value) => {
    expect(problems({ JWT_MAX_TTL: value })).toEqual(['JWT_MAX_TTL must be a whole number from 60 to 31536000']);
  });

  it.each(['60', '3600', '31536000'])('accepts JWT_MAX_TTL=%s', (value) => {
    expect(parseFields(['JWT_MAX_TTL'], { JWT_MAX_TTL: value })).toEqual({ JWT_MAX_TTL: Number(value) });
  });

  it('leaves JWT_ISSUER and JWT_AUDIENCE unset when empty or blank', () => {
    expect(parseFields(['JWT_ISSUER', 'JWT_AUDIENCE'], { JWT_ISSUER: '', JWT_AUDIENCE: '  ' })).toEqual({
      JWT_ISSUER: undefined,
      JWT_AUDIENCE: undefined,
    });
  });

  it('reads them from the environment, not the secret: they are non-secret settings of the authorizer', () => {
    expect(FUNCTION_FIELDS.authorizer).toEqual(expect.arrayContaining(['JWT_ISSUER', 'JWT_AUDIENCE', 'JWT_MAX_TTL']));
    expect(problems({ JWT_ISSUER: 'Metropia Auth', JWT_AUDIENCE: 'voice', JWT_MAX_TTL: '86400' })).toEqual([]);
  });
});
