/**
 * Conformance with the original make_call (issue 3, "Conformance with the original").
 * test/conformance/generate_call_fixtures.py ran the seed's logic with twilio's Python
 * helper over a corpus and wrote test/fixtures/conformance/make_call.json. Each input is
 * sent here through our handler, signed, as a form post and as JSON:
 * - no declared difference → our TwiML is byte-identical to the Python output;
 * - declared differences → our TwiML is byte-identical to `expected` (the Python helper's
 *   rendering with the values the rules call for) and obeys each named rule, checked
 *   specifically below.
 * Every request carries what Twilio sends for a call through our TwiML app (AccountSid,
 * ApplicationSid, CallSid) and the case's own Twilio From, or none where the case has none:
 * the corpus's callers are identities this service issues, and a case whose From is not
 * one declares caller-not-ours (the new caller rule). CALL_LIMITS_TABLE is not set.
 * The corpus runs with the settings that add <Dial> attributes unset and set explicitly
 * off (the TwiML must not change), and the fixture's `settingsOn` section runs the inputs
 * the original dialed with them on (and PUBLIC_BASE_URL, SUPPORT_NUMBER): our TwiML is
 * byte-identical to `expected`, the Python helper's rendering with the same attributes
 * (attributes sorted by name, as the helper writes them), and every
 * <Dial> carries exactly the attributes the settings ask for.
 */
import { readFileSync } from 'node:fs';
import { parsePhoneNumberWithError } from 'libphonenumber-js/max';
import { describe, expect, it } from 'vitest';
import type { Env } from '../../lib/config.js';
import { ACCOUNT_SID, APP_SID, callEvent, callHandler, ROUTE_PATH, type SentAlert, twimlBody } from './harness.js';
import { parseXml, type TwimlSummary, twimlSummary } from './xml.js';

interface ConformanceCase {
  id: string;
  input: { to?: string; from?: string; From?: string };
  python: string;
  differences?: string[];
  expect?: { say?: string; number?: string; client?: string; callerId?: string };
  expected?: string;
  note?: string;
}

type FixtureConfig = {
  TWILIO_ACCOUNT_SID: string;
  TWILIO_ML_APP_SID: string;
  TWILIO_FROM: string;
  TWILIO_CALLER_IDS: string;
  TWILIO_CALL_TIME_LIMIT: string;
  DEFAULT_COUNTRY: 'US';
  ALLOWED_DIAL_COUNTRIES: string;
  EMERGENCY_NUMBERS: string;
};

type SettingsOnConfig = FixtureConfig & {
  PUBLIC_BASE_URL: string;
  DIAL_ACTION: 'true';
  DIAL_TIMEOUT: string;
  ANSWER_ON_BRIDGE: 'true';
  CALL_STATUS_CALLBACK: 'true';
  SUPPORT_NUMBER: string;
};

const fixture = JSON.parse(readFileSync('test/fixtures/conformance/make_call.json', 'utf8')) as {
  config: FixtureConfig;
  /** Settings the generator leaves at the code's defaults (not in `config`), with the values its rules assume. */
  defaults: { BLOCKED_NUMBER_TYPES: string };
  /** Twilio's From for one of our app users: `prefix` + user id. */
  callers: { prefix: string };
  messages: Record<'greeting' | 'emergency' | 'invalid' | 'blocked' | 'unauthorised', string>;
  rules: Record<string, string>;
  cases: ConformanceCase[];
  settingsOn: {
    config: SettingsOnConfig;
    /** `{leg}` in `action` is `number` or `client`. */
    dialAttributes: { action: string; method: string; timeout: string; answerOnBridge: string };
    nounAttributes: { statusCallback: string; statusCallbackEvent: string; statusCallbackMethod: string };
    /** The order in which we write a <Dial>'s attributes. */
    attributeOrder: string[];
    cases: ConformanceCase[];
  };
};

const AUTH_TOKEN = 'conformance-auth-token-52f0c1d9';
const env: FixtureConfig & { TWILIO_AUTH_TOKEN: string } = { ...fixture.config, TWILIO_AUTH_TOKEN: AUTH_TOKEN };
const on = fixture.settingsOn;
const SETTINGS = ['DIAL_ACTION', 'DIAL_TIMEOUT', 'ANSWER_ON_BRIDGE', 'CALL_STATUS_CALLBACK', 'SUPPORT_NUMBER'] as const;

/** A configuration the corpus runs in: its environment, the URL Twilio signs, and how its TwiML must look. */
interface Run {
  env: Env;
  /** PUBLIC_BASE_URL + the route: the URL Twilio signs when PUBLIC_BASE_URL is set. */
  signBase?: string;
  /** The TwiML summarised, once it is checked to be one the configuration allows (throws otherwise). */
  summary: (xml: string) => TwimlSummary;
}

const settingsUnset: Run = { env, summary: twimlSummary };
/** Off, said explicitly: DIAL_TIMEOUT and PUBLIC_BASE_URL set too, SUPPORT_NUMBER empty. None may change the TwiML. */
const settingsExplicitlyOff: Run = {
  env: {
    ...env,
    DIAL_ACTION: 'false',
    DIAL_TIMEOUT: '45',
    ANSWER_ON_BRIDGE: 'false',
    CALL_STATUS_CALLBACK: 'false',
    SUPPORT_NUMBER: '',
    PUBLIC_BASE_URL: on.config.PUBLIC_BASE_URL,
  },
  signBase: `${on.config.PUBLIC_BASE_URL}${ROUTE_PATH}`,
  summary: twimlSummary,
};
const settingsOn: Run = {
  env: { ...on.config, TWILIO_AUTH_TOKEN: AUTH_TOKEN },
  signBase: `${on.config.PUBLIC_BASE_URL}${ROUTE_PATH}`,
  summary: settingsOnSummary,
};
const ownedNumbers = [env.TWILIO_FROM, ...env.TWILIO_CALLER_IDS.split(',')];
const allowedCountries = env.ALLOWED_DIAL_COUNTRIES.split(',');
const emergencyNumbers = env.EMERGENCY_NUMBERS.split(',');
const blockedTypes = fixture.defaults.BLOCKED_NUMBER_TYPES.split(',');
/** The caller rule, written again: `client:<TWILIO_ML_APP_SID>_uid` + 1 to 64 of [A-Za-z0-9_]. */
const OUR_CALLER = new RegExp(`^client:${/^AP[0-9a-f]{32}$/.exec(env.TWILIO_ML_APP_SID)?.[0]}_uid[A-Za-z0-9_]{1,64}$`);
const isOurCaller = (from: string | undefined) => from !== undefined && OUR_CALLER.test(from);

async function ours(input: ConformanceCase['input'], encoding: 'form' | 'json', run: Run) {
  const { handler, alerts } = callHandler(run.env);
  // As Twilio sends them for a call through our TwiML app; Twilio's From is the case's own, or none.
  const params = {
    AccountSid: run.env.TWILIO_ACCOUNT_SID,
    ApplicationSid: run.env.TWILIO_ML_APP_SID,
    From: undefined,
    ...input,
  };
  const signBase = run.signBase ? { signBase: run.signBase } : {};
  const response = await handler(callEvent({ params, encoding, token: AUTH_TOKEN, ...signBase }));
  return { body: twimlBody(response), alerts };
}

/**
 * dial-attributes-when-enabled: a <Dial> carries exactly the settings' attributes (its
 * action naming the leg), its noun the status callback's; the rest is summarised as with
 * the settings off. A <Say> carries nothing.
 */
function settingsOnSummary(xml: string): TwimlSummary {
  const dial = parseXml(xml).root.children[0];
  if (dial?.name !== 'Dial') return twimlSummary(xml);
  const noun = dial.children[0];
  const leg = noun?.name === 'Number' ? 'number' : 'client';
  const dialAttributes = { ...on.dialAttributes, action: on.dialAttributes.action.replace('{leg}', leg) };
  const only = (attributes: Record<string, string>, names: string[]) =>
    Object.fromEntries(Object.entries(attributes).filter(([name]) => names.includes(name)));
  expect(only(dial.attributes, Object.keys(dialAttributes)), 'dial-attributes-when-enabled').toEqual(dialAttributes);
  expect(only(noun?.attributes ?? {}, Object.keys(on.nounAttributes)), 'dial-attributes-when-enabled').toEqual(
    on.nounAttributes,
  );
  // Without them, the document is one the settings-off summary accepts (nothing else added).
  let rest = xml;
  for (const [name, value] of [...Object.entries(dialAttributes), ...Object.entries(on.nounAttributes)]) {
    expect(value).not.toMatch(/[&<>"]/);
    const attribute = ` ${name}="${value}"`;
    expect(rest.split(attribute).length - 1, attribute).toBe(1);
    rest = rest.replace(attribute, '');
  }
  return twimlSummary(rest);
}

/** The Python output's TwiML, read leniently when it is not XML at all (see xml-invalid-character). */
function pythonSummary(python: string, run: Run): TwimlSummary | undefined {
  try {
    parseXml(python);
  } catch {
    return undefined;
  }
  return run.summary(python);
}

/** Rule by rule, what our output must show for this case, beyond being byte-identical to `expected`. */
function checkRule(rule: string, c: ConformanceCase, body: string, alerts: SentAlert[], run: Run) {
  const got = run.summary(body);
  const python = pythonSummary(c.python, run);
  const to = c.input.to ?? '';
  const message = (key: keyof typeof fixture.messages) =>
    expect(got, rule).toEqual({ verb: 'Say', text: fixture.messages[key] });
  switch (rule) {
    case 'normalised-e164': {
      if (got.verb !== 'Dial' || !('number' in got)) throw new Error(`${c.id}: no <Number>`);
      expect(got.number).toMatch(/^\+[1-9]\d{6,14}$/);
      expect(got.number).toBe(c.expect?.number);
      // The same number: an independent parse of the original's text gives the same E.164.
      expect(parsePhoneNumberWithError(to.trim(), env.DEFAULT_COUNTRY).number).toBe(got.number);
      expect(python && 'number' in python ? python.number : undefined).not.toBe(got.number);
      break;
    }
    case 'to-trimmed':
      if (got.verb !== 'Dial') throw new Error(`${c.id}: not dialed`);
      expect('client' in got ? got.client : got.number).toBe(to.trim());
      expect(to.trim()).not.toBe(to);
      break;
    case 'empty-after-trim':
      expect(to.trim()).toBe('');
      expect(to).not.toBe('');
      message('greeting');
      break;
    case 'client-prefix-removed':
      if (got.verb !== 'Dial' || !('client' in got)) throw new Error(`${c.id}: no <Client>`);
      expect(python && 'client' in python ? python.client : undefined).toBe(`client:${got.client}`);
      break;
    case 'invalid-destination':
      message('invalid');
      expect(alerts).toEqual([]);
      break;
    case 'destination-blocked': {
      message('blocked');
      expect(alerts).toHaveLength(1);
      const number = parsePhoneNumberWithError(to.trim(), env.DEFAULT_COUNTRY);
      const type = number.getType();
      expect(number.isValid()).toBe(true);
      expect(!allowedCountries.includes(number.country ?? '') || blockedTypes.includes(type ?? '')).toBe(true);
      break;
    }
    case 'emergency':
      message('emergency');
      expect(alerts).toHaveLength(1);
      expect(emergencyNumbers).toContain(to.replace(/\D/g, ''));
      break;
    case 'caller-id-replaced': {
      if (got.verb !== 'Dial') throw new Error(`${c.id}: not dialed`);
      expect(got.callerId).toBe(c.expect?.callerId);
      expect(got.callerId).not.toBe(python?.verb === 'Dial' ? python.callerId : undefined);
      if ('number' in got) {
        // Phone leg: only numbers the account owns (Twilio error 13214 for client: IDs).
        expect(ownedNumbers).toContain(got.callerId);
      } else {
        // Client leg: the caller's own From (one of ours) or an owned number.
        expect(isOurCaller(c.input.From)).toBe(true);
        expect([c.input.From, ...ownedNumbers]).toContain(got.callerId);
      }
      break;
    }
    case 'caller-id-normalised':
      if (got.verb !== 'Dial') throw new Error(`${c.id}: not dialed`);
      expect(ownedNumbers).toContain(got.callerId);
      expect(parsePhoneNumberWithError(c.input.from ?? '', env.DEFAULT_COUNTRY).number).toBe(got.callerId);
      break;
    case 'caller-not-ours': {
      // Twilio's From is missing or not an identity we issue; `from` does not stand in, `to` is not looked at.
      expect(isOurCaller(c.input.From)).toBe(false);
      expect(c.differences).toEqual(['caller-not-ours']);
      message('unauthorised');
      expect(alerts).toHaveLength(1);
      expect(alerts[0]?.alert.errorMsg).toMatch(/caller/i);
      break;
    }
    case 'support-line':
      if (got.verb !== 'Dial' || !('number' in got)) throw new Error(`${c.id}: no <Number>`);
      expect(run.env.SUPPORT_NUMBER).toMatch(/^\+[1-9]\d{6,14}$/);
      expect(got.number).toBe(run.env.SUPPORT_NUMBER);
      expect(got.callerId).toBe(env.TWILIO_FROM);
      expect(to.trim().toLowerCase()).toBe('support');
      // The original dialed an app user by that name (as we do without SUPPORT_NUMBER).
      expect(python && 'client' in python ? python.client : undefined).toBe(to);
      break;
    default:
      throw new Error(`${c.id}: unknown rule ${rule}`);
  }
}

async function checkCase(c: ConformanceCase, run: Run) {
  for (const encoding of ['form', 'json'] as const) {
    const { body, alerts } = await ours(c.input, encoding, run);
    run.summary(body);
    if (!c.differences) {
      expect(body, encoding).toBe(c.python);
      expect(alerts, encoding).toEqual([]);
      continue;
    }
    if (c.expected !== undefined) expect(body, encoding).toBe(c.expected);
    expect(body, encoding).not.toBe(c.python);
    for (const rule of c.differences) checkRule(rule, c, body, alerts, run);
  }
}

const label = (c: ConformanceCase) =>
  c.differences ? `${c.id}: differs by ${c.differences.join(' + ')}` : `${c.id}: identical`;

describe('conformance with the original make_call (Python fixtures)', () => {
  it('the fixture has the corpus issue 3 asks for', () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(40);
    const ids = fixture.cases.map((c) => c.id);
    expect(ids).toEqual(expect.arrayContaining(['seed-example-number', 'seed-example-client']));
    const identical = fixture.cases.filter((c) => !c.differences);
    expect(identical.length).toBeGreaterThanOrEqual(10);
    // Every declared rule is one the test checks, and every case with values has its Python rendering.
    for (const c of fixture.cases) {
      for (const rule of c.differences ?? []) expect(Object.keys(fixture.rules)).toContain(rule);
      if (c.expect) expect(c.expected, c.id).toBeDefined();
    }
  });

  it('the callers are ours: a case declares caller-not-ours exactly when its Twilio From is not one of ours', () => {
    // The same account and app as the signed events and the harness; the prefix is the one the tokens use.
    expect(fixture.config.TWILIO_ACCOUNT_SID).toBe(ACCOUNT_SID);
    expect(fixture.config.TWILIO_ML_APP_SID).toBe(APP_SID);
    expect(fixture.callers.prefix).toBe(`client:${APP_SID}_uid`);
    expect(fixture.messages.unauthorised).toBe('This call could not be authorised. Good bye.');
    for (const c of [...fixture.cases, ...on.cases]) {
      expect(c.differences?.includes('caller-not-ours') ?? false, c.id).toBe(!isOurCaller(c.input.From));
    }
    const notOurs = fixture.cases.filter((c) => !isOurCaller(c.input.From)).map((c) => c.input);
    // The kinds the issue names: missing, empty, a phone number, another naming, another app, an empty user id,
    // and a `from` naming a user of ours with From missing.
    expect(notOurs).toEqual(
      expect.arrayContaining([
        expect.not.objectContaining({ From: expect.anything() }),
        expect.objectContaining({ From: '' }),
        expect.objectContaining({ From: '+14155550101' }),
        expect.objectContaining({ From: 'client:driver_123' }),
        expect.objectContaining({ From: expect.stringMatching(/^client:AP[0-9a-f]{32}_uid42$/) }),
        expect.objectContaining({ From: fixture.callers.prefix }),
        expect.objectContaining({ from: `${fixture.callers.prefix}123` }),
      ]),
    );
    expect(
      notOurs.find((input) => /^client:AP/.test(input.From ?? '') && !input.From?.includes(APP_SID)),
    ).toBeDefined();
    expect(notOurs.find((input) => input.From === undefined && isOurCaller(input.from))).toBeDefined();
  });

  it("the code's defaults: BLOCKED_NUMBER_TYPES and CALL_LIMITS_TABLE are not set", () => {
    for (const run of [settingsUnset, settingsExplicitlyOff, settingsOn]) {
      expect(run.env).not.toHaveProperty('BLOCKED_NUMBER_TYPES');
      expect(run.env).not.toHaveProperty('CALL_LIMITS_TABLE');
    }
    expect(blockedTypes).toEqual(['PREMIUM_RATE', 'SHARED_COST', 'PERSONAL_NUMBER', 'PAGER', 'UAN', 'VOICEMAIL']);
  });

  it('the settings are off in the corpus configuration, on in settingsOn, and SUPPORT_NUMBER is dialable', () => {
    for (const name of SETTINGS) expect(fixture.config, name).not.toHaveProperty(name);
    expect(on.config).toMatchObject({ ...fixture.config, DIAL_ACTION: 'true', ANSWER_ON_BRIDGE: 'true' });
    expect(on.config.CALL_STATUS_CALLBACK).toBe('true');
    expect(on.dialAttributes.timeout).toBe(on.config.DIAL_TIMEOUT);
    expect(on.dialAttributes.action).toBe(`${on.config.PUBLIC_BASE_URL}/api/v1/dial_status?leg={leg}`);
    expect(on.nounAttributes.statusCallback).toBe(`${on.config.PUBLIC_BASE_URL}/api/v1/call_status`);
    const support = parsePhoneNumberWithError(on.config.SUPPORT_NUMBER);
    expect(support.isValid()).toBe(true);
    expect(support.number).toBe(on.config.SUPPORT_NUMBER);
    expect(['PREMIUM_RATE', 'SHARED_COST']).not.toContain(support.getType());
  });

  for (const c of fixture.cases) {
    describe(label(c), () => {
      it('settings unset', () => checkCase(c, settingsUnset));
      it('settings explicitly off', () => checkCase(c, settingsExplicitlyOff));
    });
  }
});

describe('conformance with the original make_call, settings on (Python fixtures, settingsOn)', () => {
  it('settingsOn has every input the original dialed, the support line, and declared rules only', () => {
    const dialed = fixture.cases.filter((c) => c.input.to);
    expect(on.cases.map((c) => [c.id, c.input])).toEqual(dialed.map((c) => [c.id, c.input]));
    for (const c of on.cases) {
      for (const rule of c.differences ?? []) expect(Object.keys(fixture.rules)).toContain(rule);
      if (c.expect) expect(c.expected, c.id).toBeDefined();
      // The Python side obeys dial-attributes-when-enabled too (where it is XML at all).
      expect(() => pythonSummary(c.python, settingsOn), c.id).not.toThrow();
      // Where no rule differs there is nothing but `python`: our bytes must be the helper's (checkCase).
      if (!c.differences?.length) expect(c.expected, c.id).toBeUndefined();
    }
    const support = on.cases.filter((c) => c.differences?.includes('support-line'));
    expect(support.map((c) => c.input.to)).toEqual(expect.arrayContaining(['support', ' Support ', 'SUPPORT']));
    // Without SUPPORT_NUMBER, the same inputs are app users (as in the original).
    for (const c of support) {
      const off = fixture.cases.find((o) => o.id === c.id);
      const summary = twimlSummary(off?.expected ?? off?.python ?? '');
      expect('client' in summary ? summary.client : undefined, c.id).toBe(c.input.to?.trim());
    }
  });

  for (const c of on.cases) it(label(c), () => checkCase(c, settingsOn));
});
