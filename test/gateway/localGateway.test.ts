/**
 * The local gateway (`npm start`'s server) over real HTTP on loopback: API Gateway's
 * own answers, the authorizer in front of call_token, and the real functions behind.
 */
import { connect } from 'node:net';
import { jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEVELOPMENT_SETTINGS } from '../../infra/local/localEnv.js';
import { portalToken } from '../../infra/local/portalToken.js';
import { type RunningGateway, startLocalGateway } from '../support/localGateway.js';
import { legacyPortalToken } from '../support/portalTokens.js';
import { type SecretsManagerEndpoint, startSecretsManagerEndpoint } from '../support/secretsManagerEndpoint.js';

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
  let endpoint: SecretsManagerEndpoint;
  let restore: () => void;
  let gateway: RunningGateway;
  beforeAll(async () => {
    endpoint = await startSecretsManagerEndpoint({ secretString: JSON.stringify(STORED) });
    restore = endpoint.useForAwsSdk();
    gateway = await startLocalGateway({ SECRET_ID: 'voice/local' });
  });
  afterAll(async () => {
    await gateway.close();
    restore();
    await endpoint.close();
  });

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
