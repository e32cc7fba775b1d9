/**
 * No leaks: the whole service as `npm start` runs it (a real process, Powertools logging
 * at DEBUG), its secrets from a loopback Secrets Manager endpoint and its alerts to a
 * loopback Slack, driven through every scenario — tokens, calls, floods, a failing Slack,
 * the store failing, answering garbage, holding a malformed secret, and coming back.
 * Nothing it prints, posts or answers may hold a secret, a bearer token or an issued
 * Twilio token, nor any 8-character piece of a secret.
 */
import { randomBytes } from 'node:crypto';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVELOPMENT_SETTINGS } from '../../infra/local/localEnv.js';
import { type GatewayProcess, startGatewayProcess } from '../support/gatewayProcess.js';
import { legacyPortalToken } from '../support/portalTokens.js';
import { type SecretsManagerEndpoint, startSecretsManagerEndpoint } from '../support/secretsManagerEndpoint.js';
import { type SlackReceiver, startSlackReceiver } from '../support/slackReceiver.js';

const random = () => randomBytes(24).toString('base64url');
/** The part of a Slack webhook URL that is its credential. */
const SLACK_KEY = `T${random()}/B${random()}`;
const SECRETS = {
  TWILIO_API_KEY: `SK${randomBytes(16).toString('hex')}`,
  TWILIO_API_KEY_SECRET: random(),
  TWILIO_AUTH_TOKEN: random(),
  TWILIO_SECONDARY_AUTH_TOKEN: random(),
  JWT_SECRET: random(),
  JWT_PREVIOUS_SECRET: random(),
};

let slack: SlackReceiver;
let store: SecretsManagerEndpoint;
let gateway: GatewayProcess;
/** Every answer that is not an issued token, and the tokens we sent or were given. */
const answers: string[] = [];
const bearerTokens: string[] = [];
const issuedTokens: string[] = [];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  slack = await startSlackReceiver('ok', `/services/${SLACK_KEY}`);
  const good = { secretString: JSON.stringify({ ...SECRETS, SLACK_WEBHOOK_URL: slack.url }) };
  store = await startSecretsManagerEndpoint(good);
  gateway = await startGatewayProcess({
    SECRET_ID: 'voice/leaks',
    SECRETS_CACHE_TTL: '1',
    SECRETS_MAX_STALE: '2',
    ...store.awsSdkEnv(),
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
  });
  await runScenarios(good);
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([slack?.close(), store?.close()]);
});

async function callToken(type: string, bearer: string, more: Record<string, string> = {}) {
  bearerTokens.push(bearer);
  const query = new URLSearchParams({ type, ...more });
  const response = await fetch(`${gateway.baseUrl}/api/v1/call_token?${query}`, {
    headers: { authorization: `Bearer ${bearer}` },
  });
  const text = await response.text();
  if (response.status === 200) issuedTokens.push(JSON.parse(text).data.token);
  else answers.push(text);
  return response.status;
}

async function makeCall(params: Record<string, string>, authToken: string | undefined) {
  const url = `${gateway.baseUrl}/api/v1/make_call`;
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (authToken) headers['x-twilio-signature'] = getExpectedTwilioSignature(authToken, url, params);
  const response = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(params) });
  answers.push(await response.text());
  return response.status;
}

// A call from user 42 of the gateway's (development) account and app.
const CALL = {
  CallSid: `CA${'0'.repeat(32)}`,
  AccountSid: DEVELOPMENT_SETTINGS.TWILIO_ACCOUNT_SID as string,
  From: `client:${DEVELOPMENT_SETTINGS.TWILIO_ML_APP_SID}_uid42`,
};

async function everyRoute() {
  const rider = legacyPortalToken(42, SECRETS.JWT_SECRET);
  return [await callToken('apns', rider), await makeCall({ ...CALL, to: '+14155552671' }, SECRETS.TWILIO_AUTH_TOKEN)];
}

async function runScenarios(good: { secretString: string }) {
  // Tokens: both portal secrets, both platforms; bad parameters; bad and malformed bearer tokens.
  const rider = legacyPortalToken(42, SECRETS.JWT_SECRET);
  const driver = legacyPortalToken(7, SECRETS.JWT_PREVIOUS_SECRET);
  expect([await callToken('apns', rider), await callToken('fcm', driver)]).toEqual([200, 200]);
  expect(await callToken('voip', rider)).toBe(400);
  // An app that also sends its token in the query (web2py's `_token`, OAuth's `access_token`).
  expect(await callToken('voip', driver, { _token: driver, access_token: driver })).toBe(400);
  expect(await callToken('apns', legacyPortalToken(42, random()))).toBe(403);
  // Calls: both auth tokens; a number, an app user, premium rate, emergency; unsigned, forged.
  expect(await makeCall({ ...CALL, to: '+14155552671' }, SECRETS.TWILIO_AUTH_TOKEN)).toBe(200);
  expect(await makeCall({ ...CALL, to: 'client:driver_7' }, SECRETS.TWILIO_SECONDARY_AUTH_TOKEN)).toBe(200);
  expect(await makeCall({ ...CALL, From: 'client:stranger', to: '+14155552671' }, SECRETS.TWILIO_AUTH_TOKEN)).toBe(200);
  expect(await makeCall({ ...CALL, to: '+19002345678' }, SECRETS.TWILIO_AUTH_TOKEN)).toBe(200);
  expect(await makeCall({ ...CALL, to: '911' }, SECRETS.TWILIO_AUTH_TOKEN)).toBe(200);
  expect(await makeCall({ ...CALL, to: '+14155552671' }, undefined)).toBe(403);
  expect(await makeCall({ ...CALL, to: '+14155552671' }, random())).toBe(403);
  // Floods.
  for (let i = 0; i < 200; i++) await makeCall({ ...CALL, to: `+1415555${1000 + i}`, pad: random() }, random());
  for (let i = 0; i < 200; i++) await callToken(`bad-${i}`, rider);
  // Slack failing.
  slack.behaviour = 'fail';
  // Another user: user 42's emergency alert of a minute ago holds back their next one.
  const otherUser = `client:${DEVELOPMENT_SETTINGS.TWILIO_ML_APP_SID}_uid43`;
  expect(await makeCall({ ...CALL, From: otherUser, to: '112' }, SECRETS.TWILIO_AUTH_TOKEN)).toBe(200);
  slack.behaviour = 'ok';
  // The store fails: stale first, then past SECRETS_MAX_STALE nothing is left.
  // (Through the gateway a call_token request whose authorizer has no secrets left gets API
  // Gateway's 500, before call_token's own 503.)
  store.behaviour = { error: 'InternalServiceError', status: 500 };
  await sleep(1_100);
  expect(await everyRoute()).toEqual([200, 200]);
  await sleep(100);
  expect(await everyRoute()).toEqual([200, 200]);
  await sleep(3_200);
  expect(await everyRoute()).toEqual([500, 200]);
  // It answers garbage quoting a secret (the SDK's parser would quote it), then holds a secret
  // whose unknown key is a pasted value.
  store.behaviour = { raw: `${SECRETS.JWT_SECRET} ${SECRETS.TWILIO_AUTH_TOKEN}`, status: 502 };
  await sleep(5_100);
  expect(await everyRoute()).toEqual([500, 200]);
  const pasted = { ...JSON.parse(good.secretString), [SECRETS.TWILIO_API_KEY_SECRET]: SECRETS.JWT_SECRET };
  store.behaviour = { secretString: JSON.stringify(pasted) };
  await sleep(5_100);
  expect(await everyRoute()).toEqual([500, 200]);
  // And comes back.
  store.behaviour = good;
  await sleep(5_100);
  expect(await everyRoute()).toEqual([200, 200]);
  await sleep(200);
}

/** Every 8-character piece of `secret`. */
const pieces = (secret: string) => Array.from({ length: secret.length - 7 }, (_, i) => secret.slice(i, i + 8));
const signatureOf = (jwt: string) => jwt.split('.')[2] ?? jwt;

describe('nothing the service writes, posts or answers holds a secret', () => {
  const everything = () => [gateway.stdout(), gateway.stderr(), JSON.stringify(slack.received), ...answers].join('\n');

  it('ran every scenario and captured what it wrote (the check below is not vacuous)', () => {
    const out = gateway.stdout() + gateway.stderr();
    for (const line of [
      'Token issued',
      'Invalid parameters',
      'Request not signed by Twilio',
      'Slack alert failed',
      'Secret refresh failed',
      'Secrets unavailable',
      'unknown key',
      'Secrets read again after failures',
    ]) {
      expect(out, line).toContain(line);
    }
    expect(slack.received.length).toBeGreaterThan(3);
    expect(issuedTokens.length).toBeGreaterThanOrEqual(4);
  });

  it.each(Object.keys(SECRETS))('no %s, whole or any 8-character piece of it', (name) => {
    const secret = SECRETS[name as keyof typeof SECRETS];
    const text = everything();
    expect(text).not.toContain(secret);
    const found = pieces(secret).filter((piece) => text.includes(piece));
    expect(found).toEqual([]);
  });

  it('no Slack webhook URL, nor any 8-character piece of its key', () => {
    const text = [gateway.stdout(), gateway.stderr(), ...answers].join('\n');
    expect(text).not.toContain(slack.url);
    expect(pieces(SLACK_KEY).filter((piece) => text.includes(piece))).toEqual([]);
  });

  it('no bearer token and no issued Twilio token, nor their signatures', () => {
    const text = everything();
    for (const token of [...bearerTokens, ...issuedTokens]) {
      expect(text).not.toContain(token);
      expect(text).not.toContain(signatureOf(token));
    }
  });
});
