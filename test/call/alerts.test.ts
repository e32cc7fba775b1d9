/**
 * make_call's alerts and logs (issue 3, "Robustness"): alerts reach a real (loopback)
 * Slack webhook in the foundation's shape with vendorApi "make_call"; the same kind and
 * value go out at most once per 60 s; Slack failing or hanging changes nothing in the
 * TwiML and costs at most about a second; logs name the CallSid and the decision, never
 * the auth token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler, defaultDeps } from '../../functions/makeCall.js';
import { alertGate, slackAlertSender } from '../../lib/alerts.js';
import type { Env } from '../../lib/config.js';
import { noMetrics } from '../../lib/metrics.js';
import { recordingLog } from '../support/recordingLog.js';
import { type SlackReceiver, startSlackReceiver } from '../support/slackReceiver.js';
import {
  AUTH_TOKEN,
  CALL_SID,
  CALLER,
  CALLER_7,
  callEvent,
  callHandler,
  POLICY_ENV,
  SAY,
  sayTwiml,
  TWILIO_FROM,
  twimlBody,
} from './harness.js';
import { twimlSummary } from './xml.js';

let slack: SlackReceiver;
beforeAll(async () => {
  slack = await startSlackReceiver('ok');
});
afterAll(() => slack.close());

/** The Slack message's attachment fields as a record. */
function slackFields(message: unknown): Record<string, string> {
  const attachments = (message as { attachments?: { fields?: { title: string; value: string }[] }[] }).attachments;
  return Object.fromEntries((attachments?.[0]?.fields ?? []).map((field) => [field.title, field.value]));
}

/** The handler wired as on Lambda (real Slack sender, real deduplicator), with a clock the test moves. */
function slackHandler(env: Env, clock = { now: 1_000_000 }) {
  const log = recordingLog();
  const handler = createHandler({
    ...defaultDeps(env),
    log,
    metrics: noMetrics,
    alert: slackAlertSender(log),
    alertGate: alertGate(() => clock.now),
  });
  return { handler, log, clock };
}

const withSlack = () => ({ ...POLICY_ENV, SLACK_WEBHOOK_URL: slack.url });

async function waitFor(condition: () => boolean, ms = 2000) {
  const until = Date.now() + ms;
  while (!condition() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('make_call alerts', () => {
  it('an emergency call alerts Slack with vendorApi "make_call" and originApi "[POST] /api/v1/make_call"', async () => {
    slack.received.length = 0;
    const { handler } = slackHandler(withSlack());
    const response = await handler(callEvent({ params: { to: '911' } }));
    expect(twimlBody(response)).toBe(sayTwiml(SAY.emergency));
    expect(slack.received).toHaveLength(1);
    const fields = slackFields(slack.received[0]?.body);
    expect(fields).toMatchObject({
      status: 'ERROR',
      vendor: 'Twilio',
      vendorApi: 'make_call',
      originApi: '[POST] /api/v1/make_call',
    });
    expect(fields.errorMsg).toMatch(/emergency/i);
    expect(JSON.parse(fields.meta ?? '{}')).toMatchObject({ callSid: CALL_SID });
    expect(JSON.stringify(slack.received)).not.toContain(AUTH_TOKEN);
  });

  it('blocked destinations and unsigned requests alert too', async () => {
    slack.received.length = 0;
    const { handler } = slackHandler(withSlack());
    await handler(callEvent({ params: { to: '+19002345678' } }));
    await handler(callEvent({ params: { to: '+14155552671' }, signature: 'none' }));
    const messages = slack.received.map((request) => slackFields(request.body));
    expect(messages.map((fields) => fields.vendorApi)).toEqual(['make_call', 'make_call']);
    expect(messages[0]?.errorMsg).toMatch(/not allowed/i);
    expect(messages[1]?.errorMsg).toMatch(/not signed/i);
    expect(JSON.stringify(slack.received)).not.toContain(AUTH_TOKEN);
  });

  it('a destination alert is keyed by the user who dialed it: once per 60 s per user and kind, whatever they dial', async () => {
    slack.received.length = 0;
    const { handler, clock } = slackHandler(withSlack());
    const call = (to: string, from = CALLER) => handler(callEvent({ params: { to, From: from } }));
    for (let i = 0; i < 5; i++) expect(twimlBody(await call('911'))).toBe(sayTwiml(SAY.emergency));
    expect(slack.received).toHaveLength(1);
    await call('112'); // another emergency number, the same user
    for (let i = 0; i < 40; i++) await call(`+1876523${String(1000 + i)}`); // another kind: 40 blocked numbers
    expect(slack.received).toHaveLength(2);
    await call('911', CALLER_7); // another user
    expect(slack.received).toHaveLength(3);
    expect(slack.received.map((request) => JSON.parse(slackFields(request.body).meta ?? '{}').userId)).toEqual([
      '42',
      '42',
      '7',
    ]);
    clock.now += 59_999;
    await call('911');
    await call('+18765230123');
    expect(slack.received).toHaveLength(3);
    clock.now += 1;
    await call('911');
    expect(slack.received).toHaveLength(4);
    expect(slackFields(slack.received[3]?.body).errorMsg).toMatch(/emergency/i);
  });

  it('one user dialing blocked numbers cannot use up the alert budget: a forged request still alerts', async () => {
    slack.received.length = 0;
    const { handler } = slackHandler(withSlack());
    for (let i = 0; i < 40; i++) await handler(callEvent({ params: { to: `+1876523${String(1000 + i)}` } }));
    await handler(callEvent({ params: { to: '+14155552671' }, signature: 'none' }));
    expect(slack.received.map((request) => slackFields(request.body).errorMsg)).toEqual([
      'Destination not allowed',
      expect.stringMatching(/sign/i),
    ]);
  });

  it('unsigned requests are one kind of alert: another address, URL or parameter does not make another', async () => {
    slack.received.length = 0;
    const { handler } = slackHandler(withSlack());
    for (let i = 0; i < 20; i++) {
      const response = await handler(
        callEvent({
          params: { to: `+1415555${1000 + i}` },
          signature: 'none',
          sourceIp: `203.0.113.${i}`,
          query: `x=${i}`,
        }),
      );
      expect(response.statusCode).toBe(403);
    }
    expect(slack.received).toHaveLength(1);
  });

  it('the deployed wiring (defaultDeps) de-duplicates with its own clock', async () => {
    slack.received.length = 0;
    const handler = createHandler({ ...defaultDeps(withSlack()), log: recordingLog(), metrics: noMetrics });
    for (let i = 0; i < 3; i++) await handler(callEvent({ params: { to: '999' } }));
    await handler(callEvent({ params: { to: '000', From: CALLER_7 } }));
    expect(slack.received.map((request) => JSON.parse(slackFields(request.body).meta ?? '{}').to)).toEqual([
      '999',
      '000',
    ]);
  });

  for (const behaviour of ['fail', 'hang'] as const) {
    it(`Slack that ${behaviour === 'fail' ? 'answers 500' : 'never answers'} changes nothing in the TwiML, and the wait stays ≤ ~1 s`, async () => {
      const broken = await startSlackReceiver(behaviour);
      try {
        const { handler, log } = slackHandler({ ...POLICY_ENV, SLACK_WEBHOOK_URL: broken.url });
        const started = performance.now();
        const response = await handler(callEvent({ params: { to: '+1 876 523 0123' } }));
        const elapsed = performance.now() - started;
        expect(twimlBody(response)).toBe(sayTwiml(SAY.blocked));
        expect(elapsed).toBeLessThan(1500);
        await waitFor(() => broken.received.length > 0);
        expect(broken.received).toHaveLength(1);
        expect(log.entries.some((entry) => /Slack alert (failed|timed out)/.test(entry.message))).toBe(true);
        // A routed call with Slack still broken is unaffected.
        const routed = await handler(callEvent({ params: { to: '+14155552671' } }));
        expect(twimlSummary(twimlBody(routed))).toEqual({
          verb: 'Dial',
          callerId: TWILIO_FROM,
          timeLimit: '3600',
          number: '+14155552671',
        });
      } finally {
        await broken.close();
      }
    });
  }

  it('Slack unreachable (nothing listening) changes nothing in the TwiML', async () => {
    const closed = await startSlackReceiver('ok');
    const url = closed.url;
    await closed.close();
    const { handler } = slackHandler({ ...POLICY_ENV, SLACK_WEBHOOK_URL: url });
    const started = performance.now();
    expect(twimlBody(await handler(callEvent({ params: { to: '911' } })))).toBe(sayTwiml(SAY.emergency));
    expect(performance.now() - started).toBeLessThan(1500);
  });
});

describe('make_call logs', () => {
  it('a routed call is logged with its CallSid and the routing decision', async () => {
    const { handler, log } = callHandler();
    await handler(callEvent({ params: { to: '+1 (415) 555-2671', from: '+14155550101' } }));
    await handler(callEvent({ params: { to: 'client:passenger_456', From: CALLER_7 } }));
    expect(log.entries).toEqual([
      expect.objectContaining({
        level: 'info',
        attributes: expect.objectContaining({
          callSid: CALL_SID,
          decision: 'dial number',
          to: '+14155552671',
          callerId: '+14155550101',
        }),
      }),
      expect.objectContaining({
        level: 'info',
        attributes: expect.objectContaining({
          callSid: CALL_SID,
          decision: 'dial client',
          to: 'passenger_456',
          callerId: CALLER_7,
        }),
      }),
    ]);
  });

  it('refused destinations are logged as warnings with the CallSid and the decision', async () => {
    const cases: [string, string][] = [
      ['911', 'emergency'],
      ['+19002345678', 'blocked'],
      ['+15551234567', 'invalid'],
      ['', 'greeting'],
    ];
    for (const [to, decision] of cases) {
      const { handler, log } = callHandler();
      await handler(callEvent({ params: { to } }));
      expect(log.entries, to).toHaveLength(1);
      expect(log.entries[0]?.attributes, to).toMatchObject({ callSid: CALL_SID, decision });
      if (decision === 'emergency' || decision === 'blocked') expect(log.entries[0]?.level).toBe('warn');
    }
  });

  it('a destination the request chose is logged cut to 64 characters, whatever its length', async () => {
    for (const [to, decision] of [
      ['1'.repeat(10_000), 'invalid'],
      [`x${'y'.repeat(10_000)}`, 'invalid'],
      [`911${' '.repeat(5_000)}(`, 'emergency'],
    ] as const) {
      const { handler, log } = callHandler();
      await handler(callEvent({ params: { to } }));
      expect(log.entries[0]?.attributes?.decision).toBe(decision);
      expect(String(log.entries[0]?.attributes?.to)).toBe(to.trim().slice(0, 64));
    }
  });

  it('an unsigned request’s URL is logged cut to 200 characters: without PUBLIC_BASE_URL its host is the caller’s Host', async () => {
    const host = `${'a'.repeat(15_000)}.example`;
    const { handler, log } = callHandler();
    const response = await handler(callEvent({ signature: 'none', host }));

    expect(response.statusCode).toBe(403);
    const url = String(log.entries[0]?.attributes?.url);
    expect(url).toHaveLength(200);
    expect(url.startsWith('https://aaaa')).toBe(true);
  });

  it('the auth token never appears in the logs or alerts, whatever happens', async () => {
    const { handler, log, alerts } = callHandler();
    const events = [
      callEvent({ params: { to: '+14155552671' } }),
      callEvent({ params: { to: '911' } }),
      callEvent({ params: { to: '+14155552671' }, signature: 'none' }),
      callEvent({ params: { to: '+14155552671' }, token: 'another-auth-token-0123456789' }),
      callEvent({ params: { to: '+14155552671' }, encoding: 'json', signature: 'wrong' }),
      { ...callEvent({ params: { to: 'bob' } }), body: '!!!' },
    ];
    for (const event of events) await handler(event);
    expect(log.entries.length).toBeGreaterThanOrEqual(events.length);
    expect(log.text()).not.toContain(AUTH_TOKEN);
    expect(JSON.stringify(alerts)).not.toContain(AUTH_TOKEN);
    // A broken configuration is logged by name, not by value.
    const broken = callHandler({ ...POLICY_ENV, TWILIO_AUTH_TOKEN: 'short' });
    await broken.handler(callEvent({ params: { to: '+14155552671' } }));
    expect(broken.log.text()).toContain('TWILIO_AUTH_TOKEN');
    expect(broken.log.text()).not.toContain('"short"');
  });
});
