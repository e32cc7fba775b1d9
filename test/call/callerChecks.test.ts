/**
 * Who may call: every Twilio webhook must come from our account (and, when it says, our
 * TwiML app); parameters that routing reads must come once; make_call's caller must be an
 * identity this service issued; some number types are never dialed. Through the real
 * handlers, with requests signed by twilio's own helper.
 */
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { describe, expect, it } from 'vitest';
import * as callEvents from '../../functions/callEvents.js';
import { ConfigError, type Env, parseFields } from '../../lib/config.js';
import { configLoader } from '../../lib/functionConfig.js';
import { FUNCTION_FIELDS } from '../../lib/functionFields.js';
import { openGate } from '../support/gates.js';
import { recordingLog } from '../support/recordingLog.js';
import {
  ACCOUNT_SID,
  APP_SID,
  AUTH_TOKEN,
  CALLER,
  callEvent,
  callHandler,
  POLICY_ENV,
  ROUTE_URL,
  SAY,
  sayTwiml,
  TWILIO_FROM,
  twimlBody,
  webhookEvent,
} from './harness.js';
import { twimlSummary } from './xml.js';

const OTHER_ACCOUNT = `AC${'9'.repeat(32)}`;
const OTHER_APP = `AP${'8'.repeat(32)}`;

function statusHandler() {
  const log = recordingLog();
  const alerts: string[] = [];
  const handler = callEvents.createHandler({
    config: configLoader(FUNCTION_FIELDS.callEvents, {
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_ML_APP_SID: APP_SID,
    }),
    log,
    alert: async (alert) => void alerts.push(alert.errorMsg),
    alertGate: openGate,
    logGate: openGate,
    allowUnsignedRequests: false,
  });
  return { handler, alerts };
}

const statusEvent = (path: 'dial_status' | 'call_status', params: Record<string, string | undefined>) =>
  webhookEvent(`/api/v1/${path}`, { params });

describe('the account and the app', () => {
  it.each([
    ['another AccountSid', { AccountSid: OTHER_ACCOUNT }, 'AccountSid'],
    ['no AccountSid', { AccountSid: undefined }, 'AccountSid'],
    ['another ApplicationSid', { ApplicationSid: OTHER_APP }, 'ApplicationSid'],
  ])('make_call signed with %s → 403 and an alert naming it; nothing dialed', async (_, params, name) => {
    const { handler, alerts, log } = callHandler();

    const response = await handler(callEvent({ params: { to: '+14155552671', ...params } }));

    expect(response.statusCode).toBe(403);
    expect(alerts.map((a) => a.alert.errorMsg)).toEqual([`Signed request with another ${name}`]);
    expect(log.text()).not.toContain('dial number');
  });

  it('our ApplicationSid, or none, is accepted', async () => {
    const { handler } = callHandler();

    for (const ApplicationSid of [APP_SID, undefined]) {
      const response = await handler(callEvent({ params: { to: '+14155552671', ApplicationSid } }));
      expect(twimlSummary(twimlBody(response))).toMatchObject({ verb: 'Dial', number: '+14155552671' });
    }
  });

  it.each(['dial_status', 'call_status'] as const)(
    '%s from another account or app → 403 and an alert',
    async (path) => {
      const { handler, alerts } = statusHandler();

      const account = await handler(statusEvent(path, { AccountSid: OTHER_ACCOUNT, CallStatus: 'completed' }));
      const app = await handler(statusEvent(path, { ApplicationSid: OTHER_APP, CallStatus: 'completed' }));
      const ours = await handler(statusEvent(path, { CallStatus: 'completed', DialCallStatus: 'completed' }));

      expect([account.statusCode, app.statusCode]).toEqual([403, 403]);
      expect(ours.statusCode).toBeLessThan(300);
      expect(alerts).toEqual(['Signed request with another AccountSid', 'Signed request with another ApplicationSid']);
    },
  );
});

describe('parameters routing reads come once', () => {
  /** A form body with `name` twice, signed as Twilio signs it (twilio's helper, array values). */
  function twice(name: string, first: string, second: string) {
    const params: Record<string, string | string[]> = {
      CallSid: 'CA1',
      AccountSid: ACCOUNT_SID,
      From: CALLER,
      to: '+14155552671',
    };
    params[name] = [first, second];
    const body = new URLSearchParams(
      Object.entries(params).flatMap(([key, value]) =>
        (Array.isArray(value) ? value : [value]).map((v): [string, string] => [key, v]),
      ),
    ).toString();
    return callEvent({ rawBody: body, signature: getExpectedTwilioSignature(AUTH_TOKEN, ROUTE_URL, params) });
  }

  it.each([
    ['to', '+14155552671', '+19002345678'],
    ['from', '+14155550101', '+12125550199'],
    ['From', CALLER, `client:${APP_SID}_uid7`],
    ['AccountSid', ACCOUNT_SID, ACCOUNT_SID],
    ['ApplicationSid', APP_SID, OTHER_APP],
    ['CallSid', 'CA1', 'CA2'],
  ])('%s twice → the not-valid message, nothing dialed', async (name, first, second) => {
    const { handler } = callHandler();

    const response = await handler(twice(name, first, second));

    expect(twimlBody(response)).toBe(sayTwiml(SAY.invalid));
  });
});

describe('the caller is Twilio’s From, an identity this service issued', () => {
  it('client:<TWILIO_ML_APP_SID>_uid<user id> → dialed', async () => {
    const { handler } = callHandler();

    const response = await handler(callEvent({ params: { to: '+14155552671', From: CALLER } }));

    expect(twimlSummary(twimlBody(response))).toMatchObject({ verb: 'Dial', callerId: TWILIO_FROM });
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['a phone number', '+14155550101'],
    ['another app’s identity', `client:${OTHER_APP}_uid42`],
    ['an identity not of the issued form', 'client:driver_123'],
    ['the prefix without a user id', `client:${APP_SID}_uid`],
    ['a user id outside [A-Za-z0-9_]', `client:${APP_SID}_uid4-2`],
  ])('From %s → "This call could not be authorised", an alert, a metric', async (_, From) => {
    const { handler, alerts, log } = callHandler();

    const response = await handler(callEvent({ params: { to: '+14155552671', from: CALLER, From } }));

    expect(twimlBody(response)).toBe(sayTwiml(SAY.unauthorised));
    expect(alerts).toHaveLength(1);
    expect(log.entries.at(-1)?.attributes).toMatchObject({ decision: 'unauthorised' });
  });
});

describe('BLOCKED_NUMBER_TYPES', () => {
  it.each([
    ['+15002345678', 'PERSONAL_NUMBER'],
    ['+447640123456', 'PAGER'],
    ['+445512345678', 'UAN'],
    ['+19002345678', 'PREMIUM_RATE'],
  ])('%s (%s) is not dialed by default', async (to, type) => {
    const { handler, log } = callHandler({ ...POLICY_ENV, ALLOWED_DIAL_COUNTRIES: 'US,CA,GB' });

    const response = await handler(callEvent({ params: { to } }));

    expect(twimlBody(response)).toBe(sayTwiml(SAY.blocked));
    expect(log.entries.at(-1)?.attributes).toMatchObject({ reason: `${type} number` });
  });

  it('takes the operator’s list: without PERSONAL_NUMBER, a 5XX number is dialed', async () => {
    const { handler } = callHandler({ ...POLICY_ENV, BLOCKED_NUMBER_TYPES: 'PREMIUM_RATE,SHARED_COST' });

    const response = await handler(callEvent({ params: { to: '+15002345678' } }));

    expect(twimlSummary(twimlBody(response))).toMatchObject({ verb: 'Dial', number: '+15002345678' });
  });

  it('a type libphonenumber does not know is an error naming the setting', () => {
    const env: Env = { BLOCKED_NUMBER_TYPES: 'PREMIUM_RATE,PREMIUM' };

    expect(() => parseFields(['BLOCKED_NUMBER_TYPES'], env)).toThrow(ConfigError);
    expect(() => parseFields(['BLOCKED_NUMBER_TYPES'], env)).toThrow(
      /^Invalid configuration: BLOCKED_NUMBER_TYPES has an entry that must be one of FIXED_LINE/,
    );
  });
});
