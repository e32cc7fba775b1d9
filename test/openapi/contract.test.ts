/**
 * The API contract for app developers, `infra/openapi.json`: a valid OpenAPI 3.1 document,
 * exactly the deployed routes, a checker that catches drift, and the real local gateway's
 * answers matching it. (Every other test that starts the local gateway is checked against
 * the document too: see test/support/localGateway.ts.)
 */
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { gatewayResponses, type LocalResponse } from '../../infra/local/apiGatewayEvent.js';
import { localEnv } from '../../infra/local/localEnv.js';
import { portalToken } from '../../infra/local/portalToken.js';
import { ROUTES } from '../../infra/routes.js';
import { tryLater } from '../../lib/callWebhook.js';
import {
  type HttpResponse,
  internalError,
  invalidParameters,
  plainText,
  serviceUnavailable,
  success,
  twiml,
  unauthorized,
} from '../../lib/httpResponses.js';
import { callStatusFailure, dialOutcomeTwiml, dialStatusFailure } from '../../lib/statusWebhooks.js';
import { ApiContract, apiContract, checkResponse, OPENAPI_PATH } from '../support/apiContract.js';
import { type RunningGateway, startLocalGateway } from '../support/localGateway.js';
import { useSecretsManagerEndpoint } from '../support/secretsManagerEndpoint.js';

const CALL_TOKEN = '/api/v1/call_token';
const MAKE_CALL = '/api/v1/make_call';
const DIAL_STATUS = '/api/v1/dial_status';
const CALL_STATUS = '/api/v1/call_status';

const readDocument = () => JSON.parse(readFileSync(OPENAPI_PATH, 'utf8'));
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

beforeAll(() => {
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
});
afterAll(() => {
  vi.unstubAllEnvs();
});

describe('infra/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document (@seriousme/openapi-schema-validator)', async () => {
    const validator = new Validator();

    const result = await validator.validate(structuredClone(readDocument()));

    expect(result.errors).toBeUndefined();
    expect([result.valid, validator.version]).toEqual([true, '3.1']);
  });

  it('is refused by that validator once broken (the control: an unresolvable $ref)', async () => {
    const broken = readDocument();
    broken.paths[MAKE_CALL].post.responses['403'] = { $ref: '#/components/responses/NoSuchResponse' };

    const result = await new Validator().validate(broken);

    expect(result.valid).toBe(false);
  });

  it('holds only schemas that compile under Ajv 2020-12 in strict mode', () => {
    expect(new ApiContract(readDocument()).compileAll()).toBeGreaterThan(20);
  });

  it('documents exactly the routes of infra/routes.ts, method and path', () => {
    const documented = Object.entries<Record<string, unknown>>(readDocument().paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((key) => METHODS.includes(key))
        .map((method) => `${method.toUpperCase()} ${path}`),
    );

    expect(documented.sort()).toEqual(ROUTES.map((route) => `${route.method} ${route.path}`).sort());
  });

  it('asks for the bearer token exactly on the routes the authorizer guards', () => {
    const { paths } = readDocument();

    const secured = ROUTES.map((route) => {
      const security = paths[route.path][route.method.toLowerCase()].security;
      return [route.path, security.length > 0 ? 'portalBearer' in security[0] : false];
    });

    expect(secured).toEqual(ROUTES.map((route) => [route.path, route.authorized]));
  });

  it('requires X-Twilio-Signature on every route the authorizer does not guard', () => {
    const { paths } = readDocument();

    const signed = ROUTES.filter((route) => !route.authorized).map((route) => {
      const parameters: { $ref?: string }[] = paths[route.path][route.method.toLowerCase()].parameters;
      return parameters.some((p) => p.$ref === '#/components/parameters/TwilioSignature');
    });

    expect(signed).toEqual(ROUTES.filter((route) => !route.authorized).map(() => true));
  });
});

const JSON_NO_STORE = { 'content-type': 'application/json', 'cache-control': 'no-store' };
const TOKEN_DATA = {
  token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2ln',
  identity_prefix: `AP${'0a'.repeat(16)}_uid`,
  expires_in: 3600,
};
const TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>';

describe('the contract checker catches drift', () => {
  it.each<[string, string, string, number, Record<string, string>, string, RegExp]>([
    [
      'a 200 token without expires_in',
      'GET',
      CALL_TOKEN,
      200,
      JSON_NO_STORE,
      JSON.stringify({
        status: 'success',
        data: { token: TOKEN_DATA.token, identity_prefix: TOKEN_DATA.identity_prefix },
      }),
      /required property 'expires_in'/,
    ],
    [
      'a 200 token whose identity_prefix is no TwiML App SID',
      'GET',
      CALL_TOKEN,
      200,
      JSON_NO_STORE,
      JSON.stringify({ status: 'success', data: { ...TOKEN_DATA, identity_prefix: 'driver_uid' } }),
      /identity_prefix must match pattern/,
    ],
    [
      'a 200 token with a field the document does not name',
      'GET',
      CALL_TOKEN,
      200,
      JSON_NO_STORE,
      JSON.stringify({ status: 'success', data: { ...TOKEN_DATA, refresh: true } }),
      /must NOT have additional properties/,
    ],
    [
      'a 200 token without Cache-Control',
      'GET',
      CALL_TOKEN,
      200,
      { 'content-type': 'application/json' },
      JSON.stringify({ status: 'success', data: TOKEN_DATA }),
      /header Cache-Control is required but missing/,
    ],
    [
      'a 503 without Retry-After',
      'GET',
      CALL_TOKEN,
      503,
      JSON_NO_STORE,
      JSON.stringify({ status: 'fail', error: { code: 99999, msg: 'Service temporarily unavailable' } }),
      /header Retry-After is required but missing/,
    ],
    [
      'a 400 with an error code the portal does not have',
      'GET',
      CALL_TOKEN,
      400,
      JSON_NO_STORE,
      JSON.stringify({ status: 'fail', error: { code: 10002, msg: 'Invalid parameters' } }),
      /code must be equal to constant/,
    ],
    [
      'a 200 token sent as text/plain',
      'GET',
      CALL_TOKEN,
      200,
      { 'content-type': 'text/plain', 'cache-control': 'no-store' },
      JSON.stringify({ status: 'success', data: TOKEN_DATA }),
      /Content-Type text\/plain is not documented/,
    ],
    ['a 500 from make_call', 'POST', MAKE_CALL, 500, {}, '', /status 500 is not documented/],
    [
      'TwiML without the XML declaration',
      'POST',
      MAKE_CALL,
      200,
      { 'content-type': 'text/xml', 'cache-control': 'no-store' },
      '<Response><Hangup/></Response>',
      /must match pattern/,
    ],
    [
      'a 204 from call_status with a body',
      'POST',
      CALL_STATUS,
      204,
      { 'cache-control': 'no-store' },
      'ok',
      /documented without a body/,
    ],
    [
      'a 403 from make_call that is not "Forbidden"',
      'POST',
      MAKE_CALL,
      403,
      { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
      'Denied',
      /must be equal to constant/,
    ],
    [
      'a 200 on a path the document does not have',
      'GET',
      '/api/v1/no_such_route',
      200,
      JSON_NO_STORE,
      '{}',
      /no route: x-unrouted-responses\): status 200 is not documented/,
    ],
  ])('reports %s', (_name, method, path, status, headers, body, expected) => {
    const violations = checkResponse(method, path, status, headers, body);

    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatch(expected);
  });

  const asResponse = (response: HttpResponse | LocalResponse) => ({
    status: response.statusCode,
    headers: (response.headers ?? {}) as Record<string, string>,
    body: response.body,
  });

  it.each<[string, string, string, HttpResponse | LocalResponse]>([
    ['call_token 200', 'GET', CALL_TOKEN, success(TOKEN_DATA)],
    ['call_token 400', 'GET', CALL_TOKEN, invalidParameters()],
    ['call_token 401 (ours)', 'GET', CALL_TOKEN, unauthorized()],
    ['call_token 401 (API Gateway)', 'GET', CALL_TOKEN, gatewayResponses.unauthorized()],
    ['call_token 403 (API Gateway)', 'GET', CALL_TOKEN, gatewayResponses.forbidden()],
    [
      'call_token 429 (API Gateway)',
      'GET',
      CALL_TOKEN,
      { statusCode: 429, headers: { 'content-type': 'application/json' }, body: '{"message":"Too Many Requests"}' },
    ],
    ['call_token 500 (ours)', 'GET', CALL_TOKEN, internalError()],
    ['call_token 500 (API Gateway)', 'GET', CALL_TOKEN, gatewayResponses.internalError()],
    ['call_token 503', 'GET', CALL_TOKEN, serviceUnavailable()],
    ['make_call 200 (try later)', 'POST', MAKE_CALL, tryLater()],
    ['make_call 400', 'POST', MAKE_CALL, plainText(400, 'Bad Request: body is not valid base64')],
    ['make_call 413 (ours)', 'POST', MAKE_CALL, plainText(413, 'Payload Too Large')],
    ['make_call 413 (API Gateway)', 'POST', MAKE_CALL, gatewayResponses.tooLarge()],
    ['make_call 415', 'POST', MAKE_CALL, plainText(415, 'Unsupported Media Type: send form or JSON')],
    ['dial_status 200 (busy)', 'POST', DIAL_STATUS, twiml(dialOutcomeTwiml('busy'))],
    ['dial_status 200 (our failure)', 'POST', DIAL_STATUS, dialStatusFailure()],
    ['call_status 503 (our failure)', 'POST', CALL_STATUS, callStatusFailure()],
    ['an unknown path 404 (API Gateway)', 'POST', '/api/v1/make_call/', gatewayResponses.notFound()],
  ])('accepts %s as the code builds it', (_name, method, path, response) => {
    expect(apiContract().checkResponse(method, path, asResponse(response))).toEqual([]);
  });

  it('accepts hand-written TwiML that starts with the declaration (the control for the pattern)', () => {
    expect(
      checkResponse('POST', MAKE_CALL, 200, { 'content-type': 'text/xml', 'cache-control': 'no-store' }, TWIML),
    ).toEqual([]);
  });
});

/** A copy of the document whose 200 token also requires `refresh_after`, which the service does not send. */
function contractRequiringRefreshAfter(): ApiContract {
  const document = readDocument();
  document.components.schemas.CallToken.required.push('refresh_after');
  return new ApiContract(document);
}

describe('the local gateway fails a test whose response breaks the contract', () => {
  let gateway: RunningGateway;
  let token: string;
  beforeAll(async () => {
    gateway = await startLocalGateway({}, {}, { contract: contractRequiringRefreshAfter() });
    token = await portalToken('42', gateway.env.JWT_SECRET ?? '');
  });
  afterAll(() => gateway.close());

  it.fails('fails this test: its 200 token has no refresh_after (it.fails: the failure is expected)', async () => {
    const response = await fetch(`${gateway.baseUrl}${CALL_TOKEN}?type=apns`, {
      headers: { authorization: `Bearer ${token}` },
    });

    // Everything the test itself asserts holds: only the contract check can fail it.
    expect(response.status).toBe(200);
  });

  it('recorded that one violation, and only it', () => {
    expect(gateway.contractViolations).toHaveLength(1);
    expect(gateway.contractViolations[0]).toMatch(
      /^GET \/api\/v1\/call_token 200: body .*required property 'refresh_after'/,
    );
  });
});

describe('the local gateway reports a violation sent outside any test when it closes', () => {
  let gateway: RunningGateway;
  beforeAll(async () => {
    gateway = await startLocalGateway({}, {}, { contract: contractRequiringRefreshAfter() });
    const token = await portalToken('42', gateway.env.JWT_SECRET ?? '');
    await fetch(`${gateway.baseUrl}${CALL_TOKEN}?type=fcm`, { headers: { authorization: `Bearer ${token}` } });
  });

  it('close() rejects, naming the violation', async () => {
    await expect(gateway.close()).rejects.toThrow(/outside any test:\nGET \/api\/v1\/call_token 200: .*refresh_after/);
  });
});

describe('the local gateway does not check a stand-in handler against the contract', () => {
  it('skips the answers of a replaced function and checks the others', async () => {
    const standIn = async () => ({ statusCode: 200, body: 'not the contract' });
    const gateway = await startLocalGateway({}, { makeCall: standIn });
    try {
      await fetch(`${gateway.baseUrl}${MAKE_CALL}`, { method: 'POST' });
      await fetch(`${gateway.baseUrl}/nope`);

      expect([gateway.contractChecks, gateway.contractViolations]).toEqual([{ checked: 1, skipped: 1 }, []]);
    } finally {
      await gateway.close();
    }
  });
});

async function exchange(gateway: RunningGateway, path: string, init: RequestInit = {}) {
  const response = await fetch(`${gateway.baseUrl}${path}`, init);
  return { status: response.status, headers: response.headers, body: await response.text() };
}

const form = (params: Record<string, string>, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  body: new URLSearchParams(params).toString(),
});

// A call from user 42 of the local gateway's (development) account and app.
const { env: LOCAL } = localEnv({}, {});
const CALL = {
  CallSid: `CA${'1'.repeat(32)}`,
  AccountSid: LOCAL.TWILIO_ACCOUNT_SID as string,
  From: `client:${LOCAL.TWILIO_ML_APP_SID}_uid42`,
  To: '',
};

describe('the real local gateway answers as documented', () => {
  let gateway: RunningGateway;
  let token: string;
  beforeAll(async () => {
    gateway = await startLocalGateway();
    token = await portalToken('42', gateway.env.JWT_SECRET ?? '');
  });
  afterAll(() => gateway.close());
  const bearer = () => ({ headers: { authorization: `Bearer ${token}` } });

  it('call_token 200: the token, identity_prefix and expires_in', async () => {
    const response = await exchange(gateway, `${CALL_TOKEN}?type=apns`, bearer());

    expect([response.status, Object.keys(JSON.parse(response.body).data).sort()]).toEqual([
      200,
      ['expires_in', 'identity_prefix', 'token'],
    ]);
  });

  it('call_token 400: an unknown type', async () => {
    expect((await exchange(gateway, `${CALL_TOKEN}?type=web`, bearer())).status).toBe(400);
  });

  it('call_token 401: no Authorization header (API Gateway)', async () => {
    expect((await exchange(gateway, `${CALL_TOKEN}?type=apns`)).status).toBe(401);
  });

  it('call_token 403: a token signed with another secret (API Gateway)', async () => {
    const forged = await portalToken('42', 'not-the-configured-jwt-secret');

    const response = await exchange(gateway, `${CALL_TOKEN}?type=apns`, {
      headers: { authorization: `Bearer ${forged}` },
    });

    expect(response.status).toBe(403);
  });

  it('make_call 200: TwiML that dials an app user', async () => {
    const response = await exchange(gateway, MAKE_CALL, form({ ...CALL, to: 'client:alice' }));

    expect([response.status, response.body]).toEqual([200, expect.stringContaining('<Client>alice</Client>')]);
  });

  it('make_call 200: a JSON body', async () => {
    const response = await exchange(gateway, MAKE_CALL, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...CALL, to: '+14155552671' }),
    });

    expect(response.status).toBe(200);
  });

  it('make_call 400: a JSON body that is not an object of strings', async () => {
    const response = await exchange(gateway, MAKE_CALL, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '["to"]',
    });

    expect(response.status).toBe(400);
  });

  it('make_call 413: a body over 16 KiB', async () => {
    expect((await exchange(gateway, MAKE_CALL, form({ ...CALL, to: 'x'.repeat(17 * 1024) }))).status).toBe(413);
  });

  it('make_call 415: a body that is neither form nor JSON', async () => {
    const response = await exchange(gateway, MAKE_CALL, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'to=client:alice',
    });

    expect(response.status).toBe(415);
  });

  it('dial_status 200: TwiML for the caller once the dial ended', async () => {
    const response = await exchange(
      gateway,
      `${DIAL_STATUS}?leg=client`,
      form({ ...CALL, DialCallStatus: 'no-answer', DialCallSid: `CA${'3'.repeat(32)}`, DialCallDuration: '0' }),
    );

    expect(response.status).toBe(200);
  });

  it('call_status 204: no body', async () => {
    const response = await exchange(
      gateway,
      CALL_STATUS,
      form({ ...CALL, To: 'client:alice', CallStatus: 'completed', CallDuration: '12', SequenceNumber: '3' }),
    );

    expect([response.status, response.body]).toEqual([204, '']);
  });

  it('dial_status 200 and call_status 204: JSON bodies, as the document allows', async () => {
    const json = (params: Record<string, string>): RequestInit => ({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(params),
    });
    const dial = await exchange(gateway, `${DIAL_STATUS}?leg=number`, json({ ...CALL, DialCallStatus: 'busy' }));
    const status = await exchange(gateway, CALL_STATUS, json({ ...CALL, To: 'client:alice', CallStatus: 'ringing' }));

    expect([dial.status, dial.body]).toEqual([200, expect.stringContaining('busy')]);
    expect([status.status, status.body]).toEqual([204, '']);
  });

  it('404: a path the document does not have (x-unrouted-responses)', async () => {
    expect((await exchange(gateway, '/api/v1/no_such_route')).status).toBe(404);
  });

  it('checked every one of those answers, and none broke the contract', () => {
    expect([gateway.contractChecks.checked, gateway.contractChecks.skipped, gateway.contractViolations]).toEqual([
      14,
      0,
      [],
    ]);
  });
});

describe('the real local gateway with TWILIO_AUTH_TOKEN: unsigned webhooks are refused as documented', () => {
  const AUTH_TOKEN = 'contract-test-auth-token-0123456';
  let gateway: RunningGateway;
  beforeAll(async () => {
    gateway = await startLocalGateway({ TWILIO_AUTH_TOKEN: AUTH_TOKEN });
  });
  afterAll(() => gateway.close());

  it.each([MAKE_CALL, DIAL_STATUS, CALL_STATUS])('%s 403: no X-Twilio-Signature', async (path) => {
    const response = await exchange(gateway, path, form(CALL));

    expect([response.status, response.body]).toEqual([403, 'Forbidden']);
  });

  it('make_call 200: a request signed for http://127.0.0.1:<port>/api/v1/make_call', async () => {
    const params = { ...CALL, to: 'client:alice' };
    const signature = getExpectedTwilioSignature(AUTH_TOKEN, `${gateway.baseUrl}${MAKE_CALL}`, params);

    const response = await exchange(gateway, MAKE_CALL, form(params, { 'x-twilio-signature': signature }));

    expect(response.status).toBe(200);
  });
});

describe('the real local gateway when something of ours fails', () => {
  it('call_token 500 (ours): a bad setting', async () => {
    const gateway = await startLocalGateway({ TWILIO_ML_APP_SID: 'not-a-sid' });
    try {
      const token = await portalToken('42', gateway.env.JWT_SECRET ?? '');

      const response = await exchange(gateway, `${CALL_TOKEN}?type=apns`, {
        headers: { authorization: `Bearer ${token}` },
      });

      expect([response.status, JSON.parse(response.body).error.code]).toEqual([500, 99999]);
    } finally {
      await gateway.close();
    }
  });

  it('call_token 500 (API Gateway): the authorizer has no usable secret', async () => {
    const gateway = await startLocalGateway({ JWT_SECRET: 'short' });
    try {
      const token = await portalToken('42', 'short');

      const response = await exchange(gateway, `${CALL_TOKEN}?type=apns`, {
        headers: { authorization: `Bearer ${token}` },
      });

      expect([response.status, response.body]).toEqual([500, '{"message":"Internal Server Error"}']);
    } finally {
      await gateway.close();
    }
  });

  it('call_token 401 (ours): the function runs without the authorizer’s user (a stand-in authorizer)', async () => {
    const gateway = await startLocalGateway(
      {},
      { authorizer: async () => ({ isAuthorized: true, context: { userId: '' } }) },
    );
    try {
      const response = await exchange(gateway, `${CALL_TOKEN}?type=apns`, { headers: { authorization: 'Bearer x' } });

      expect([response.status, JSON.parse(response.body).error.code]).toEqual([401, 10003]);
      expect(gateway.contractChecks.checked).toBe(1);
    } finally {
      await gateway.close();
    }
  });

  it('dial_status 200 and call_status 503: a bad setting', async () => {
    const gateway = await startLocalGateway({ PUBLIC_BASE_URL: 'ftp://voice.example.com' });
    try {
      const dial = await exchange(gateway, `${DIAL_STATUS}?leg=number`, form({ ...CALL, DialCallStatus: 'busy' }));
      const status = await exchange(gateway, CALL_STATUS, form({ ...CALL, CallStatus: 'ringing' }));

      expect([dial.status, dial.body, status.status]).toEqual([200, expect.stringContaining('<Hangup/>'), 503]);
    } finally {
      await gateway.close();
    }
  });

  describe('the secret store cannot be read', () => {
    useSecretsManagerEndpoint({ error: 'AccessDeniedException', status: 400 });

    it('call_token 503 with Retry-After (a stand-in authorizer lets the request reach the function)', async () => {
      const gateway = await startLocalGateway(
        { SECRET_ID: 'voice/contract' },
        { authorizer: async () => ({ isAuthorized: true, context: { userId: '42' } }) },
      );
      try {
        const response = await exchange(gateway, `${CALL_TOKEN}?type=apns`, { headers: { authorization: 'Bearer x' } });

        expect([response.status, response.headers.get('retry-after')]).toEqual([503, '30']);
      } finally {
        await gateway.close();
      }
    });
  });
});
