/**
 * Floods: thousands of bad requests, each chosen to be different (source address, URL,
 * parameters, `type`, user), against the handlers wired as on Lambda — the real Slack
 * sender posting to a loopback Slack, the real alert and log gates on a clock the test
 * moves. What reaches Slack and the log stays a few lines a minute per kind, each alert
 * small, and the next one says how many were held back.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as authorizer from '../../functions/authorizer.js';
import * as callToken from '../../functions/callToken.js';
import * as makeCall from '../../functions/makeCall.js';
import { alertGate, slackAlertSender } from '../../lib/alerts.js';
import { logGate } from '../../lib/log.js';
import type { MetricSink } from '../../lib/metrics.js';
import { callEvent, POLICY_ENV } from '../call/harness.js';
import { recordingLog } from '../support/recordingLog.js';
import { type SlackReceiver, startSlackReceiver } from '../support/slackReceiver.js';
import { authorizerRequest, callTokenEventWithQuery } from '../token/events.js';
import { SETTINGS } from '../token/settings.js';

const FLOOD = 3_000;
/** What a caller can put in one request and still be read: well past the alert's cap. */
const BIG = 'x'.repeat(12 * 1024);

let slack: SlackReceiver;
beforeAll(async () => {
  slack = await startSlackReceiver('ok');
});
afterAll(() => slack.close());
beforeEach(() => {
  slack.received.length = 0;
});

/** Each handler as defaultDeps builds it, with the gates on a clock the test moves, and metrics counted. */
function wired() {
  const clock = { now: 1_000_000 };
  const now = () => clock.now;
  const log = recordingLog();
  const counted: string[] = [];
  const metrics: MetricSink = {
    count: (name, dimensions) => void counted.push(`${name}${JSON.stringify(dimensions ?? {})}`),
    seconds: (name, _value, dimensions) => void counted.push(`${name}${JSON.stringify(dimensions ?? {})}`),
    flush: () => undefined,
  };
  const env = { ...SETTINGS, ...POLICY_ENV, SLACK_WEBHOOK_URL: slack.url };
  // How many alerts, not how fast: a Slack post slower than the deployed 1 s (a loaded test machine) still counts.
  const alert = slackAlertSender(log, 10_000);
  const deps = () => ({ log, metrics, alert, alertGate: alertGate(now), logGate: logGate(now) });
  return {
    clock,
    log,
    counted,
    call: makeCall.createHandler({ ...makeCall.defaultDeps(env), ...deps() }),
    token: callToken.createHandler({ ...callToken.defaultDeps(env), ...deps() }),
    authorize: authorizer.createHandler({ ...authorizer.defaultDeps(env), ...deps() }),
  };
}

const slackBodies = () => slack.received.map((request) => JSON.stringify(request.body));
const slackText = (index: number) => JSON.stringify(slack.received[index]?.body ?? {});

function unsignedRequest(i: number) {
  return callEvent({
    params: { to: `+1415555${String(i % 10_000).padStart(4, '0')}`, CallSid: `CA${i}`, junk: BIG },
    signature: i % 2 === 0 ? 'none' : `forged-${i}`,
    sourceIp: `198.51.${Math.floor(i / 256) % 256}.${i % 256}`,
    query: `attempt=${i}&pad=${'q'.repeat(500)}`,
    rawPath: i % 3 === 0 ? `/api/v1/make_call` : `/prod/api/v1/make_call`,
  });
}

describe('a flood of unsigned make_call requests', () => {
  it('all get 403 and are all counted, with one alert a minute (under 4 KB, no query) and at most 11 log lines', async () => {
    const { call, log, counted } = wired();

    for (let i = 0; i < FLOOD; i++) expect((await call(unsignedRequest(i))).statusCode).toBe(403);

    // Half send no signature (unsigned: scanners), half a forged one (signature: alarmed).
    expect(counted.filter((m) => m === 'WebhookRejected{"Reason":"unsigned"}')).toHaveLength(FLOOD / 2);
    expect(counted.filter((m) => m === 'WebhookRejected{"Reason":"signature"}')).toHaveLength(FLOOD / 2);
    expect(slack.received).toHaveLength(1);
    for (const body of slackBodies()) {
      expect(Buffer.byteLength(body)).toBeLessThan(4096);
      expect(body).not.toContain('attempt=');
      expect(body).not.toContain('xxxxxxxxxx');
    }
    expect(log.entries.length).toBeLessThanOrEqual(11);
    expect(log.text()).not.toContain('attempt=');
  });

  it('the next minute one alert says how many were held back, and one log line how many were not written', async () => {
    const { call, log, clock } = wired();
    for (let i = 0; i < FLOOD; i++) await call(unsignedRequest(i));
    clock.now += 60_000;

    await call(unsignedRequest(FLOOD));

    expect(slack.received).toHaveLength(2);
    expect(slackText(1)).toContain(`${FLOOD - 1} more of this kind since the last one`);
    expect(log.entries.at(-1)?.attributes).toMatchObject({ suppressedSinceLast: FLOOD - 10 });
  });

  it('bad bodies too: every one answered, at most 11 log lines, no alert', async () => {
    const { call, log } = wired();

    for (let i = 0; i < FLOOD; i++) {
      const response = await call(callEvent({ rawBody: `%${i}`.repeat(100), contentType: `text/x-${i}` }));
      expect(response.statusCode).toBe(415);
    }

    expect(log.entries.length).toBeLessThanOrEqual(11);
    expect(slack.received).toHaveLength(0);
  });
});

describe('a flood of bad call_token parameters', () => {
  const asUser = (userId: string, type: string) => {
    const event = callTokenEventWithQuery({ type, other: BIG });
    event.requestContext.authorizer = { lambda: { userId } };
    return event;
  };

  it('from one user with distinct values: all 400, one alert a minute (under 4 KB), at most 11 log lines', async () => {
    const { token, log } = wired();

    for (let i = 0; i < FLOOD; i++) expect((await token(asUser('42', `${BIG}-${i}`))).statusCode).toBe(400);

    expect(slack.received).toHaveLength(1);
    expect(Buffer.byteLength(slackBodies()[0] ?? '')).toBeLessThan(4096);
    expect(log.entries.length).toBeLessThanOrEqual(11);
    expect(log.text().length).toBeLessThan(11 * 1024);
  });

  it('from many users: at most 30 alerts a minute; the first one after says how many the cap held back', async () => {
    const { token, clock } = wired();

    for (let i = 0; i < 500; i++) await token(asUser(`user${i}`, 'voip'));
    expect(slack.received).toHaveLength(30);
    clock.now += 60_000;
    await token(asUser('user9999', 'voip'));

    expect(slack.received).toHaveLength(31);
    expect(slackText(30)).toContain('470 of any kind over the cap of 30 a minute');
    for (const body of slackBodies()) expect(Buffer.byteLength(body)).toBeLessThan(4096);
  });
});

describe('a flood of bad bearer tokens', () => {
  it('all denied, at most 11 log lines per reason', async () => {
    const { authorize, log } = wired();

    for (let i = 0; i < FLOOD; i++) {
      const header = i % 2 === 0 ? `Bearer not.a.token${i}` : `Basic ${i}`;
      expect(await authorize(authorizerRequest(header))).toEqual({ isAuthorized: false });
    }

    expect(log.entries.length).toBeLessThanOrEqual(22);
    expect(slack.received).toHaveLength(0);
  });
});
