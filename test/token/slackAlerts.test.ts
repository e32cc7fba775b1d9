/**
 * The alert path end to end: the callToken handler with the real Slack sender
 * (@slack/webhook) posting to a loopback HTTP receiver standing in for Slack.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/callToken.js';
import { alertGate, slackAlertSender } from '../../lib/alerts.js';
import { configLoader } from '../../lib/functionConfig.js';
import { FUNCTION_FIELDS } from '../../lib/functionFields.js';
import { recordingLog } from '../support/recordingLog.js';
import { type SlackReceiver, startSlackReceiver } from '../support/slackReceiver.js';
import { callTokenEventWithQuery } from './events.js';
import { INVALID_PARAMETERS_ALERT, settings } from './settings.js';

const INVALID_PARAMETERS = '{"status":"fail","error":{"code":10001,"msg":"Invalid parameters"}}';
/** The bound on waiting for Slack. */
const SLACK_TIMEOUT_MS = 1000;
const MARGIN_MS = 700;

let receiver: SlackReceiver;
beforeAll(async () => {
  receiver = await startSlackReceiver('ok');
});
afterAll(() => receiver.close());
beforeEach(() => {
  receiver.received.length = 0;
  receiver.behaviour = 'ok';
});

/** `null`: no SLACK_WEBHOOK_URL at all. */
function callToken(webhookUrl: string | null = receiver.url) {
  const log = recordingLog();
  const handler = createHandler({
    config: configLoader(FUNCTION_FIELDS.callToken, settings({ SLACK_WEBHOOK_URL: webhookUrl ?? undefined })),
    log,
    alert: slackAlertSender(log),
    alertGate: alertGate(),
  });
  return { handler, log };
}

/** The alert fields as they arrive in the Slack message's attachment. */
function fieldsOf(message: unknown): Record<string, string> {
  const attachments = (message as { attachments: { fields: { title: string; value: string }[] }[] }).attachments;
  return Object.fromEntries(attachments.flatMap((a) => a.fields).map((f) => [f.title, f.value]));
}

describe('Slack alert for an invalid type', () => {
  it('posts one message to SLACK_WEBHOOK_URL as JSON', async () => {
    const { handler } = callToken();

    await handler(callTokenEventWithQuery({ type: 'voip' }));

    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]?.headers['content-type']).toMatch(/^application\/json/);
  });

  it('carries exactly the legacy fields: status, vendor, vendorApi, originApi, errorMsg, meta', async () => {
    const { handler } = callToken();
    const query = { type: 'voip', lang: 'en' };

    await handler(callTokenEventWithQuery(query));

    const { meta, ...fields } = fieldsOf(receiver.received[0]?.body);
    expect(fields).toEqual(INVALID_PARAMETERS_ALERT);
    expect(JSON.parse(meta ?? '')).toEqual({ type: 'voip', otherParameters: ['lang'] });
  });

  it('escapes request text, so a query cannot mention the channel or format the alert', async () => {
    const { handler } = callToken();

    await handler(callTokenEventWithQuery({ type: '<!channel> & <https://evil.example|click>' }));

    const body = JSON.stringify(receiver.received[0]?.body);
    expect(body).not.toContain('<!channel>');
    expect(body).not.toContain('<https://evil.example|click>');
    expect(fieldsOf(receiver.received[0]?.body).meta).toBe(
      '{"type":"&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;"}',
    );
  });

  it('has meta {"type":null} when there is no query string', async () => {
    const { handler } = callToken();

    await handler(callTokenEventWithQuery(undefined));

    expect(JSON.parse(fieldsOf(receiver.received[0]?.body).meta ?? '')).toEqual({ type: null });
  });

  it('never carries the bearer token or any request header', async () => {
    const { handler } = callToken();
    const event = callTokenEventWithQuery({ type: 'voip' });
    const bearer = (event.headers.authorization ?? '').split(' ')[1] ?? '';

    await handler(event);

    const sent = JSON.stringify(receiver.received[0]?.body);
    expect(bearer.length).toBeGreaterThan(20);
    expect(sent).not.toContain(bearer);
    for (const [name, value] of Object.entries(event.headers)) {
      expect(sent).not.toContain(name);
      expect(sent).not.toContain(value);
    }
  });
});

describe('Slack failures never change the response', () => {
  it('answers within the ~1 s alert timeout when Slack hangs', async () => {
    receiver.behaviour = 'hang';
    const { handler } = callToken();

    const started = performance.now();
    const response = await handler(callTokenEventWithQuery({ type: 'voip' }));
    const elapsed = performance.now() - started;

    expect(receiver.received).toHaveLength(1);
    expect(elapsed).toBeLessThan(SLACK_TIMEOUT_MS + MARGIN_MS);
    expect(response.body).toBe(INVALID_PARAMETERS);
  });

  it('logs that the alert timed out when Slack hangs', async () => {
    receiver.behaviour = 'hang';
    const { handler, log } = callToken();

    await handler(callTokenEventWithQuery({ type: 'voip' }));

    expect(log.entries.filter((e) => e.level === 'warn').map((e) => e.message)).toContain('Slack alert timed out');
  });

  it('answers the same 400 when Slack fails with 500', async () => {
    receiver.behaviour = 'fail';
    const { handler } = callToken();

    const response = await handler(callTokenEventWithQuery({ type: 'voip' }));

    expect(receiver.received).toHaveLength(1);
    expect(response.statusCode).toBe(400);
    expect(response.body).toBe(INVALID_PARAMETERS);
  });

  it('logs a Slack failure without the webhook URL (it is a credential)', async () => {
    receiver.behaviour = 'fail';
    const { handler, log } = callToken();

    await handler(callTokenEventWithQuery({ type: 'voip' }));

    expect(log.entries.map((e) => e.message)).toContain('Slack alert failed');
    expect(log.text()).not.toContain('/services/T000/B000/XXXX');
  });

  it('an alert whose kept-alive connection Slack has closed goes out once on a new connection', async () => {
    receiver.behaviour = 'close-reused';
    const first = callToken();
    const second = callToken();

    await first.handler(callTokenEventWithQuery({ type: 'voip' }));
    // fetch puts the answered connection back in its pool on the next turn (a Lambda's next request comes later still).
    await new Promise((resolve) => setImmediate(resolve));
    await second.handler(callTokenEventWithQuery({ type: 'voip' }));

    expect(receiver.closedOnReuse).toBeGreaterThan(0);
    expect(receiver.received).toHaveLength(2);
    expect([...first.log.entries, ...second.log.entries].map((e) => e.message)).not.toContain('Slack alert failed');
  });

  it('an alert Slack began to answer, its body cut off, is not sent again', async () => {
    receiver.behaviour = 'cut-off';
    const { handler, log } = callToken();

    const response = await handler(callTokenEventWithQuery({ type: 'voip' }));

    expect(response.body).toBe(INVALID_PARAMETERS);
    expect(receiver.received).toHaveLength(1);
    expect(log.entries.map((e) => e.message)).toContain('Slack alert failed');
  });

  it('an alert Slack answered with 500, or never answered, is not sent again', async () => {
    for (const behaviour of ['fail', 'hang'] as const) {
      receiver.behaviour = behaviour;
      receiver.received.length = 0;
      const { handler } = callToken();

      await handler(callTokenEventWithQuery({ type: 'voip' }));

      expect(receiver.received).toHaveLength(1);
    }
  });

  it('answers the same 400 when nothing listens at the webhook URL', async () => {
    const closed = await startSlackReceiver('ok');
    const url = closed.url;
    await closed.close();
    const { handler } = callToken(url);

    const response = await handler(callTokenEventWithQuery({ type: 'voip' }));

    expect(response.body).toBe(INVALID_PARAMETERS);
  });
});

describe('without SLACK_WEBHOOK_URL', () => {
  it('writes the alert, with all its fields, to the log at error level', async () => {
    const { handler, log } = callToken(null);
    const query = { type: 'fcm2' };

    const response = await handler(callTokenEventWithQuery(query));

    expect(response.body).toBe(INVALID_PARAMETERS);
    const logged = log.entries.filter((e) => e.level === 'error').map((e) => e.attributes?.alert);
    expect(logged).toEqual([
      {
        status: 'ERROR',
        vendor: 'Twilio',
        vendorApi: 'token',
        originApi: '[GET] /api/v1/call_token',
        errorMsg: 'Invalid parameters',
        meta: '{"type":"fcm2"}',
      },
    ]);
    expect(receiver.received).toHaveLength(0);
  });
});
