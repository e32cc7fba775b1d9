/**
 * make_call through the local gateway over real HTTP on loopback (issue 3): without a
 * TWILIO_AUTH_TOKEN it accepts unsigned requests; with one, a request signed for
 * `http://127.0.0.1:<PORT>/api/v1/make_call` validates and a mis-signed one gets 403.
 */
import { getExpectedBodyHash, getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localEnv } from '../../infra/local/localEnv.js';
import { type RunningGateway, startLocalGateway } from '../support/localGateway.js';
import { twimlSummary } from './xml.js';

const TOKEN = 'local-gateway-auth-token-3b9e71';
// Twilio's parameters for a call from user 123 of the local gateway's (development) account and app.
const { env: LOCAL } = localEnv({}, {});
const params = {
  CallSid: 'CA00000000000000000000000000000001',
  AccountSid: LOCAL.TWILIO_ACCOUNT_SID as string,
  From: `client:${LOCAL.TWILIO_ML_APP_SID}_uid123`,
  to: '+1 (415) 555-2671',
};

async function post(url: string, body: string, headers: Record<string, string>) {
  const response = await fetch(url, { method: 'POST', body, headers });
  return { status: response.status, contentType: response.headers.get('content-type'), body: await response.text() };
}

const form = (signature?: string) => ({
  'content-type': 'application/x-www-form-urlencoded',
  ...(signature === undefined ? {} : { 'x-twilio-signature': signature }),
});

describe('make_call on the local gateway without TWILIO_AUTH_TOKEN', () => {
  let gateway: RunningGateway;
  beforeAll(async () => {
    gateway = await startLocalGateway({});
  });
  afterAll(() => gateway.close());

  it('accepts an unsigned form post and answers TwiML', async () => {
    expect(gateway.env.TWILIO_AUTH_TOKEN).toBeUndefined();
    const response = await post(`${gateway.baseUrl}/api/v1/make_call`, new URLSearchParams(params).toString(), form());
    expect(response.status).toBe(200);
    expect(response.contentType).toBe('text/xml');
    expect(twimlSummary(response.body)).toEqual({
      verb: 'Dial',
      callerId: gateway.env.TWILIO_FROM,
      timeLimit: '3600',
      number: '+14155552671',
    });
  });
});

describe('make_call on the local gateway with TWILIO_AUTH_TOKEN', () => {
  let gateway: RunningGateway;
  let url: string;
  beforeAll(async () => {
    gateway = await startLocalGateway({ TWILIO_AUTH_TOKEN: TOKEN });
    url = `${gateway.baseUrl}/api/v1/make_call`;
  });
  afterAll(() => gateway.close());

  it(`validates a form post signed for http://127.0.0.1:<PORT>/api/v1/make_call`, async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v1\/make_call$/);
    const signature = getExpectedTwilioSignature(TOKEN, url, params);
    const response = await post(url, new URLSearchParams(params).toString(), form(signature));
    expect(response.status).toBe(200);
    expect(twimlSummary(response.body)).toMatchObject({ verb: 'Dial', number: '+14155552671' });
  });

  it('validates a signed JSON post (bodySHA256 in the URL)', async () => {
    const body = JSON.stringify(params);
    const signedUrl = `${url}?bodySHA256=${getExpectedBodyHash(body)}`;
    const signature = getExpectedTwilioSignature(TOKEN, signedUrl, {});
    const response = await post(signedUrl, body, {
      'content-type': 'application/json',
      'x-twilio-signature': signature,
    });
    expect(response.status).toBe(200);
    expect(twimlSummary(response.body)).toMatchObject({ verb: 'Dial', number: '+14155552671' });
  });

  it('refuses mis-signed and unsigned posts with 403 Forbidden', async () => {
    const body = new URLSearchParams(params).toString();
    const wrong = [
      getExpectedTwilioSignature('another-auth-token-000000', url, params),
      getExpectedTwilioSignature(TOKEN, url.replace('http://', 'https://'), params),
      getExpectedTwilioSignature(TOKEN, url, { ...params, to: '+14155552672' }),
    ];
    for (const signature of [...wrong, undefined]) {
      const response = await post(url, body, form(signature));
      expect(response.status).toBe(403);
      expect(response.contentType).toMatch(/^text\/plain/);
      expect(response.body).toBe('Forbidden');
    }
  });
});
