/**
 * Conformance with the original make_call (issue 3, "Conformance with the original").
 * test/conformance/generate_call_fixtures.py ran the seed's logic with twilio's Python
 * helper over a corpus and wrote test/fixtures/conformance/make_call.json. Each input is
 * sent here through our handler, signed, as a form post and as JSON:
 * - no declared difference → our TwiML is byte-identical to the Python output;
 * - declared differences → our TwiML is byte-identical to `expected` (the Python helper's
 *   rendering with the values the rules call for) and obeys each named rule, checked
 *   specifically below.
 */
import { readFileSync } from 'node:fs';
import { parsePhoneNumberWithError } from 'libphonenumber-js/max';
import { describe, expect, it } from 'vitest';
import { callEvent, callHandler, type SentAlert, twimlBody } from './harness.js';
import { parseXml, type TwimlSummary, twimlSummary, type XmlElement } from './xml.js';

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
  TWILIO_FROM: string;
  TWILIO_CALLER_IDS: string;
  TWILIO_CALL_TIME_LIMIT: string;
  DEFAULT_COUNTRY: 'US';
  ALLOWED_DIAL_COUNTRIES: string;
  EMERGENCY_NUMBERS: string;
};

const fixture = JSON.parse(readFileSync('test/fixtures/conformance/make_call.json', 'utf8')) as {
  config: FixtureConfig;
  messages: Record<'greeting' | 'emergency' | 'invalid' | 'blocked', string>;
  rules: Record<string, string>;
  cases: ConformanceCase[];
};

const AUTH_TOKEN = 'conformance-auth-token-52f0c1d9';
const env: FixtureConfig & { TWILIO_AUTH_TOKEN: string } = { ...fixture.config, TWILIO_AUTH_TOKEN: AUTH_TOKEN };
const ownedNumbers = [env.TWILIO_FROM, ...env.TWILIO_CALLER_IDS.split(',')];
const allowedCountries = env.ALLOWED_DIAL_COUNTRIES.split(',');
const emergencyNumbers = env.EMERGENCY_NUMBERS.split(',');
/** A character outside XML 1.0's Char production. */
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

async function ours(input: ConformanceCase['input'], encoding: 'form' | 'json') {
  const { handler, alerts } = callHandler(env);
  const params = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));
  const response = await handler(callEvent({ params, encoding, token: AUTH_TOKEN }));
  return { body: twimlBody(response), alerts };
}

/** The Python output's TwiML, read leniently (it may not be XML at all: see xml-invalid-character). */
function pythonSummary(python: string): TwimlSummary | undefined {
  try {
    return twimlSummary(python);
  } catch {
    return undefined;
  }
}

function stripped(element: XmlElement): unknown {
  return {
    name: element.name,
    attributes: element.attributes,
    text: element.text,
    children: element.children.map(stripped),
  };
}

/** Rule by rule, what our output must show for this case, beyond being byte-identical to `expected`. */
function checkRule(rule: string, c: ConformanceCase, body: string, alerts: SentAlert[]) {
  const got = twimlSummary(body);
  const python = pythonSummary(c.python);
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
      expect(
        !allowedCountries.includes(number.country ?? '') || type === 'PREMIUM_RATE' || type === 'SHARED_COST',
      ).toBe(true);
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
        // Client leg: the caller's own From, an owned number, or (no From) TWILIO_FROM.
        const allowed = c.input.From ? [c.input.From, ...ownedNumbers] : [c.input.from || env.TWILIO_FROM];
        expect(allowed).toContain(got.callerId);
      }
      break;
    }
    case 'caller-id-normalised':
      if (got.verb !== 'Dial') throw new Error(`${c.id}: not dialed`);
      expect(ownedNumbers).toContain(got.callerId);
      expect(parsePhoneNumberWithError(c.input.from ?? '', env.DEFAULT_COUNTRY).number).toBe(got.callerId);
      break;
    case 'xml-invalid-character': {
      // The caller ID would come from `from` or `From`, and one of them has a character XML 1.0 forbids.
      const offending = [c.input.from, c.input.From].filter((value) => value !== undefined && NOT_XML.test(value));
      expect(offending.length).toBeGreaterThan(0);
      // Where the original copied it into the TwiML, its output was not XML at all.
      if (NOT_XML.test(c.python)) expect(() => parseXml(c.python)).toThrow();
      message('invalid');
      break;
    }
    case 'serialisation-only':
      // The same XML document; the bytes differ only in how each library escapes.
      expect(body).not.toBe(c.python);
      expect(stripped(parseXml(body).root)).toEqual(stripped(parseXml(c.python).root));
      break;
    default:
      throw new Error(`${c.id}: unknown rule ${rule}`);
  }
}

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

  for (const c of fixture.cases) {
    const label = c.differences ? `${c.id}: differs by ${c.differences.join(' + ')}` : `${c.id}: identical`;
    it(label, async () => {
      for (const encoding of ['form', 'json'] as const) {
        const { body, alerts } = await ours(c.input, encoding);
        if (!c.differences) {
          expect(body, encoding).toBe(c.python);
          expect(alerts, encoding).toEqual([]);
          continue;
        }
        if (c.expected !== undefined) expect(body, encoding).toBe(c.expected);
        expect(body, encoding).not.toBe(c.python);
        for (const rule of c.differences) checkRule(rule, c, body, alerts);
      }
    });
  }
});
