/**
 * Issue 3's routing rules, one test each, through the handler with requests signed by
 * twilio's own helper. Expected values come from the issue's text; the phone-number
 * premises (which number is Jamaican, premium, …) are checked with libphonenumber-js/max
 * in the test itself, so a metadata change shows up as a broken premise, not a mystery.
 */
import { parsePhoneNumberWithError } from 'libphonenumber-js/max';
import { describe, expect, it } from 'vitest';
import type { Env } from '../../lib/config.js';
import {
  APP_SID,
  CALLER,
  CALLER_7,
  CALLER_IDS,
  callEvent,
  callHandler,
  type Params,
  POLICY_ENV,
  SAY,
  sayTwiml,
  TWILIO_FROM,
  twimlBody,
  XML_DECLARATION,
} from './harness.js';
import { twimlSummary } from './xml.js';

async function call(params: Params, env: Env = POLICY_ENV, encoding: 'form' | 'json' = 'form') {
  const { handler, alerts, log } = callHandler(env);
  const response = await handler(callEvent({ params, encoding }));
  const body = twimlBody(response);
  return { body, twiml: twimlSummary(body), alerts, log };
}

const dialNumber = (number: string, callerId = TWILIO_FROM, timeLimit = '3600') => ({
  verb: 'Dial',
  callerId,
  timeLimit,
  number,
});
const dialClient = (client: string, callerId: string, timeLimit = '3600') => ({
  verb: 'Dial',
  callerId,
  timeLimit,
  client,
});

function premise(text: string, country: string, type?: string) {
  const number = parsePhoneNumberWithError(text, 'US');
  expect(number.isValid(), `${text} is valid`).toBe(true);
  expect(number.country, `${text} is in ${country}`).toBe(country);
  if (type) expect(number.getType(), `${text} is ${type}`).toBe(type);
}

describe('make_call routing (issue 3)', () => {
  it('responds 200 with Content-Type text/xml', async () => {
    const { handler } = callHandler();
    const response = await handler(callEvent({ params: { to: '+14155552671' } }));
    expect(response.statusCode).toBe(200);
    expect(response.headers?.['content-type']).toBe('text/xml');
  });

  it('rule 1: `to` missing → the greeting, byte for byte as the original', async () => {
    for (const params of [{}, { from: '+14155550101' }, { From: CALLER_7 }] as Params[]) {
      const { body } = await call(params);
      expect(body).toBe(
        `${XML_DECLARATION}<Response><Say>Congratulations! You have just made your first call! Good bye.</Say></Response>`,
      );
    }
  });

  it('rule 1: `to` empty, or only whitespace once trimmed → the greeting', async () => {
    for (const to of ['', ' ', '\t\n', '\u00a0 \u2003']) {
      expect((await call({ to })).body, JSON.stringify(to)).toBe(sayTwiml(SAY.greeting));
    }
  });

  it('`to` is trimmed of surrounding whitespace (number and client)', async () => {
    expect((await call({ to: '  +14155552671\n' })).twiml).toEqual(dialNumber('+14155552671'));
    expect((await call({ to: '\tpassenger_456 ', From: CALLER_7 })).twiml).toEqual(
      dialClient('passenger_456', CALLER_7),
    );
  });

  it('rule 2: a valid formatted number is dialed in E.164 (`+1 (415) 555-2671` → `+14155552671`)', async () => {
    for (const to of ['+1 (415) 555-2671', '(415) 555-2671', '415-555-2671', '4155552671', '1-415-555-2671']) {
      expect((await call({ to })).twiml, to).toEqual(dialNumber('+14155552671'));
    }
    expect((await call({ to: '+1 506 234 5678' })).twiml).toEqual(dialNumber('+15062345678'));
  });

  it('rule 2: an E.164 number in an allowed country is dialed as is, JSON bodies too', async () => {
    for (const to of ['+14155552671', '+12127365000', '+15062345678', '+18005550199']) {
      expect((await call({ to })).twiml, to).toEqual(dialNumber(to));
      expect((await call({ to }, POLICY_ENV, 'json')).twiml, to).toEqual(dialNumber(to));
    }
  });

  it('rule 2: DEFAULT_COUNTRY decides how national numbers are read', async () => {
    const env = { ...POLICY_ENV, DEFAULT_COUNTRY: 'GB', ALLOWED_DIAL_COUNTRIES: 'GB' };
    premise('+442071838750', 'GB');
    expect((await call({ to: '020 7183 8750' }, env)).twiml).toEqual(dialNumber('+442071838750'));
  });

  it('rule 2: the digits of an emergency number (defaults, any formatting) → emergency message and an alert', async () => {
    for (const to of ['911', '112', '999', '000', '110', '119', '118', '933', '(911)', '9-1-1', '+911', ' 1 1 2 ']) {
      const { body, alerts } = await call({ to });
      expect(body, to).toBe(sayTwiml(SAY.emergency));
      expect(alerts, to).toHaveLength(1);
      expect(alerts[0]?.alert.errorMsg, to).toMatch(/emergency/i);
    }
  });

  it('rule 2: EMERGENCY_NUMBERS replaces the default list', async () => {
    const env = { ...POLICY_ENV, EMERGENCY_NUMBERS: '100,101' };
    expect((await call({ to: '101' }, env)).body).toBe(sayTwiml(SAY.emergency));
    // 911 is no longer on the list: it is then just not a valid number.
    expect((await call({ to: '911' }, env)).body).toBe(sayTwiml(SAY.invalid));
  });

  it('rule 2: a number that is not valid → not-valid message, no alert', async () => {
    expect(parsePhoneNumberWithError('+15551234567').isValid(), 'premise: the seed example is not valid').toBe(false);
    for (const to of ['+15551234567', '+1 (555) 123-4567', '123', '0', '+', '()-', '+1 415 555 26710']) {
      const { body, alerts } = await call({ to });
      expect(body, to).toBe(sayTwiml(SAY.invalid));
      expect(alerts, to).toEqual([]);
    }
  });

  it('rule 2: a +1 number outside ALLOWED_DIAL_COUNTRIES (Jamaica +1 876, Bahamas, Dominican Rep.) → not allowed, alert', async () => {
    premise('+18765230123', 'JM');
    premise('+12423591234', 'BS');
    premise('+18092345678', 'DO');
    for (const to of ['+18765230123', '+1 (876) 555-0100', '242-359-1234', '+1 809 234 5678', '+44 20 7183 8750']) {
      const { body, alerts } = await call({ to });
      expect(body, to).toBe(sayTwiml(SAY.blocked));
      expect(alerts, to).toHaveLength(1);
    }
  });

  it('rule 2: ALLOWED_DIAL_COUNTRIES decides: with JM allowed, the Jamaican number is dialed', async () => {
    const env = { ...POLICY_ENV, ALLOWED_DIAL_COUNTRIES: 'US,CA,JM' };
    expect((await call({ to: '+1 (876) 523-0123' }, env)).twiml).toEqual(dialNumber('+18765230123'));
  });

  it('rule 2: a PREMIUM_RATE number (+1 900) → not allowed, alert, although the US is allowed', async () => {
    premise('+19002345678', 'US', 'PREMIUM_RATE');
    for (const to of ['+19002345678', '1-900-234-5678', '(900) 234-5678']) {
      const { body, alerts } = await call({ to });
      expect(body, to).toBe(sayTwiml(SAY.blocked));
      expect(alerts, to).toHaveLength(1);
    }
  });

  it('rule 2: a SHARED_COST number → not allowed, alert, although its country is allowed', async () => {
    const env = { ...POLICY_ENV, ALLOWED_DIAL_COUNTRIES: 'US,CA,FR' };
    premise('+33810123456', 'FR', 'SHARED_COST');
    premise('+33123456789', 'FR', 'FIXED_LINE');
    const blocked = await call({ to: '+33 810 12 34 56' }, env);
    expect(blocked.body).toBe(sayTwiml(SAY.blocked));
    expect(blocked.alerts).toHaveLength(1);
    // The control: an ordinary French number under the same policy is dialed.
    expect((await call({ to: '+33 1 23 45 67 89' }, env)).twiml).toEqual(dialNumber('+33123456789'));
  });

  it('rule 3: a client, with or without the `client:` prefix → <Client>identity</Client>', async () => {
    for (const to of ['passenger_456', 'client:passenger_456']) {
      expect((await call({ to, From: CALLER_7 })).twiml, to).toEqual(dialClient('passenger_456', CALLER_7));
    }
    expect((await call({ to: 'a'.repeat(121), From: CALLER })).twiml).toEqual(dialClient('a'.repeat(121), CALLER));
  });

  it('rule 3: an identity outside ^[A-Za-z0-9_]{1,121}$ → not-valid message', async () => {
    const identities = [
      'client:',
      'client:client:bob',
      'a'.repeat(122),
      'passenger 456',
      'rider@example.com',
      'ålice',
      '📞',
      '<Say>hi</Say>',
      'alice&bob',
      '"><Number>+19002345678</Number><Client>x',
      'passenger_456\u0007',
      '1-800-FLOWERS',
      'CLIENT:bob',
    ];
    for (const to of identities) {
      const { body, alerts } = await call({ to, From: CALLER_7 });
      expect(body, JSON.stringify(to)).toBe(sayTwiml(SAY.invalid));
      expect(alerts).toEqual([]);
    }
  });

  it('caller ID, phone leg: `from` only when, in E.164, it is TWILIO_FROM or one of TWILIO_CALLER_IDS; else TWILIO_FROM', async () => {
    const to = '+14155552671';
    const cases: [Params, string][] = [
      [{ from: CALLER_IDS[0] }, CALLER_IDS[0]],
      [{ from: '+1 (212) 555-0199' }, CALLER_IDS[1]],
      [{ from: '212-555-0199' }, CALLER_IDS[1]],
      [{ from: TWILIO_FROM }, TWILIO_FROM],
      [{ from: '+12127365000' }, TWILIO_FROM],
      [{ from: CALLER_7, From: CALLER_7 }, TWILIO_FROM],
      [{ From: CALLER_7 }, TWILIO_FROM],
      [{ from: '' }, TWILIO_FROM],
      [{ from: '+1415555010' }, TWILIO_FROM],
    ];
    for (const [params, callerId] of cases) {
      expect((await call({ to, ...params })).twiml, JSON.stringify(params)).toEqual(dialNumber(to, callerId));
    }
  });

  it('caller ID, client leg: `from` if it is an owned number; else the caller, Twilio’s From', async () => {
    const From = CALLER_7;
    const cases: [string | undefined, string][] = [
      [CALLER_7, From],
      [CALLER_IDS[0], CALLER_IDS[0]],
      ['+1 (212) 555-0199', CALLER_IDS[1]],
      [TWILIO_FROM, TWILIO_FROM],
      [`client:${APP_SID}_uid77`, From],
      ['+12127365000', From],
      ['', From],
      [undefined, From],
      ['"/><Number>+19002345678</Number><Dial callerId="', From],
    ];
    for (const [from, callerId] of cases) {
      const params: Params = { to: 'passenger_456', From, ...(from === undefined ? {} : { from }) };
      expect((await call(params)).twiml, JSON.stringify(from)).toEqual(dialClient('passenger_456', callerId));
    }
  });

  it('no From, or one that is not ours: the unauthorised message, whatever `from` says', async () => {
    for (const params of [
      { to: 'passenger_456', from: CALLER_7, From: undefined },
      { to: '+14155552671', From: '' },
      { to: '+14155552671', From: '+14155550101' },
      { to: '+14155552671', From: 'client:driver_123' },
      { to: '+14155552671', From: `client:AP${'9'.repeat(32)}_uid42` },
      { to: '+14155552671', From: `client:${APP_SID}_uid` },
      { to: '', From: 'client:driver_123' },
    ] as Params[]) {
      const { body, alerts } = await call(params);
      expect(body, JSON.stringify(params)).toBe(sayTwiml(SAY.unauthorised));
      expect(alerts.map((a) => a.alert.errorMsg)).toEqual(['Caller is not an identity this service issued']);
    }
  });

  it('a `from` that XML 1.0 cannot carry (control character, U+FFFE, lone surrogate) is not a caller ID: From is', async () => {
    const cases: [Params, 'form' | 'json'][] = [
      [{ to: 'passenger_456', from: 'x\u0001y' }, 'form'],
      [{ to: 'passenger_456', from: '\uFFFE' }, 'form'],
      [{ to: 'passenger_456', from: 'client:\ud800' }, 'json'],
    ];
    for (const [params, encoding] of cases) {
      const { twiml } = await call(params, POLICY_ENV, encoding);
      expect(twiml, JSON.stringify(params)).toEqual(dialClient('passenger_456', CALLER));
    }
  });

  it('timeLimit is TWILIO_CALL_TIME_LIMIT', async () => {
    const env = { ...POLICY_ENV, TWILIO_CALL_TIME_LIMIT: '600' };
    expect((await call({ to: '+14155552671' }, env)).twiml).toEqual(dialNumber('+14155552671', TWILIO_FROM, '600'));
    expect((await call({ to: 'bob', From: CALLER }, env)).twiml).toEqual(dialClient('bob', CALLER, '600'));
  });

  it('a setting that is not valid (DEFAULT_COUNTRY, ALLOWED_DIAL_COUNTRIES) → the try-later message, naming it, and an alert', async () => {
    for (const [name, value] of [
      ['DEFAULT_COUNTRY', 'XX'],
      ['ALLOWED_DIAL_COUNTRIES', 'US,ZZ'],
      ['DEFAULT_COUNTRY', 'us'],
    ] as const) {
      const { handler, alerts, log } = callHandler({ ...POLICY_ENV, [name]: value });
      const response = await handler(callEvent({ params: { to: '+14155552671' } }));
      expect(twimlBody(response), `${name}=${value}`).toBe(sayTwiml(SAY.tryLater));
      expect(alerts).toHaveLength(1);
      expect(log.text()).toContain(name);
    }
  });
});
