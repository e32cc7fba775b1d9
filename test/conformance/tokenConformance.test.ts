/**
 * Conformance with the legacy controller: its tokens were built by twilio's Python
 * helper. test/conformance/generate_token_fixtures.py builds them for fixed inputs and
 * writes test/fixtures/conformance/tokens.json (regenerate with
 * `/usr/bin/python3 test/conformance/generate_token_fixtures.py`). Here we issue tokens
 * for the same inputs and compare what must agree.
 *
 * Known, harmless difference (recorded in the fixture's notes too): Python's AccessToken
 * puts `nbf` and no `iat` in the payload, twilio for Node puts `iat` and no `nbf`. Both
 * make exp = issue time + ttl, which is what is compared. Twilio reads neither.
 */
import { readFileSync } from 'node:fs';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import * as authorizer from '../../functions/authorizer.js';
import * as callToken from '../../functions/callToken.js';
import { configLoader } from '../../lib/functionConfig.js';
import { FUNCTION_FIELDS } from '../../lib/functionFields.js';
import { isPushPlatform, issueVoiceToken } from '../../lib/voiceToken.js';
import { legacyPortalToken } from '../support/portalTokens.js';
import { recordingLog } from '../support/recordingLog.js';
import { authorizerRequest, callTokenEventWithQuery } from '../token/events.js';

interface Fixture {
  now: number;
  ttl: number;
  inputs: {
    TWILIO_ACCOUNT_SID: string;
    TWILIO_API_KEY: string;
    TWILIO_API_KEY_SECRET: string;
    TWILIO_ML_APP_SID: string;
    TWILIO_ML_APNS_CERT_SID: string;
    TWILIO_ML_FCM_CERT_SID: string;
  };
  cases: {
    userId: string;
    type: string;
    identity_prefix: string;
    jwt: string;
    header: Record<string, unknown>;
    payload: Record<string, unknown> & { exp: number; nbf: number };
  }[];
}

const fixture: Fixture = JSON.parse(
  readFileSync(new URL('../fixtures/conformance/tokens.json', import.meta.url), 'utf8'),
);
const config = { ...fixture.inputs, TWILIO_TOKEN_TTL: fixture.ttl };
const cases = fixture.cases.map((c) => [`user ${c.userId}, ${c.type}`, c] as const);

function ours(userId: string, type: string) {
  if (!isPushPlatform(type)) throw new Error(`fixture has an unknown type ${type}`);
  const { token, identity_prefix } = issueVoiceToken(config, userId, type);
  return { identity_prefix, header: decodeProtectedHeader(token), payload: decodeJwt(token) };
}

describe('the Python fixture', () => {
  it('covers several users on both platforms', () => {
    expect(new Set(fixture.cases.map((c) => c.userId)).size).toBeGreaterThanOrEqual(3);
    expect(new Set(fixture.cases.map((c) => c.type))).toEqual(new Set(['apns', 'fcm']));
  });

  it.each(cases)('holds a genuine HS256 token signed with the API key secret (%s)', async (_name, legacy) => {
    const { payload } = await jwtVerify(legacy.jwt, new TextEncoder().encode(fixture.inputs.TWILIO_API_KEY_SECRET), {
      algorithms: ['HS256'],
      currentDate: new Date(fixture.now * 1000),
    });

    expect(payload).toEqual(legacy.payload);
  });
});

describe('our tokens against the Python helper’s, for the same inputs', () => {
  it.each(cases)('has the same grants (%s)', (_name, legacy) => {
    expect(ours(legacy.userId, legacy.type).payload.grants).toEqual(legacy.payload.grants);
  });

  it.each(cases)('has the same iss and sub (%s)', (_name, legacy) => {
    const { payload } = ours(legacy.userId, legacy.type);

    expect({ iss: payload.iss, sub: payload.sub }).toEqual({ iss: legacy.payload.iss, sub: legacy.payload.sub });
  });

  it.each(cases)('has the same header alg, typ and cty (%s)', (_name, legacy) => {
    expect(ours(legacy.userId, legacy.type).header).toEqual(legacy.header);
  });

  it.each(cases)('has the same identity_prefix (%s)', (_name, legacy) => {
    expect(ours(legacy.userId, legacy.type).identity_prefix).toBe(legacy.identity_prefix);
  });

  it.each(cases)('lives as long: our exp - iat equals Python’s exp - nbf (%s)', (_name, legacy) => {
    const { payload } = ours(legacy.userId, legacy.type);

    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(legacy.payload.exp - legacy.payload.nbf);
  });

  it.each(cases)('has a jti of the same form, "<API key>-<issue time>" (%s)', (_name, legacy) => {
    const { payload } = ours(legacy.userId, legacy.type);

    expect(legacy.payload.jti).toBe(`${fixture.inputs.TWILIO_API_KEY}-${legacy.payload.nbf}`);
    expect(payload.jti).toBe(`${fixture.inputs.TWILIO_API_KEY}-${payload.iat}`);
  });
});

describe('a legacy portal token for user 42, end to end through the authorizer and callToken', () => {
  const JWT_SECRET = 'legacy-portal-jwt-secret-for-conformance';
  const env = { ...fixture.inputs, JWT_SECRET };

  it.each(['apns', 'fcm'])(
    'gets identity <TWILIO_ML_APP_SID>_uid42 and the Python helper’s grants (%s)',
    async (type) => {
      const authorize = authorizer.createHandler({
        config: configLoader(FUNCTION_FIELDS.authorizer, env),
        log: recordingLog(),
        alert: async () => undefined,
      });
      const issue = callToken.createHandler({
        config: configLoader(FUNCTION_FIELDS.callToken, env),
        log: recordingLog(),
        alert: async () => undefined,
      });
      const legacy = fixture.cases.find((c) => c.userId === '42' && c.type === type);
      const event = callTokenEventWithQuery({ type });

      const decision = await authorize(authorizerRequest(`Bearer ${legacyPortalToken(42, JWT_SECRET)}`));
      if (!decision.isAuthorized) throw new Error('the authorizer denied the legacy token');
      event.requestContext.authorizer = { lambda: decision.context };
      const response = await issue(event);

      const { payload } = await jwtVerify(
        JSON.parse(response.body).data.token,
        new TextEncoder().encode(fixture.inputs.TWILIO_API_KEY_SECRET),
        { algorithms: ['HS256'] },
      );
      expect((payload.grants as { identity: string }).identity).toBe(`${fixture.inputs.TWILIO_ML_APP_SID}_uid42`);
      expect(payload.grants).toEqual(legacy?.payload.grants);
    },
  );
});
