/**
 * The start banner (`npm start`): its text as a pure function of plain inputs, and the
 * signature check it reports, read through make_call's own configuration loader (with
 * SECRET_ID, through the real AWS SDK against a loopback Secrets Manager endpoint).
 */
import { jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { type BannerInputs, bannerLines, type SignatureCheck } from '../../infra/local/banner.js';
import { callLimitsStatus, type LocalDynamo } from '../../infra/local/localDynamo.js';
import { DEVELOPMENT_SETTINGS, localEnv } from '../../infra/local/localEnv.js';
import { portalToken } from '../../infra/local/portalToken.js';
import { makeCallSignatureCheck } from '../../infra/local/signatureCheck.js';
import { useSecretsManagerEndpoint } from '../support/secretsManagerEndpoint.js';

const BASE = 'http://127.0.0.1:3000';
const APP = `AP${'5'.repeat(32)}`;
const JWT = /[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}/;
const NOT_CHECKED = 'make_call does NOT check Twilio signatures';

function banner(overrides: Partial<BannerInputs> = {}): string {
  const inputs: BannerInputs = {
    base: BASE,
    developmentSettings: Object.keys(DEVELOPMENT_SETTINGS),
    signatureCheck: { status: 'checked' },
    devToken: 'eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyIjp7ImlkIjo0Mn19.development-signature',
    appSid: APP,
    callLimits: { status: 'off' },
    ...overrides,
  };
  return bannerLines(inputs).join('\n');
}

describe('bannerLines: what npm start prints', () => {
  it('starts with "Voice service (local gateway) listening on http://127.0.0.1:<port>", the line scripts parse', () => {
    const [first] = bannerLines({
      base: 'http://127.0.0.1:4567',
      developmentSettings: [],
      signatureCheck: { status: 'checked' },
      appSid: undefined,
      callLimits: { status: 'off' },
    });

    expect(first).toBe('Voice service (local gateway) listening on http://127.0.0.1:4567');
  });

  it('prints a make_call curl line calling as user 42 of TWILIO_ML_APP_SID, the only callers make_call answers, with a CallSid', () => {
    const text = banner({
      developmentSettings: [],
      signatureCheck: { status: 'unchecked', tokenSource: 'environment' },
    });

    expect(text).toContain(`--data-urlencode 'From=client:${APP}_uid42' --data-urlencode "CallSid=CA`);
    expect(text).toContain(`'${BASE}/api/v1/make_call'`);
  });

  it('prints no unsigned make_call curl line while signatures are checked: it would get 403', () => {
    const text = banner({ developmentSettings: [], signatureCheck: { status: 'checked' } });

    expect(text).not.toContain("/api/v1/make_call'");
    expect(text).toContain(`make_call answers requests signed for ${BASE}/api/v1/make_call with TWILIO_AUTH_TOKEN`);
  });

  it('prints the development token and a curl line with it while the development JWT_SECRET is in use', () => {
    const text = banner({ devToken: 'dev.token.value' });

    expect(text).toContain('\ndev.token.value\n');
    expect(text).toContain(`curl -s -H "Authorization: Bearer dev.token.value" '${BASE}/api/v1/call_token?type=apns'`);
    expect(text).not.toContain('TOKEN=$(');
  });

  it('with a real JWT_SECRET prints no token, only TOKEN=$(npm run --silent token -- --user 42) and a curl line with $TOKEN', () => {
    // Even handed a token, it must not print one signed with a real secret.
    const text = banner({ developmentSettings: ['TWILIO_ACCOUNT_SID'], devToken: 'live.token.value' });

    expect(text).not.toContain('live.token.value');
    expect(text).toContain('\n  TOKEN=$(npm run --silent token -- --user 42)\n');
    expect(text).toContain(`curl -s -H "Authorization: Bearer $TOKEN" '${BASE}/api/v1/call_token?type=apns'`);
  });

  it('names the settings that fell back to development values', () => {
    expect(banner({ developmentSettings: ['TWILIO_FROM', 'JWT_SECRET'] })).toContain(
      'Using built-in DEVELOPMENT settings for: TWILIO_FROM, JWT_SECRET.',
    );
  });

  it('warns that make_call does not check signatures when TWILIO_AUTH_TOKEN is not set', () => {
    const text = banner({ signatureCheck: { status: 'unchecked', tokenSource: 'environment' } });

    expect(text).toContain(`TWILIO_AUTH_TOKEN is not set: ${NOT_CHECKED}`);
  });

  it('warns that make_call does not check signatures when the secret named by SECRET_ID has no TWILIO_AUTH_TOKEN', () => {
    const text = banner({ signatureCheck: { status: 'unchecked', tokenSource: 'secret' } });

    expect(text).toContain(`The secret named by SECRET_ID has no TWILIO_AUTH_TOKEN: ${NOT_CHECKED}`);
  });

  it("says make_call's configuration could not be loaded, and names the problem", () => {
    const text = banner({ signatureCheck: { status: 'unloadable', problem: 'Invalid configuration: TWILIO_FROM …' } });

    expect(text).toContain("make_call's configuration could not be loaded: Invalid configuration: TWILIO_FROM …");
  });

  it('gives no signature warning when make_call checks signatures', () => {
    const text = banner({ signatureCheck: { status: 'checked' } });

    expect(text).not.toMatch(/signatures|could not be loaded/);
  });
});

/** What startLocalDynamo returns, without a server: callLimitsStatus reads only its fields. */
function dynamo(overrides: Partial<LocalDynamo> = {}): LocalDynamo {
  const endpoint = overrides.endpoint ?? 'http://127.0.0.1:45678';
  const table = overrides.table ?? 'voice-call-limits';
  return {
    endpoint,
    inMemory: true,
    table,
    ttl: false,
    env: { AWS_ENDPOINT_URL_DYNAMODB: endpoint, CALL_LIMITS_TABLE: table },
    close: async () => {},
    ...overrides,
  };
}

/** The call-limits lines npm start prints for these settings and this table. */
const limitsBanner = (settings: Record<string, string>, table: LocalDynamo | undefined) =>
  banner({ callLimits: callLimitsStatus(localEnv(settings, {}).env, table) });

describe('bannerLines: the call limits', () => {
  it('says they are on, where they are counted (the in-memory dynalite), and every default value', () => {
    const text = limitsBanner({}, dynamo());

    expect(text).toContain(
      '\nCall limits: ON, counted in DynamoDB table voice-call-limits on an in-memory dynalite at http://127.0.0.1:45678 (emptied when npm start stops).\n',
    );
    expect(text).toContain(
      '  Per caller: 10 phone calls an hour (MAX_PHONE_CALLS_PER_HOUR), 30 a day (MAX_PHONE_CALLS_PER_DAY), ' +
        '1 at a time (MAX_CONCURRENT_PHONE_CALLS); 60 app-to-app calls an hour (MAX_CLIENT_CALLS_PER_HOUR).\n',
    );
    expect(text).toContain('  Service-wide: 100 phone calls a minute (MAX_PHONE_CALLS_PER_MINUTE).\n');
    expect(text).toContain('calls go through unchecked: fail-open (CALL_LIMITS_FAIL_CLOSED=false)');
    expect(text).toContain('  This server has no TTL: expired counters are not deleted.\n');
    expect(text).toContain('  LOCAL_CALL_LIMITS=off switches them off.');
  });

  it('shows the values the settings give, and fail-closed when CALL_LIMITS_FAIL_CLOSED=true', () => {
    const text = limitsBanner(
      {
        MAX_PHONE_CALLS_PER_HOUR: '3',
        MAX_PHONE_CALLS_PER_DAY: '7',
        MAX_CLIENT_CALLS_PER_HOUR: '11',
        MAX_CONCURRENT_PHONE_CALLS: '2',
        MAX_PHONE_CALLS_PER_MINUTE: '13',
        CALL_LIMITS_FAIL_CLOSED: 'true',
      },
      dynamo({ table: 'my-limits' }),
    );

    expect(text).toContain('DynamoDB table my-limits on');
    expect(text).toMatch(/3 phone calls an hour .*, 7 a day .*, 2 at a time .*; 11 app-to-app calls an hour/);
    expect(text).toContain('Service-wide: 13 phone calls a minute');
    expect(text).toContain('calls are refused: fail-closed (CALL_LIMITS_FAIL_CLOSED=true)');
    expect(text).not.toContain('fail-open');
  });

  it('names AWS_ENDPOINT_URL_DYNAMODB’s endpoint when it is not its own, without any password in the URL', () => {
    const given = dynamo({ endpoint: 'http://someone:hunter2-password@dynamo.test:8000/', inMemory: false, ttl: true });

    const text = limitsBanner({}, given);

    expect(text).toContain('on AWS_ENDPOINT_URL_DYNAMODB http://dynamo.test:8000/.');
    expect(text).not.toMatch(/hunter2|someone|in-memory/);
    expect(text).not.toContain('no TTL');
  });

  it('says when the limits cannot be read, naming the setting and not its value', () => {
    const text = limitsBanner({ MAX_PHONE_CALLS_PER_DAY: 'lots-and-lots' }, dynamo());

    expect(text).toContain('Call limits: ON');
    expect(text).toMatch(/ {2}The limits could not be read: .*MAX_PHONE_CALLS_PER_DAY must be a whole number/);
    expect(text).not.toContain('lots-and-lots');
  });

  it('says they are off with LOCAL_CALL_LIMITS=off, and how to switch them on', () => {
    const text = limitsBanner({ LOCAL_CALL_LIMITS: 'off', MAX_PHONE_CALLS_PER_HOUR: '3' }, undefined);

    expect(text).toContain(
      '\nCall limits: OFF (LOCAL_CALL_LIMITS=off): make_call counts no calls. Unset it to switch them on.',
    );
    expect(text).not.toMatch(/Call limits: ON|phone calls an hour|dynalite/);
  });
});

/**
 * The banner start.ts would print for these settings, except that it is handed a token
 * signed with whatever JWT_SECRET is configured: bannerLines itself must refuse to print
 * one signed with a real secret.
 */
async function startBanner(settings: Record<string, string>): Promise<string> {
  const { env, developmentSettings } = localEnv(settings, {});
  const signatureCheck = await makeCallSignatureCheck(env);
  const devToken = env.JWT_SECRET ? await portalToken('42', env.JWT_SECRET) : undefined;
  const callLimits = { status: 'off' } as const;
  return bannerLines({ base: BASE, developmentSettings, signatureCheck, devToken, appSid: APP, callLimits }).join('\n');
}

describe('makeCallSignatureCheck: what make_call’s configuration says about signatures', () => {
  it('without SECRET_ID or TWILIO_AUTH_TOKEN: not checked, for want of TWILIO_AUTH_TOKEN in the environment', async () => {
    const check = await makeCallSignatureCheck(localEnv({}, {}).env);

    expect(check).toEqual({ status: 'unchecked', tokenSource: 'environment' } satisfies SignatureCheck);
  });

  it('with TWILIO_AUTH_TOKEN in the environment: checked', async () => {
    const check = await makeCallSignatureCheck(localEnv({ TWILIO_AUTH_TOKEN: 'an-auth-token-0123456789' }, {}).env);

    expect(check).toEqual({ status: 'checked' });
  });

  it('with an invalid setting: not loadable, naming the setting and not its value', async () => {
    const check = await makeCallSignatureCheck(localEnv({ TWILIO_FROM: 'call-me-maybe-4155550' }, {}).env);

    expect(check.status).toBe('unloadable');
    const problem = check.status === 'unloadable' ? check.problem : '';
    expect(problem).toContain('TWILIO_FROM');
    expect(problem).not.toContain('call-me-maybe-4155550');
  });
});

describe('the banner without SECRET_ID', () => {
  it('prints a working development token while the development JWT_SECRET is in use', async () => {
    const text = await startBanner({});

    const printed = text.match(JWT)?.[0] ?? '';
    const { payload } = await jwtVerify(printed, new TextEncoder().encode(DEVELOPMENT_SETTINGS.JWT_SECRET), {
      algorithms: ['HS256'],
    });
    expect(payload.user).toEqual({ id: 42 });
  });

  it('prints no token signed with a JWT_SECRET from the environment, and the npm run token line instead', async () => {
    const text = await startBanner({ JWT_SECRET: 'a-real-jwt-secret-from-the-environment' });

    expect(text).not.toMatch(JWT);
    expect(text).toContain('TOKEN=$(npm run --silent token -- --user 42)');
  });
});

describe('the banner with SECRET_ID: make_call’s secret read from Secrets Manager, as on Lambda', () => {
  const STORED = {
    TWILIO_API_KEY: `SK${'9f'.repeat(16)}`,
    TWILIO_API_KEY_SECRET: 'api-key-secret-stored-in-secrets-manager',
    JWT_SECRET: 'jwt-secret-stored-in-secrets-manager',
  };
  const endpoint = useSecretsManagerEndpoint({ secretString: JSON.stringify(STORED) });

  it('warns that make_call does not check signatures when the secret has no TWILIO_AUTH_TOKEN', async () => {
    endpoint.behaviour = { secretString: JSON.stringify(STORED) };

    const text = await startBanner({ SECRET_ID: 'voice/no-auth-token' });

    expect(text).toContain(`The secret named by SECRET_ID has no TWILIO_AUTH_TOKEN: ${NOT_CHECKED}`);
    expect(endpoint.requests.map((r) => r.secretId)).toContain('voice/no-auth-token');
  });

  it('gives no signature warning when the secret holds TWILIO_AUTH_TOKEN', async () => {
    endpoint.behaviour = {
      secretString: JSON.stringify({ ...STORED, TWILIO_AUTH_TOKEN: 'stored-auth-token-0123456' }),
    };

    const text = await startBanner({ SECRET_ID: 'voice/with-auth-token' });

    expect(text).not.toContain(NOT_CHECKED);
  });

  it("says make_call's configuration could not be loaded, naming the failure, when Secrets Manager refuses", async () => {
    endpoint.behaviour = { error: 'AccessDeniedException', status: 400 };

    const text = await startBanner({ SECRET_ID: 'voice/denied' });

    expect(text).toMatch(/make_call's configuration could not be loaded: .*SECRET_ID.*AccessDeniedException/);
    expect(text).not.toContain(NOT_CHECKED);
  });

  it('prints no token signed with the JWT_SECRET from the secret, and the npm run token line instead', async () => {
    endpoint.behaviour = { secretString: JSON.stringify(STORED) };

    const text = await startBanner({ SECRET_ID: 'voice/local' });

    expect(text).not.toMatch(JWT);
    expect(text).toContain('TOKEN=$(npm run --silent token -- --user 42)');
  });
});
