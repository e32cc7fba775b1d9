/**
 * Every make_call request must be signed by Twilio (issue 3, "Every request is verified").
 * Requests are signed with twilio's own helpers (getExpectedTwilioSignature /
 * getExpectedBodyHash) or, for the event fixtures, by the Python helper's RequestValidator.
 */
import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { describe, expect, it } from 'vitest';
import { createHandler, defaultDeps } from '../../functions/makeCall.js';
import type { Env } from '../../lib/config.js';
import { noMetrics } from '../../lib/metrics.js';
import { recordingLog } from '../support/recordingLog.js';
import {
  AUTH_TOKEN,
  CALL_SID,
  CALLER_7,
  type CallRequestOptions,
  callEvent,
  callHandler,
  HOST,
  POLICY_ENV,
  ROUTE_PATH,
  ROUTE_URL,
  SAY,
  sayTwiml,
  TWILIO_FROM,
  twimlBody,
} from './harness.js';
import { twimlSummary } from './xml.js';

const DIAL = { verb: 'Dial', callerId: TWILIO_FROM, timeLimit: '3600', number: '+14155552671' };
const params = { to: '+1 (415) 555-2671', From: CALLER_7 };

async function send(options: CallRequestOptions, env: Env = POLICY_ENV) {
  const harness = callHandler(env);
  const response = await harness.handler(callEvent({ params, ...options }));
  return { response, ...harness };
}

function expectForbidden(result: Awaited<ReturnType<typeof send>>) {
  expect(result.response.statusCode).toBe(403);
  expect(result.response.headers?.['content-type']).toMatch(/^text\/plain/);
  expect(result.response.body).toBe('Forbidden');
  expect(result.log.entries).toContainEqual(
    expect.objectContaining({ level: 'warn', message: expect.stringMatching(/not signed/i) }),
  );
  // Nothing from an unverified body is logged: its CallSid is the caller's to choose.
  expect(result.log.text()).not.toContain(CALL_SID);
  expect(result.alerts).toHaveLength(1);
  expect(result.alerts[0]?.alert.errorMsg).toMatch(/not signed/i);
  // Nothing was routed: no routing decision was logged.
  expect(result.log.text()).not.toContain('dial number');
}

describe('make_call signature', () => {
  it('a signed form request (base64, as HTTP API delivers it) → 200 TwiML', async () => {
    const { response } = await send({});
    expect(twimlSummary(twimlBody(response))).toEqual(DIAL);
  });

  it('a signed form request with a plain body, and with charset in the content type → 200', async () => {
    expect((await send({ base64: false })).response.statusCode).toBe(200);
    const charset = await send({ contentType: 'application/x-www-form-urlencoded; charset=UTF-8' });
    expect(twimlSummary(twimlBody(charset.response))).toEqual(DIAL);
  });

  it('a signed JSON request (bodySHA256 in the URL) → 200 TwiML, plain or base64', async () => {
    expect(twimlSummary(twimlBody((await send({ encoding: 'json' })).response))).toEqual(DIAL);
    expect(twimlSummary(twimlBody((await send({ encoding: 'json', base64: true })).response))).toEqual(DIAL);
  });

  it('the Python-signed fixture events (RequestValidator, real payload 2.0 shape) are accepted', async () => {
    const fixture = JSON.parse(readFileSync('test/fixtures/conformance/make_call.json', 'utf8'));
    const env = { ...fixture.config, TWILIO_AUTH_TOKEN: fixture.signedEvents.authToken };
    for (const file of fixture.signedEvents.files as string[]) {
      const event = JSON.parse(readFileSync(file, 'utf8')) as APIGatewayProxyEventV2;
      const { handler, log } = callHandler(env);
      const response = await handler(event);
      // The fixture's app asks for +1 (415) 555-2671 with from=client:driver_123: a phone leg, so TWILIO_FROM.
      expect(twimlSummary(twimlBody(response)), file).toEqual({ ...DIAL, callerId: fixture.config.TWILIO_FROM });
      expect(log.entries.at(-1)?.attributes?.callSid, file).toBe(fixture.signedEvents.callSid);
      // And the same event with its body changed by one character is refused.
      const tampered = { ...event, body: event.isBase64Encoded ? undefined : event.body?.replace('2671', '2672') };
      if (event.isBase64Encoded) {
        const text = Buffer.from(event.body ?? '', 'base64')
          .toString('utf8')
          .replace('2671', '2672');
        tampered.body = Buffer.from(text).toString('base64');
      }
      expect((await callHandler(env).handler(tampered)).statusCode, file).toBe(403);
    }
  });

  it('no X-Twilio-Signature → 403 text/plain "Forbidden", logged and alerted, nothing dialed', async () => {
    expectForbidden(await send({ signature: 'none' }));
    expectForbidden(await send({ signature: 'none', encoding: 'json' }));
  });

  it('a wrong signature → 403: another token, a tampered parameter, another URL, an empty header', async () => {
    expectForbidden(await send({ token: 'another-auth-token-0123456789' }));
    expectForbidden(await send({ signature: '' }));
    expectForbidden(
      await send({ signature: getExpectedTwilioSignature(AUTH_TOKEN, ROUTE_URL, { to: '+14155552671' }) }),
    );
    expectForbidden(await send({ signUrl: `http://${HOST}${ROUTE_PATH}` }));
    expectForbidden(await send({ signUrl: `https://evil.example.com${ROUTE_PATH}` }));
    // Signed, then the destination is changed to a premium number.
    const event = callEvent({ params });
    const body = Buffer.from(event.body ?? '', 'base64')
      .toString()
      .replace('%2B1+%28415%29+555-2671', '%2B19002345678');
    const harness = callHandler();
    const response = await harness.handler({ ...event, body: Buffer.from(body).toString('base64') });
    expect(response.statusCode).toBe(403);
  });

  it('a request signed with TWILIO_SECONDARY_AUTH_TOKEN → 200, so the auth token can be rotated without downtime', async () => {
    const secondary = 'secondary-auth-token-5e2b8c1d9a';
    const env = { ...POLICY_ENV, TWILIO_SECONDARY_AUTH_TOKEN: secondary };

    const { response } = await send({ token: secondary }, env);

    expect(twimlSummary(twimlBody(response))).toEqual(DIAL);
  });

  it('a request signed with an unset secondary token is still refused: only configured tokens count', async () => {
    expectForbidden(await send({ token: 'secondary-auth-token-5e2b8c1d9a' }));
  });

  it('JSON: a body that does not match bodySHA256, or a signature without bodySHA256 → 403', async () => {
    const event = callEvent({ params, encoding: 'json' });
    const changed = (event.body ?? '').replace('2671', '2672');
    expect((await callHandler().handler({ ...event, body: changed })).statusCode).toBe(403);
    // The URL signed without the hash, sent without it: validateRequestWithBody needs the hash.
    const noHash = callEvent({ params, encoding: 'json', signUrl: ROUTE_URL });
    const withoutQuery = { ...noHash, rawQueryString: '' };
    expect((await callHandler().handler(withoutQuery)).statusCode).toBe(403);
  });

  it('without PUBLIC_BASE_URL the signed URL is x-forwarded-proto://Host + rawPath (+ ?query)', async () => {
    expect((await send({ query: 'lang=en&v=2' })).response.statusCode).toBe(200);
    expect((await send({ query: 'lang=en', signUrl: ROUTE_URL })).response.statusCode).toBe(403);
    // Forwarded as http: the URL Twilio signed starts with http://.
    expect((await send({ proto: 'http' })).response.statusCode).toBe(200);
    // No x-forwarded-proto: https.
    expect((await send({ proto: null, signUrl: ROUTE_URL })).response.statusCode).toBe(200);
    // No Host header: requestContext.domainName.
    expect((await send({ host: null, signUrl: ROUTE_URL })).response.statusCode).toBe(200);
    // The Host header, not domainName, when both are there (a custom domain without PUBLIC_BASE_URL).
    expect(
      (await send({ host: 'voice.example.com', signUrl: `https://voice.example.com${ROUTE_PATH}` })).response
        .statusCode,
    ).toBe(200);
    expect((await send({ host: 'voice.example.com', signUrl: ROUTE_URL })).response.statusCode).toBe(403);
  });

  it('with PUBLIC_BASE_URL (with a base path) that URL + the route path (+ ?query) is the signed URL', async () => {
    const env = { ...POLICY_ENV, PUBLIC_BASE_URL: 'https://voice.example.com/telephony/' };
    const publicUrl = `https://voice.example.com/telephony${ROUTE_PATH}`;
    // The custom domain's API mapping strips the base path; rawPath may even carry a stage.
    for (const rawPath of [ROUTE_PATH, `/prod${ROUTE_PATH}`]) {
      const ok = await send({ host: 'voice.example.com', rawPath, signUrl: publicUrl }, env);
      expect(twimlSummary(twimlBody(ok.response))).toEqual(DIAL);
    }
    expect((await send({ query: 'a=1', signBase: publicUrl }, env)).response.statusCode).toBe(200);
    expect((await send({ encoding: 'json', signBase: publicUrl }, env)).response.statusCode).toBe(200);
    expect((await send({ query: 'a=1', signUrl: publicUrl }, env)).response.statusCode).toBe(403);
    expect((await send({ encoding: 'json', host: 'voice.example.com' }, env)).response.statusCode).toBe(403);
    // Signed for the URL as received on the custom domain (Host + rawPath, no base path): not what Twilio was told to call.
    expectForbidden(await send({ host: 'voice.example.com', signUrl: `https://voice.example.com${ROUTE_PATH}` }, env));
  });

  it('with PUBLIC_BASE_URL on a custom domain, a request signed for the API’s own execute-api URL and sent there is still Twilio’s', async () => {
    const env = { ...POLICY_ENV, PUBLIC_BASE_URL: 'https://voice.example.com' };
    // The TwiML App's Voice URL not changed yet, or a callback URL given before the deploy.
    expect(twimlSummary(twimlBody((await send({ signUrl: ROUTE_URL }, env)).response))).toEqual(DIAL);
    expect((await send({ query: 'a=1' }, env)).response.statusCode).toBe(200);
    // Sent to another host, or naming another one: only the URL Twilio was told to call.
    expectForbidden(await send({ host: 'voice.example.com', signUrl: ROUTE_URL }, env));
    expectForbidden(await send({ signUrl: `https://other.execute-api.us-east-1.amazonaws.com${ROUTE_PATH}` }, env));
  });

  it('a Host header that is not a host (URL cannot be built) → 403, not a crash', async () => {
    const result = await send({ host: 'bad host/\u0000', signature: 'AAAA' });
    expect(result.response.statusCode).toBe(403);
  });

  it('Lambda deps without TWILIO_AUTH_TOKEN dial nothing: unsigned → 403, signed → the try-later message, one alert; never skip the check', async () => {
    const env = { ...POLICY_ENV, TWILIO_AUTH_TOKEN: undefined };
    const deps = defaultDeps(env);
    expect(deps.allowUnsignedRequests).toBe(false);
    const log = recordingLog();
    const alerts: string[] = [];
    const handler = createHandler({
      ...deps,
      log,
      metrics: noMetrics,
      alert: async (alert) => void alerts.push(alert.errorMsg),
    });
    expect((await handler(callEvent({ params, signature: 'none' }))).statusCode).toBe(403);
    alerts.length = 0;
    const requests = [
      callEvent({ params }),
      callEvent({ params: { to: 'passenger_456' }, encoding: 'json' }),
      callEvent({ params: {} }),
    ];
    for (const event of requests) {
      expect(twimlBody(await handler(event))).toBe(sayTwiml(SAY.tryLater));
    }
    // The real gate lets the first alert through and holds the repeats for a minute.
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toContain('TWILIO_AUTH_TOKEN');
    expect(log.entries.filter((entry) => entry.level === 'error')).toHaveLength(3);
  });

  it('an unsigned request is accepted only with allowUnsignedRequests and no token (the local gateway)', async () => {
    const noToken = { ...POLICY_ENV, TWILIO_AUTH_TOKEN: undefined };
    const local = callHandler(noToken, { allowUnsignedRequests: true });
    expect(twimlSummary(twimlBody(await local.handler(callEvent({ params, signature: 'none' }))))).toEqual(DIAL);
    // allowUnsignedRequests does not switch the check off when a token is set.
    const withToken = callHandler(POLICY_ENV, { allowUnsignedRequests: true });
    expect((await withToken.handler(callEvent({ params, signature: 'none' }))).statusCode).toBe(403);
  });
});
