import { jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/callToken.js';
import { type AlertSender, alertGate, type VendorAlert } from '../../lib/alerts.js';
import type { Env } from '../../lib/config.js';
import { configLoader } from '../../lib/functionConfig.js';
import { FUNCTION_FIELDS } from '../../lib/functionFields.js';
import { recordingLog } from '../support/recordingLog.js';
import { callTokenEvent, callTokenEventWithQuery } from './events.js';
import { INVALID_PARAMETERS_ALERT, SETTINGS, settings } from './settings.js';

// The envelopes the issue specifies, byte for byte.
const INVALID_PARAMETERS = '{"status":"fail","error":{"code":10001,"msg":"Invalid parameters"}}';
const INTERNAL_ERROR = '{"status":"fail","error":{"code":99999,"msg":"Internal error"}}';

function recordingAlerts() {
  const sent: { alert: VendorAlert; webhookUrl: string | undefined }[] = [];
  const send: AlertSender = async (alert, webhookUrl) => {
    sent.push({ alert, webhookUrl });
  };
  return { sent, send };
}

function callToken(env: Env = settings()) {
  const log = recordingLog();
  const alerts = recordingAlerts();
  const handler = createHandler({
    config: configLoader(FUNCTION_FIELDS.callToken, env),
    log,
    alert: alerts.send,
    alertGate: alertGate(),
  });
  return { handler, log, alerts };
}

async function issuedToken(response: { body: string }, secret: string = SETTINGS.TWILIO_API_KEY_SECRET) {
  const token = JSON.parse(response.body).data.token as string;
  const { payload, protectedHeader } = await jwtVerify(token, new TextEncoder().encode(secret), {
    algorithms: ['HS256'],
  });
  return { token, payload, header: protectedHeader };
}

describe('GET /api/v1/call_token: a token for the signed-in user', () => {
  it('answers 200 with the success envelope holding token, identity_prefix and expires_in', async () => {
    const { handler } = callToken();

    const response = await handler(callTokenEvent());

    expect(response.statusCode).toBe(200);
    const body = JSON.parse(response.body);
    expect(Object.keys(body)).toEqual(['status', 'data']);
    expect(body.status).toBe('success');
    expect(Object.keys(body.data).sort()).toEqual(['expires_in', 'identity_prefix', 'token']);
  });

  it('says in expires_in how many seconds the token lives: TWILIO_TOKEN_TTL, as its own exp claim says', async () => {
    const { handler } = callToken(settings({ TWILIO_TOKEN_TTL: '900' }));

    const response = await handler(callTokenEvent());

    const { expires_in } = JSON.parse(response.body).data;
    const { payload } = await issuedToken(response);
    expect(expires_in).toBe(900);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(900);
  });

  it('sends Content-Type application/json and Cache-Control no-store with the token', async () => {
    const { handler } = callToken();

    const response = await handler(callTokenEvent());

    expect(response.headers).toMatchObject({ 'content-type': 'application/json', 'cache-control': 'no-store' });
  });

  it('sets identity_prefix to TWILIO_ML_APP_SID + "_uid"', async () => {
    const { handler } = callToken();

    const response = await handler(callTokenEvent());

    expect(JSON.parse(response.body).data.identity_prefix).toBe(`${SETTINGS.TWILIO_ML_APP_SID}_uid`);
  });

  it('signs the token with TWILIO_API_KEY_SECRET (HS256), which jose verifies', async () => {
    const { handler } = callToken();

    const response = await handler(callTokenEvent());

    await expect(issuedToken(response)).resolves.toBeDefined();
  });

  it('signs with nothing but TWILIO_API_KEY_SECRET: another secret does not verify it', async () => {
    const { handler } = callToken();

    const response = await handler(callTokenEvent());

    await expect(issuedToken(response, SETTINGS.JWT_SECRET)).rejects.toThrow();
  });

  it('uses the header alg HS256, typ JWT, cty "twilio-fpa;v=1"', async () => {
    const { handler } = callToken();

    const { header } = await issuedToken(await handler(callTokenEvent()));

    expect(header).toEqual({ alg: 'HS256', typ: 'JWT', cty: 'twilio-fpa;v=1' });
  });

  it('issues the token by the API key (iss) for the account (sub)', async () => {
    const { handler } = callToken();

    const { payload } = await issuedToken(await handler(callTokenEvent()));

    expect({ iss: payload.iss, sub: payload.sub }).toEqual({
      iss: SETTINGS.TWILIO_API_KEY,
      sub: SETTINGS.TWILIO_ACCOUNT_SID,
    });
  });

  it('gives the identity <TWILIO_ML_APP_SID>_uid<user id> for the user the authorizer passed on', async () => {
    const { handler } = callToken();
    const event = callTokenEvent();
    event.requestContext.authorizer.lambda.userId = '987654321';

    const { payload } = await issuedToken(await handler(event));

    expect((payload.grants as { identity: string }).identity).toBe(`${SETTINGS.TWILIO_ML_APP_SID}_uid987654321`);
  });

  it('grants outgoing calls through TWILIO_ML_APP_SID', async () => {
    const { handler } = callToken();

    const { payload } = await issuedToken(await handler(callTokenEvent()));

    expect(payload.grants).toMatchObject({ voice: { outgoing: { application_sid: SETTINGS.TWILIO_ML_APP_SID } } });
  });

  it('uses TWILIO_ML_APNS_CERT_SID as push credential for type=apns', async () => {
    const { handler } = callToken();

    const { payload } = await issuedToken(await handler(callTokenEventWithQuery({ type: 'apns' })));

    expect(payload.grants).toMatchObject({ voice: { push_credential_sid: SETTINGS.TWILIO_ML_APNS_CERT_SID } });
  });

  it('uses TWILIO_ML_FCM_CERT_SID as push credential for type=fcm', async () => {
    const { handler } = callToken();

    const { payload } = await issuedToken(await handler(callTokenEventWithQuery({ type: 'fcm' })));

    expect(payload.grants).toMatchObject({ voice: { push_credential_sid: SETTINGS.TWILIO_ML_FCM_CERT_SID } });
  });

  it('makes the token live TWILIO_TOKEN_TTL seconds (exp - iat)', async () => {
    const { handler } = callToken(settings({ TWILIO_TOKEN_TTL: '900' }));

    const { payload } = await issuedToken(await handler(callTokenEvent()));

    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(900);
  });

  it('makes the token live 3600 s when TWILIO_TOKEN_TTL is not set', async () => {
    const { handler } = callToken();

    const { payload } = await issuedToken(await handler(callTokenEvent()));

    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(3600);
  });

  it('sends no alert when a token is issued', async () => {
    const { handler, alerts } = callToken();

    await handler(callTokenEvent());

    expect(alerts.sent).toEqual([]);
  });
});

describe('GET /api/v1/call_token: without a user from the authorizer (fail closed)', () => {
  it('answers 401 with the fail envelope when there is no authorizer context', async () => {
    const { handler } = callToken();
    const event = callTokenEvent();
    delete (event.requestContext as { authorizer?: unknown }).authorizer;

    const response = await handler(event);

    expect(response.statusCode).toBe(401);
    expect(JSON.parse(response.body)).toMatchObject({ status: 'fail', error: { msg: 'Unauthorized' } });
  });

  it('answers 401 when the authorizer context has no userId', async () => {
    const { handler } = callToken();
    const event = callTokenEvent();
    event.requestContext.authorizer.lambda = {};

    const response = await handler(event);

    expect(response.statusCode).toBe(401);
  });

  it('answers 401, not a token, when the userId is not a valid user id', async () => {
    const { handler } = callToken();
    const event = callTokenEvent();
    event.requestContext.authorizer.lambda.userId = '4;2';

    const response = await handler(event);

    expect(response.statusCode).toBe(401);
    expect(response.body).not.toContain('token');
  });
});

describe('GET /api/v1/call_token: invalid type', () => {
  it.each([
    ['missing', {}],
    ['no query string at all', undefined],
    ['empty', { type: '' }],
    ['unknown ("voip")', { type: 'voip' }],
    ['upper case ("APNS")', { type: 'APNS' }],
    ['repeated (API Gateway joins it to "apns,fcm")', { type: 'apns,fcm' }],
    ['padded (" apns")', { type: ' apns' }],
  ])('answers 400 {"status":"fail","error":{"code":10001,…}} when type is %s', async (_kind, query) => {
    const { handler } = callToken();

    const response = await handler(callTokenEventWithQuery(query));

    expect(response.statusCode).toBe(400);
    expect(response.body).toBe(INVALID_PARAMETERS);
    expect(response.headers).toMatchObject({ 'content-type': 'application/json' });
  });

  it("sends the legacy vendor alert, its meta the type sent and the other parameters' names, never their values", async () => {
    const { handler, alerts } = callToken();
    const bearer = 'eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyIjp7ImlkIjo0Mn19.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg';
    const query = { type: 'voip', app_version: '5.1.0', _token: bearer };

    await handler(callTokenEventWithQuery(query));

    expect(alerts.sent).toHaveLength(1);
    const { meta, ...fields } = alerts.sent[0]?.alert ?? ({} as VendorAlert);
    expect(fields).toEqual(INVALID_PARAMETERS_ALERT);
    expect(JSON.parse(meta)).toEqual({ type: 'voip', otherParameters: ['_token', 'app_version'] });
    expect(meta).not.toContain('5.1.0');
    expect(meta).not.toContain(bearer.split('.')[2]);
  });

  it('lists at most ten other parameter names, each cut like any value shown', async () => {
    const { handler, alerts } = callToken();
    const names = Array.from({ length: 30 }, (_, i) => `p${String(i).padStart(2, '0')}${'x'.repeat(100)}`);

    await handler(callTokenEventWithQuery({ type: 'sip', ...Object.fromEntries(names.map((n) => [n, '1'])) }));

    const { otherParameters } = JSON.parse(alerts.sent[0]?.alert.meta ?? '{}');
    expect(otherParameters).toEqual(names.slice(0, 10).map((n) => n.slice(0, 64)));
  });

  it('alerts the invalid types of one user once a minute whatever the values, so one user cannot flood Slack', async () => {
    const { handler, alerts } = callToken();
    const asUser = (userId: string, type: string) => {
      const event = callTokenEventWithQuery({ type });
      event.requestContext.authorizer = { lambda: { userId } };
      return event;
    };

    for (let i = 0; i < 50; i++) await handler(asUser('42', `voip-${i}`));
    await handler(asUser('43', 'sip'));

    expect(alerts.sent.map((s) => JSON.parse(s.alert.meta).type)).toEqual(['voip-0', 'sip']);
  });

  it('still answers 400 to a repeated invalid type whose alert was suppressed', async () => {
    const { handler } = callToken();
    await handler(callTokenEventWithQuery({ type: 'voip' }));

    const response = await handler(callTokenEventWithQuery({ type: 'voip' }));

    expect(response.statusCode).toBe(400);
    expect(response.body).toBe(INVALID_PARAMETERS);
  });

  it('sends the alert to SLACK_WEBHOOK_URL', async () => {
    const { handler, alerts } = callToken(
      settings({ SLACK_WEBHOOK_URL: 'https://hooks.slack.test/services/T1/B2/C3' }),
    );

    await handler(callTokenEventWithQuery({ type: 'voip' }));

    expect(alerts.sent.map((s) => s.webhookUrl)).toEqual(['https://hooks.slack.test/services/T1/B2/C3']);
  });
});

describe('GET /api/v1/call_token: any other failure', () => {
  it('answers 500 {"status":"fail","error":{"code":99999,…}} when a setting is invalid', async () => {
    const { handler } = callToken(settings({ TWILIO_ML_APP_SID: 'AP-not-a-sid' }));

    const response = await handler(callTokenEvent());

    expect(response.statusCode).toBe(500);
    expect(response.body).toBe(INTERNAL_ERROR);
  });

  it('names the invalid setting in the log, not in the body', async () => {
    const { handler, log } = callToken(settings({ TWILIO_ML_APP_SID: 'AP-not-a-sid' }));

    const response = await handler(callTokenEvent());

    expect(log.entries.filter((e) => e.level === 'error').map((e) => JSON.stringify(e))).toContainEqual(
      expect.stringContaining('TWILIO_ML_APP_SID must be \\"AP\\" followed by 32 hex digits'),
    );
    expect(response.body).not.toContain('TWILIO_ML_APP_SID');
  });

  it('answers 500 and names the secret when TWILIO_API_KEY_SECRET is missing', async () => {
    const { handler, log } = callToken(settings({ TWILIO_API_KEY_SECRET: undefined }));

    const response = await handler(callTokenEvent());

    expect(response.body).toBe(INTERNAL_ERROR);
    expect(log.text()).toContain('TWILIO_API_KEY_SECRET is required');
  });

  it('sends an alert for the failure', async () => {
    const { handler, alerts } = callToken(settings({ TWILIO_ML_FCM_CERT_SID: 'nope' }));

    await handler(callTokenEvent());

    expect(alerts.sent.map((s) => s.alert)).toEqual([
      expect.objectContaining({
        status: 'ERROR',
        vendor: 'Twilio',
        vendorApi: 'token',
        originApi: '[GET] /api/v1/call_token',
      }),
    ]);
  });

  it('puts no secret value in the log, the alert or the body', async () => {
    const leakySecret = 'TOPSECRET-api-key-secret-value';
    const { handler, log, alerts } = callToken(
      settings({ TWILIO_API_KEY_SECRET: leakySecret, TWILIO_API_KEY: 'SKtoo-short-TOPSECRET' }),
    );

    const response = await handler(callTokenEvent());

    expect(response.statusCode).toBe(500);
    const everything = [response.body, log.text(), JSON.stringify(alerts.sent)].join('\n');
    expect(everything).toContain('TWILIO_API_KEY');
    expect(everything).not.toContain('TOPSECRET');
  });
});
