/**
 * make_call's `<Dial>` with the call-lifecycle settings, and the support line. Read back
 * with a real XML parser; the byte-for-byte comparison with twilio's Python helper is in
 * conformance.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { dialPolicyProblems } from '../../lib/callRouting.js';
import { ConfigError, type Env, parseFields } from '../../lib/config.js';
import {
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
import { parseXml, type XmlElement } from './xml.js';

const ON: Env = { ...POLICY_ENV, DIAL_ACTION: 'true', ANSWER_ON_BRIDGE: 'true', CALL_STATUS_CALLBACK: 'true' };
const SUPPORT = '+12025550143';

async function dial(env: Env, params: Record<string, string>, options: Parameters<typeof callEvent>[0] = {}) {
  const { handler } = callHandler(env);
  // With PUBLIC_BASE_URL, Twilio signed that URL.
  const signBase = env.PUBLIC_BASE_URL ? `${env.PUBLIC_BASE_URL}/api/v1/make_call` : undefined;
  const body = twimlBody(await handler(callEvent({ params, ...(signBase ? { signBase } : {}), ...options })));
  const root = parseXml(body).root;
  const element = root.children[0] as XmlElement;
  return { body, dial: element, noun: element.children[0] as XmlElement };
}

describe('the <Dial> with every lifecycle setting on', () => {
  it('carries action=<base>/api/v1/dial_status?leg=number, method POST, timeout 30, answerOnBridge true', async () => {
    const { dial: element } = await dial(
      { ...ON, PUBLIC_BASE_URL: 'https://voice.example.com' },
      { to: '+14155552671' },
    );

    expect(element.attributes).toEqual({
      callerId: TWILIO_FROM,
      timeLimit: '3600',
      action: 'https://voice.example.com/api/v1/dial_status?leg=number',
      method: 'POST',
      timeout: '30',
      answerOnBridge: 'true',
    });
  });

  it('names the client leg in the action for an app user', async () => {
    const { dial: element } = await dial(ON, { to: 'passenger_456', From: CALLER_7 });

    expect(element.attributes.action).toMatch(/\/api\/v1\/dial_status\?leg=client$/);
  });

  it('takes the base from the request when PUBLIC_BASE_URL is unset: the URL Twilio called', async () => {
    const { dial: element } = await dial(
      ON,
      { to: '+14155552671' },
      { host: 'abc.execute-api.eu-west-1.amazonaws.com' },
    );

    expect(element.attributes.action).toBe(
      'https://abc.execute-api.eu-west-1.amazonaws.com/api/v1/dial_status?leg=number',
    );
  });

  it('gives every <Number> and <Client> statusCallback=<base>/api/v1/call_status with all four events, POST', async () => {
    for (const params of [{ to: '+14155552671' }, { to: 'passenger_456', From: CALLER_7 }] as Record<
      string,
      string
    >[]) {
      const { noun } = await dial({ ...ON, PUBLIC_BASE_URL: 'https://voice.example.com' }, params);

      expect(noun.attributes).toEqual({
        statusCallback: 'https://voice.example.com/api/v1/call_status',
        statusCallbackEvent: 'initiated ringing answered completed',
        statusCallbackMethod: 'POST',
      });
    }
  });

  it('takes DIAL_TIMEOUT for timeout', async () => {
    const { dial: element } = await dial({ ...ON, DIAL_TIMEOUT: '12' }, { to: '+14155552671' });

    expect(element.attributes.timeout).toBe('12');
  });

  it('adds nothing to a spoken answer', async () => {
    const { body } = await dial(ON, { to: '911' });

    expect(body).toBe(sayTwiml(SAY.emergency));
  });
});

describe('each setting on its own', () => {
  it('DIAL_ACTION alone: action, method and timeout (attributes in name order, as the Python helper writes them)', async () => {
    const { dial: element, noun } = await dial({ ...POLICY_ENV, DIAL_ACTION: 'true' }, { to: '+14155552671' });

    expect(Object.keys(element.attributes)).toEqual(['action', 'callerId', 'method', 'timeLimit', 'timeout']);
    expect(noun.attributes).toEqual({});
  });

  it('ANSWER_ON_BRIDGE alone: answerOnBridge only', async () => {
    const { dial: element } = await dial({ ...POLICY_ENV, ANSWER_ON_BRIDGE: 'true' }, { to: '+14155552671' });

    expect(Object.keys(element.attributes)).toEqual(['answerOnBridge', 'callerId', 'timeLimit']);
  });

  it('all false: the original attributes only', async () => {
    const off = { ...POLICY_ENV, DIAL_ACTION: 'false', ANSWER_ON_BRIDGE: 'false', CALL_STATUS_CALLBACK: 'false' };
    const { dial: element, noun } = await dial(off, { to: '+14155552671' });

    expect(Object.keys(element.attributes)).toEqual(['callerId', 'timeLimit']);
    expect(noun.attributes).toEqual({});
  });
});

describe('boolean settings take true or false only', () => {
  it.each(['DIAL_ACTION', 'ANSWER_ON_BRIDGE', 'CALL_STATUS_CALLBACK'] as const)(
    '%s: "yes", "1", "TRUE" are errors naming it',
    (name) => {
      for (const value of ['yes', '1', 'TRUE', 'on']) {
        expect(() => parseFields([name], { [name]: value })).toThrow(
          new ConfigError([`${name} must be true or false`]),
        );
      }
      expect(parseFields([name], { [name]: 'true' })[name]).toBe(true);
      expect(parseFields([name], {})[name]).toBe(false);
    },
  );

  it('DIAL_TIMEOUT is 5 to 60 seconds, default 30', () => {
    expect(parseFields(['DIAL_TIMEOUT'], {}).DIAL_TIMEOUT).toBe(30);
    expect(() => parseFields(['DIAL_TIMEOUT'], { DIAL_TIMEOUT: '4' })).toThrow(
      /DIAL_TIMEOUT must be a whole number from 5 to 60/,
    );
    expect(() => parseFields(['DIAL_TIMEOUT'], { DIAL_TIMEOUT: '61' })).toThrow(/DIAL_TIMEOUT/);
  });
});

const POLICY_FIELDS = [
  'TWILIO_ML_APP_SID',
  'BLOCKED_NUMBER_TYPES',
  'TWILIO_FROM',
  'TWILIO_CALLER_IDS',
  'DEFAULT_COUNTRY',
  'ALLOWED_DIAL_COUNTRIES',
  'EMERGENCY_NUMBERS',
  'SUPPORT_NUMBER',
] as const;

describe('the support line', () => {
  const WITH_SUPPORT = { ...POLICY_ENV, SUPPORT_NUMBER: SUPPORT };

  it.each(['support', ' Support ', 'SUPPORT'])('to=%j dials SUPPORT_NUMBER with caller ID TWILIO_FROM', async (to) => {
    const { dial: element, noun } = await dial(WITH_SUPPORT, { to, from: '+14155550101' });

    expect(element.name).toBe('Dial');
    expect(element.attributes.callerId).toBe(TWILIO_FROM);
    expect(noun).toMatchObject({ name: 'Number', text: SUPPORT });
  });

  it('whatever ALLOWED_DIAL_COUNTRIES says: the operator chose the number', async () => {
    const { noun } = await dial(
      { ...POLICY_ENV, SUPPORT_NUMBER: '+442079460958', ALLOWED_DIAL_COUNTRIES: 'US' },
      { to: 'support' },
    );

    expect(noun).toMatchObject({ name: 'Number', text: '+442079460958' });
  });

  it('is logged and counted as its own decision', async () => {
    const { handler, log } = callHandler(WITH_SUPPORT);

    await handler(callEvent({ params: { to: 'support' } }));

    expect(log.entries.at(-1)?.attributes).toMatchObject({ decision: 'dial support', to: SUPPORT });
  });

  it('without SUPPORT_NUMBER, support is an app-user identity, as in the original', async () => {
    const { noun } = await dial(POLICY_ENV, { to: 'support', From: CALLER });

    expect(noun).toMatchObject({ name: 'Client', text: 'support' });
  });

  it.each([
    ['+19002345678', 'SUPPORT_NUMBER is a premium-rate number'],
    // France's 081x numbers are shared-cost ("numéro à coût partagé").
    ['+33810123456', 'SUPPORT_NUMBER is a shared-cost number'],
    ['+15551234567', 'SUPPORT_NUMBER is not a valid phone number'],
  ])('SUPPORT_NUMBER=%s is a configuration error named at load: %s', (number, problem) => {
    const policy = parseFields(POLICY_FIELDS, {
      ...POLICY_ENV,
      SUPPORT_NUMBER: number,
    });

    expect(dialPolicyProblems(policy)).toEqual([problem]);
  });

  it('an emergency number is refused too: its digits among EMERGENCY_NUMBERS', () => {
    const policy = parseFields(POLICY_FIELDS, {
      ...POLICY_ENV,
      // A number whose national digits an operator listed as an emergency number.
      SUPPORT_NUMBER: '+972123456',
      EMERGENCY_NUMBERS: '123456',
    });

    expect(dialPolicyProblems(policy)).toEqual(['SUPPORT_NUMBER is an emergency number']);
  });

  it('a bad SUPPORT_NUMBER makes make_call say try later, naming the setting in the log', async () => {
    const { handler, log } = callHandler({ ...POLICY_ENV, SUPPORT_NUMBER: '+19002345678' });

    const response = await handler(callEvent({ params: { to: '+14155552671' } }));

    expect(twimlBody(response)).toBe(sayTwiml(SAY.tryLater));
    expect(log.text()).toContain('SUPPORT_NUMBER');
  });
});
