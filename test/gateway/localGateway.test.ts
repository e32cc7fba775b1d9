/**
 * The local gateway (`npm start`'s server) over real HTTP on loopback: API Gateway's
 * own answers, the authorizer in front of call_token, and the real functions behind.
 */
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { jwtVerify } from 'jose';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEVELOPMENT_SETTINGS } from '../../infra/local/localEnv.js';
import { portalToken } from '../../infra/local/portalToken.js';
import { type RunningGateway, startLocalGateway } from '../support/localGateway.js';
import { legacyPortalToken } from '../support/portalTokens.js';
import { useSecretsManagerEndpoint } from '../support/secretsManagerEndpoint.js';

const CALL_TOKEN = '/api/v1/call_token';

// The functions log through Powertools to stdout; keep the test output readable.
beforeAll(() => {
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
});
afterAll(() => {
  vi.unstubAllEnvs();
});

async function get(gateway: RunningGateway, path: string, authorization?: string) {
  const response = await fetch(`${gateway.baseUrl}${path}`, {
    headers: authorization === undefined ? {} : { authorization },
  });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/** The Twilio token in a 200 body, verified with the API key secret it must be signed with. */
async function twilioClaims(body: string, apiKeySecret: string) {
  const { payload } = await jwtVerify(JSON.parse(body).data.token, new TextEncoder().encode(apiKeySecret), {
    algorithms: ['HS256'],
  });
  return payload as { iss: string; grants: { identity: string } };
}

describe('local gateway with the built-in development settings', () => {
  let gateway: RunningGateway;
  let token: string;
  beforeAll(async () => {
    gateway = await startLocalGateway();
    token = await portalToken('42', gateway.env.JWT_SECRET ?? '');
  });
  afterAll(() => gateway.close());

  it('answers 401 {"message":"Unauthorized"} to call_token without an Authorization header', async () => {
    const response = await get(gateway, `${CALL_TOKEN}?type=apns`);

    expect([response.status, response.body]).toEqual([401, '{"message":"Unauthorized"}']);
  });

  it('answers 403 {"message":"Forbidden"} when the authorizer denies the token', async () => {
    const forged = await portalToken('42', 'not-the-configured-jwt-secret');

    const response = await get(gateway, `${CALL_TOKEN}?type=apns`, `Bearer ${forged}`);

    expect([response.status, response.body]).toEqual([403, '{"message":"Forbidden"}']);
  });

  it('answers 403 to a malformed Authorization header', async () => {
    const response = await get(gateway, `${CALL_TOKEN}?type=apns`, `Basic ${token}`);

    expect(response.status).toBe(403);
  });

  it('answers 404 {"message":"Not Found"} to an unknown route', async () => {
    const response = await get(gateway, '/api/v1/no_such_route', `Bearer ${token}`);

    expect([response.status, response.body]).toEqual([404, '{"message":"Not Found"}']);
  });

  it('answers 404 {"message":"Not Found"} to a known path with another method', async () => {
    const response = await fetch(`${gateway.baseUrl}${CALL_TOKEN}?type=apns`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });

    expect([response.status, await response.text()]).toEqual([404, '{"message":"Not Found"}']);
  });

  it('answers 200 with a Twilio token for the development token of user 42', async () => {
    const response = await get(gateway, `${CALL_TOKEN}?type=apns`, `Bearer ${token}`);

    expect(response.status).toBe(200);
    const claims = await twilioClaims(response.body, gateway.env.TWILIO_API_KEY_SECRET ?? '');
    expect(claims.grants.identity).toBe(`${gateway.env.TWILIO_ML_APP_SID}_uid42`);
  });

  it('passes the user the authorizer allowed on to call_token (user 7 gets uid7)', async () => {
    const other = await portalToken('7', gateway.env.JWT_SECRET ?? '');

    const response = await get(gateway, `${CALL_TOKEN}?type=fcm`, `Bearer ${other}`);

    const claims = await twilioClaims(response.body, gateway.env.TWILIO_API_KEY_SECRET ?? '');
    expect(claims.grants.identity).toBe(`${gateway.env.TWILIO_ML_APP_SID}_uid7`);
  });

  it('answers 200 to a legacy portal token with a lower-case "bearer" scheme', async () => {
    const legacy = legacyPortalToken(42, gateway.env.JWT_SECRET ?? '');

    const response = await get(gateway, `${CALL_TOKEN}?type=fcm`, `bearer ${legacy}`);

    expect(response.status).toBe(200);
  });

  it('sends Content-Type application/json and Cache-Control no-store with a token', async () => {
    const response = await get(gateway, `${CALL_TOKEN}?type=apns`, `Bearer ${token}`);

    expect([response.headers.get('content-type'), response.headers.get('cache-control')]).toEqual([
      'application/json',
      'no-store',
    ]);
  });

  it('answers the 400 envelope when type is missing', async () => {
    const response = await get(gateway, CALL_TOKEN, `Bearer ${token}`);

    expect([response.status, response.body]).toEqual([
      400,
      '{"status":"fail","error":{"code":10001,"msg":"Invalid parameters"}}',
    ]);
  });
});

describe('local gateway when the authorizer throws', () => {
  it('answers 500 {"message":"Internal Server Error"} when JWT_SECRET is invalid', async () => {
    const gateway = await startLocalGateway({ JWT_SECRET: 'short' });
    try {
      const token = await portalToken('42', 'short');

      const response = await get(gateway, `${CALL_TOKEN}?type=apns`, `Bearer ${token}`);

      expect([response.status, response.body]).toEqual([500, '{"message":"Internal Server Error"}']);
    } finally {
      await gateway.close();
    }
  });
});

describe('local gateway with SECRET_ID: secrets from Secrets Manager, as on Lambda', () => {
  const STORED = {
    TWILIO_API_KEY: `SK${'9f'.repeat(16)}`,
    TWILIO_API_KEY_SECRET: 'api-key-secret-stored-in-secrets-manager',
    JWT_SECRET: 'jwt-secret-stored-in-secrets-manager',
  };
  const endpoint = useSecretsManagerEndpoint({ secretString: JSON.stringify(STORED) });
  let gateway: RunningGateway;
  beforeAll(async () => {
    gateway = await startLocalGateway({ SECRET_ID: 'voice/local' });
  });
  afterAll(() => gateway.close());

  it('accepts a token signed with the stored JWT_SECRET and issues a token with the stored API key', async () => {
    const token = await portalToken('42', STORED.JWT_SECRET);

    const response = await get(gateway, `${CALL_TOKEN}?type=apns`, `Bearer ${token}`);

    expect(response.status).toBe(200);
    const claims = await twilioClaims(response.body, STORED.TWILIO_API_KEY_SECRET);
    expect(claims.iss).toBe(STORED.TWILIO_API_KEY);
    expect(endpoint.requests.map((r) => r.secretId)).toContain('voice/local');
  });

  it('denies a token signed with the development JWT secret (no development secrets with SECRET_ID)', async () => {
    const token = await portalToken('42', DEVELOPMENT_SETTINGS.JWT_SECRET ?? '');

    const response = await get(gateway, `${CALL_TOKEN}?type=apns`, `Bearer ${token}`);

    expect(response.status).toBe(403);
  });

  it('answers 500 {"message":"Internal Server Error"} when Secrets Manager fails', async () => {
    const failing = await startLocalGateway({ SECRET_ID: 'voice/failing' });
    endpoint.behaviour = { error: 'AccessDeniedException', status: 400 };
    try {
      const token = await portalToken('42', STORED.JWT_SECRET);

      const response = await get(failing, `${CALL_TOKEN}?type=apns`, `Bearer ${token}`);

      expect([response.status, response.body]).toEqual([500, '{"message":"Internal Server Error"}']);
    } finally {
      endpoint.behaviour = { secretString: JSON.stringify(STORED) };
      await failing.close();
    }
  });
});

/** Sends raw bytes (what fetch refuses to send) and resolves with whatever comes back. */
function rawRequest(baseUrl: string, bytes: string, hangUpAfterMs?: number): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve) => {
    let received = '';
    const socket = connect(Number(port), hostname, () => {
      if (hangUpAfterMs === undefined) socket.end(bytes);
      else {
        socket.write(bytes);
        setTimeout(() => socket.destroy(), hangUpAfterMs);
      }
    });
    socket.on('data', (chunk) => {
      received += chunk.toString();
    });
    socket.on('close', () => resolve(received));
    socket.on('error', () => resolve(received));
  });
}

describe('local gateway under malformed requests', () => {
  let gateway: RunningGateway;
  beforeAll(async () => {
    gateway = await startLocalGateway();
  });
  afterAll(() => gateway.close());

  it('answers 400 to a request URL that does not parse, and keeps serving', async () => {
    const reply = await rawRequest(gateway.baseUrl, 'GET http://[x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');

    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect((await fetch(`${gateway.baseUrl}/nope`)).status).toBe(404);
  });

  it('keeps serving after a client hangs up in the middle of a body', async () => {
    await rawRequest(
      gateway.baseUrl,
      'POST /api/v1/make_call HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nto=%2B1',
      50,
    );

    expect((await fetch(`${gateway.baseUrl}/nope`)).status).toBe(404);
  });
});

/** Header lines to send: an array value is sent as one line per element. */
type HeaderLines = Record<string, string | string[]>;

/**
 * One request through node:http, not fetch: fetch normalises the path (`/a/../b` → `/b`)
 * and merges repeated headers, the very things these tests send.
 */
function send(
  baseUrl: string,
  options: { method?: string; path: string; headers?: HeaderLines; body?: string },
): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(baseUrl);
  // Node's raw form, [name, value, name, value, …], sends every pair as its own line (and
  // adds no Host header of its own).
  const lines: HeaderLines = { host: `${hostname}:${port}`, ...options.headers };
  const headers = Object.entries(lines).flatMap(([name, value]) =>
    (Array.isArray(value) ? value : [value]).flatMap((line) => [name, line]),
  );
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: hostname,
        port: Number(port),
        agent: false,
        method: options.method ?? 'GET',
        path: options.path,
        headers,
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

/**
 * The real gateway and authorizer with both routes answering the event they were handed
 * as JSON: what the gateway builds, seen from the function's side, over real HTTP.
 */
function startEventEchoingGateway(): Promise<RunningGateway> {
  const echo = async (event: APIGatewayProxyEventV2) => ({ statusCode: 200, body: JSON.stringify(event) });
  return startLocalGateway({}, { callToken: echo, makeCall: echo });
}

const MAKE_CALL = '/api/v1/make_call';

describe('local gateway: repeated and forwarding headers as HTTP API hands them on', () => {
  let gateway: RunningGateway;
  let echoing: RunningGateway;
  beforeAll(async () => {
    gateway = await startLocalGateway();
    echoing = await startEventEchoingGateway();
  });
  afterAll(async () => {
    await gateway.close();
    await echoing.close();
  });
  const eventFor = async (headers: HeaderLines) => {
    const response = await send(echoing.baseUrl, { method: 'POST', path: MAKE_CALL, headers });
    return JSON.parse(response.body) as APIGatewayProxyEventV2;
  };

  it('denies (403) two Authorization headers, joined into one "a,b" value, though each alone is valid', async () => {
    const token = await portalToken('42', gateway.env.JWT_SECRET ?? '');
    const path = `${CALL_TOKEN}?type=apns`;

    const once = await send(gateway.baseUrl, { path, headers: { authorization: `Bearer ${token}` } });
    const twice = await send(gateway.baseUrl, {
      path,
      headers: { authorization: [`Bearer ${token}`, `Bearer ${token}`] },
    });

    expect([once.status, twice.status, twice.body]).toEqual([200, 403, '{"message":"Forbidden"}']);
  });

  it('joins every value of a repeated header with ",", those Node keeps only once included', async () => {
    const event = await eventFor({ 'user-agent': ['first/1', 'second/2'], 'x-twilio-signature': ['a', 'b'] });

    expect([event.headers['user-agent'], event.headers['x-twilio-signature']]).toEqual(['first/1,second/2', 'a,b']);
  });

  it('sets X-Forwarded-For to the client address, 127.0.0.1, when the client sent none', async () => {
    const event = await eventFor({});

    expect(event.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('appends the client address to the X-Forwarded-For the client sent: "<sent>, 127.0.0.1"', async () => {
    const event = await eventFor({ 'x-forwarded-for': '203.0.113.9' });

    expect(event.headers['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
  });

  it('sets X-Forwarded-Port to the port it listens on and X-Forwarded-Proto to http, whatever the client sent', async () => {
    const event = await eventFor({ 'x-forwarded-port': '443', 'x-forwarded-proto': 'https' });

    expect([event.headers['x-forwarded-port'], event.headers['x-forwarded-proto']]).toEqual([
      new URL(echoing.baseUrl).port,
      'http',
    ]);
  });

  it('hands the function rawPath and rawQueryString exactly as sent', async () => {
    const response = await send(echoing.baseUrl, { method: 'POST', path: `${MAKE_CALL}?to=%2B1415&x=%7e&y=a+b` });

    const event = JSON.parse(response.body) as APIGatewayProxyEventV2;
    expect([event.rawPath, event.rawQueryString]).toEqual([MAKE_CALL, 'to=%2B1415&x=%7e&y=a+b']);
  });
});

describe('local gateway with TWILIO_AUTH_TOKEN: a client-sent X-Forwarded-Proto cannot change the signed URL', () => {
  const AUTH_TOKEN = 'local-gateway-test-auth-token-0123';
  const params = {
    CallSid: `CA${'1'.repeat(32)}`,
    AccountSid: DEVELOPMENT_SETTINGS.TWILIO_ACCOUNT_SID as string,
    To: '',
    to: 'client:alice',
    From: `client:${DEVELOPMENT_SETTINGS.TWILIO_ML_APP_SID}_uid42`,
  };
  let gateway: RunningGateway;
  beforeAll(async () => {
    gateway = await startLocalGateway({ TWILIO_AUTH_TOKEN: AUTH_TOKEN });
  });
  afterAll(() => gateway.close());
  const post = (signedFor: string) =>
    send(gateway.baseUrl, {
      method: 'POST',
      path: MAKE_CALL,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-forwarded-proto': 'https',
        'x-twilio-signature': getExpectedTwilioSignature(AUTH_TOKEN, signedFor, params),
      },
      body: new URLSearchParams(params).toString(),
    });

  it('accepts a request signed for http://127.0.0.1:<port>/api/v1/make_call that claims https', async () => {
    const response = await post(`${gateway.baseUrl}${MAKE_CALL}`);

    expect(response.status).toBe(200);
    expect(response.body).toContain('<Client>alice</Client>');
  });

  it('refuses (403) a request signed for the https:// URL the client claims', async () => {
    const response = await post(`${gateway.baseUrl.replace('http://', 'https://')}${MAKE_CALL}`);

    expect(response.status).toBe(403);
  });
});

describe('local gateway: routes are matched on the raw path, not a normalised one', () => {
  let gateway: RunningGateway;
  beforeAll(async () => {
    gateway = await startLocalGateway();
  });
  afterAll(() => gateway.close());
  const post = (path: string) =>
    send(gateway.baseUrl, {
      method: 'POST',
      path,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'to=client%3Aalice',
    });

  it('answers the route itself (200), the control for the cases below', async () => {
    expect((await post(MAKE_CALL)).status).toBe(200);
  });

  it.each([
    '/api/v1/x/../make_call',
    '/api/v1/./make_call',
    '/api/v1//make_call',
    '/api/v1/make%5Fcall',
    '/api/v1/make_call/',
  ])('answers 404 {"message":"Not Found"} to %s', async (path) => {
    const response = await post(path);

    expect([response.status, response.body]).toEqual([404, '{"message":"Not Found"}']);
  });
});
