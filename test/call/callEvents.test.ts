/**
 * Twilio's status webhooks — dial_status (how a `<Dial>` ended, and what the caller hears)
 * and call_status (each leg's events, status and duration) — through the real handler,
 * with requests signed by twilio's own helper. Expected texts are the issue's words.
 */
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { describe, expect, it } from 'vitest';
import { createHandler, defaultDeps } from '../../functions/callEvents.js';
import type { AlertSender } from '../../lib/alerts.js';
import type { Env } from '../../lib/config.js';
import { configLoader } from '../../lib/functionConfig.js';
import { FUNCTION_FIELDS } from '../../lib/functionFields.js';
import { noMetrics } from '../../lib/metrics.js';
import { openGate } from '../support/gates.js';
import { recordingLog } from '../support/recordingLog.js';
import {
  ACCOUNT_SID,
  APP_SID,
  AUTH_TOKEN,
  CALL_SID,
  CALLER,
  type CallRequestOptions,
  HOST,
  SAY,
  sayTwiml,
  twimlBody,
  webhookEvent,
  XML_DECLARATION,
} from './harness.js';

const ENV: Env = { TWILIO_AUTH_TOKEN: AUTH_TOKEN, TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_ML_APP_SID: APP_SID };
const DIAL_SID = 'CAfedcba9876543210fedcba9876543210';

function events(env: Env = ENV) {
  const log = recordingLog();
  const alerts: string[] = [];
  const metrics: { name: string; dimensions: Record<string, string>; seconds?: number }[] = [];
  const alert: AlertSender = async (sent) => void alerts.push(sent.errorMsg);
  const handler = createHandler({
    config: configLoader(FUNCTION_FIELDS.callEvents, env),
    log,
    alert,
    alertGate: openGate,
    logGate: openGate,
    allowUnsignedRequests: false,
    metrics: {
      count: (name, dimensions = {}) => void metrics.push({ name, dimensions }),
      seconds: (name, seconds, dimensions = {}) => void metrics.push({ name, dimensions, seconds }),
      flush: () => undefined,
    },
  });
  return { handler, log, alerts, metrics };
}

const dialStatus = (params: Record<string, string>, options: CallRequestOptions = {}) =>
  webhookEvent('/api/v1/dial_status', {
    query: 'leg=number',
    params: { DialCallSid: DIAL_SID, ...params },
    ...options,
  });
const callStatus = (params: Record<string, string>, options: CallRequestOptions = {}) =>
  webhookEvent('/api/v1/call_status', { params, ...options });

const HANGUP = `${XML_DECLARATION}<Response><Hangup/></Response>`;

/** A status webhook with `name` given twice, signed as Twilio signs a repeated name. */
function withRepeated(path: string, query: string, params: Record<string, string>, name: string, values: string[]) {
  const all: Record<string, string> = { CallSid: CALL_SID, AccountSid: ACCOUNT_SID, From: CALLER, ...params };
  delete all[name];
  const body = new URLSearchParams(all);
  for (const value of values) body.append(name, value);
  const url = `https://${HOST}${path}${query ? `?${query}` : ''}`;
  return webhookEvent(path, {
    query,
    rawBody: body.toString(),
    signature: getExpectedTwilioSignature(AUTH_TOKEN, url, { ...all, [name]: values }),
  });
}

describe('status webhooks: the parameters they act on come once', () => {
  it('call_status with CallSid, ParentCallSid, CallStatus, CallDuration or To twice → 400, nothing counted (so no slot freed)', async () => {
    for (const name of ['ParentCallSid', 'CallSid', 'CallStatus', 'CallDuration', 'To']) {
      const { handler, metrics, log } = events();
      const params = { CallStatus: 'completed', CallDuration: '30', To: '+14155552671' };
      const event = withRepeated('/api/v1/call_status', 'caller=42', params, name, ['CA1', 'CA2']);

      const response = await handler(event);

      expect(response.statusCode).toBe(400);
      expect(metrics).toEqual([{ name: 'WebhookRejected', dimensions: { Reason: 'repeated' } }]);
      expect(log.entries[0]?.attributes).toEqual({ parameters: [name] });
    }
  });

  it('dial_status with DialCallStatus twice → 400, no DialOutcome', async () => {
    const { handler, metrics } = events();
    const event = withRepeated('/api/v1/dial_status', 'leg=number', { DialCallSid: DIAL_SID }, 'DialCallStatus', [
      'completed',
      'busy',
    ]);

    expect((await handler(event)).statusCode).toBe(400);
    expect(metrics.map((m) => m.name)).toEqual(['WebhookRejected']);
  });
});

describe('dial_status: what the caller hears once the dial has ended', () => {
  it.each([
    ['completed', HANGUP],
    ['answered', HANGUP],
    ['busy', sayTwiml(SAY.busy)],
    ['no-answer', sayTwiml(SAY.noAnswer)],
    ['failed', sayTwiml(SAY.notConnected)],
    ['canceled', sayTwiml(SAY.notConnected)],
    ['something-new', sayTwiml(SAY.notConnected)],
  ])('DialCallStatus %s → its TwiML', async (status, expected) => {
    const { handler } = events();

    expect(twimlBody(await handler(dialStatus({ DialCallStatus: status })))).toBe(expected);
  });

  it('a missing DialCallStatus → the call could not be connected', async () => {
    const { handler } = events();

    expect(twimlBody(await handler(dialStatus({})))).toBe(sayTwiml(SAY.notConnected));
  });

  it('logs CallSid, DialCallSid, DialCallStatus, DialCallDuration and the leg, and counts DialOutcome by Status and Leg', async () => {
    const { handler, log, metrics } = events();

    await handler(dialStatus({ DialCallStatus: 'completed', DialCallDuration: '42' }, { query: 'leg=client' }));

    expect(log.entries).toEqual([
      {
        level: 'info',
        message: 'Dial ended',
        attributes: {
          callSid: expect.stringMatching(/^CA/),
          dialCallSid: DIAL_SID,
          dialCallStatus: 'completed',
          dialCallDuration: '42',
          leg: 'client',
        },
      },
    ]);
    expect(metrics).toEqual([{ name: 'DialOutcome', dimensions: { Status: 'completed', Leg: 'client' } }]);
  });

  it('counts a status or leg it does not know as other / unknown: a dimension never takes a free value', async () => {
    const { handler, metrics } = events();

    await handler(dialStatus({ DialCallStatus: 'x'.repeat(300) }, { query: 'leg=../../etc' }));

    expect(metrics).toEqual([{ name: 'DialOutcome', dimensions: { Status: 'other', Leg: 'unknown' } }]);
  });

  it('the leg is part of the signed URL: a request signed for another leg is refused', async () => {
    const { handler } = events();
    const signedForClient = dialStatus({ DialCallStatus: 'busy' }, { query: 'leg=client' });
    const tampered = { ...signedForClient, rawQueryString: 'leg=number' };

    expect((await handler(tampered)).statusCode).toBe(403);
  });

  it('unsigned or wrongly signed → 403, nothing logged beyond the rejection, no DialOutcome', async () => {
    const { handler, metrics, alerts } = events();

    const unsigned = await handler(dialStatus({ DialCallStatus: 'busy' }, { signature: 'none' }));
    const forged = await handler(dialStatus({ DialCallStatus: 'busy' }, { token: 'another-auth-token-00000000' }));

    expect([unsigned.statusCode, forged.statusCode]).toEqual([403, 403]);
    expect(metrics).toEqual([
      { name: 'WebhookRejected', dimensions: { Reason: 'unsigned' } },
      { name: 'WebhookRejected', dimensions: { Reason: 'signature' } },
    ]);
    expect(alerts).toEqual(['Request not signed by Twilio', 'Request not signed by Twilio']);
  });

  it('a bad body gets the same answers as make_call: 415, 400', async () => {
    const { handler } = events();

    const notForm = await handler(dialStatus({}, { rawBody: 'x', contentType: 'text/plain' }));
    const badJson = await handler(dialStatus({}, { rawBody: '[1]', contentType: 'application/json', base64: false }));

    expect([notForm.statusCode, badJson.statusCode]).toEqual([415, 400]);
  });

  it('a failure of ours (no TWILIO_AUTH_TOKEN) ends the call with <Hangup/> and alerts; unsigned still 403', async () => {
    const { handler, alerts } = events({ ...ENV, TWILIO_AUTH_TOKEN: undefined });

    expect(twimlBody(await handler(dialStatus({ DialCallStatus: 'busy' })))).toBe(HANGUP);
    expect((await handler(dialStatus({ DialCallStatus: 'busy' }, { signature: 'none' }))).statusCode).toBe(403);
    expect(alerts[0]).toContain('TWILIO_AUTH_TOKEN');
  });
});

describe('call_status: each leg event, logged; its duration counted when it ends', () => {
  const EVENT = {
    ParentCallSid: 'CA11111111111111111111111111111111',
    Direction: 'outbound-dial',
    To: '+14155552671',
  };

  it('with PUBLIC_BASE_URL moved to a custom domain, a callback Twilio was given before (the execute-api URL) is still verified', async () => {
    const { handler } = events({ ...ENV, PUBLIC_BASE_URL: 'https://voice.example.com' });

    expect((await handler(callStatus({ ...EVENT, CallStatus: 'completed', CallDuration: '30' }))).statusCode).toBe(204);
    const toCustomDomain = callStatus(
      { ...EVENT, CallStatus: 'completed' },
      { host: 'voice.example.com', signBase: 'https://voice.example.com/api/v1/call_status' },
    );
    expect((await handler(toCustomDomain)).statusCode).toBe(204);
  });

  it('answers 204 with an empty body', async () => {
    const { handler } = events();

    const response = await handler(callStatus({ ...EVENT, CallStatus: 'ringing', SequenceNumber: '1' }));

    expect(response.statusCode).toBe(204);
    expect(response.body).toBe('');
  });

  it('logs one structured line per event: CallSid, ParentCallSid, CallStatus, Direction, SequenceNumber, the leg', async () => {
    const { handler, log, metrics } = events();

    await handler(callStatus({ ...EVENT, CallStatus: 'in-progress', SequenceNumber: '2' }));

    expect(log.entries).toEqual([
      {
        level: 'info',
        message: 'Call status',
        attributes: {
          callSid: expect.stringMatching(/^CA/),
          parentCallSid: EVENT.ParentCallSid,
          callStatus: 'in-progress',
          direction: 'outbound-dial',
          sequenceNumber: '2',
          leg: 'number',
        },
      },
    ]);
    expect(metrics).toEqual([]);
  });

  it.each([
    ['completed', '+14155552671', 'number', '37'],
    ['busy', 'client:rider_42', 'client', '0'],
    ['no-answer', 'client:rider_42', 'client', '0'],
    ['failed', '+14155552671', 'number', '0'],
    ['canceled', '+14155552671', 'number', '0'],
  ])(
    'a leg ending %s (%s) emits CallDuration in seconds by Leg and Status, and CallsCompleted by Status',
    async (status, to, leg, duration) => {
      const { handler, log, metrics } = events();

      await handler(callStatus({ ...EVENT, To: to, CallStatus: status, CallDuration: duration, SequenceNumber: '3' }));

      expect(metrics).toEqual([
        { name: 'CallDuration', dimensions: { Leg: leg, Status: status }, seconds: Number(duration) },
        { name: 'CallsCompleted', dimensions: { Status: status } },
      ]);
      expect(log.entries[0]?.attributes).toMatchObject({ callDuration: duration, leg });
    },
  );

  it('unsigned → 403 and nothing counted but the rejection', async () => {
    const { handler, metrics } = events();

    const response = await handler(
      callStatus({ ...EVENT, CallStatus: 'completed', CallDuration: '60' }, { signature: 'none' }),
    );

    expect(response.statusCode).toBe(403);
    expect(metrics.map((m) => m.name)).toEqual(['WebhookRejected']);
  });

  it('Lambda deps without TWILIO_AUTH_TOKEN never skip the check: unsigned dial_status and call_status → 403', async () => {
    const deps = defaultDeps({ ...ENV, TWILIO_AUTH_TOKEN: undefined });
    expect(deps.allowUnsignedRequests).toBe(false);
    const handler = createHandler({ ...deps, log: recordingLog(), alert: async () => undefined, metrics: noMetrics });

    const unsigned = { signature: 'none' } as const;
    expect((await handler(dialStatus({ DialCallStatus: 'completed' }, unsigned))).statusCode).toBe(403);
    // A slot holder in the URL frees nothing unsigned.
    const release = { ...unsigned, query: 'caller=42' };
    expect((await handler(callStatus({ ...EVENT, CallStatus: 'completed' }, release))).statusCode).toBe(403);
  });

  it('a failure of ours → 503, counted as WebhookFailed', async () => {
    const { handler, metrics } = events({ ...ENV, TWILIO_AUTH_TOKEN: 'short' });

    const response = await handler(callStatus({ ...EVENT, CallStatus: 'completed' }));

    expect(response.statusCode).toBe(503);
    expect(metrics.map((m) => m.name)).toEqual(['WebhookFailed']);
  });
});

describe('callEvents answers its two routes only', () => {
  it('any other route path, an object’s own property names included, gets 404 and nothing else', async () => {
    const { handler, log, metrics } = events();

    for (const path of ['/api/v1/make_call', '__proto__', 'constructor', 'toString']) {
      const response = await handler(webhookEvent(path, { params: { CallStatus: 'completed' } }));
      expect([path, response.statusCode, response.body]).toEqual([path, 404, 'Not Found']);
    }
    expect([log.entries, metrics]).toEqual([[], []]);
  });
});
