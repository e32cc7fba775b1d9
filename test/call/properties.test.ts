/**
 * Property tests for make_call (issue 3, "Robustness"): arbitrary unicode `to`, `from`
 * and `From` — XML metacharacters, control characters, lone surrogates, strings up to
 * 10 KB — as signed form or JSON posts, plain or base64, through the handler. Every
 * request within the body limit gets 200 and TwiML that a strict XML parser accepts,
 * with one verb under `<Response>`; a `<Dial>` holds one `<Number>` that
 * libphonenumber-js/max (called here, independently) finds valid, E.164, in an allowed
 * country, not premium/shared-cost and not an emergency number, or one `<Client>` with a
 * valid identity; every value taken from the input comes back out of the XML exactly
 * (escaped, never interpreted); the handler never fails.
 *
 * The expected routing is derived from issue 3's rules, in this file.
 */

import fc from 'fast-check';
import { parsePhoneNumberWithError } from 'libphonenumber-js/max';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../lib/webhookBody.js';
import type { LogEntry } from '../support/recordingLog.js';
import {
  APP_SID,
  AUTH_TOKEN,
  CALLER_IDS,
  callEvent,
  callHandler,
  POLICY_ENV,
  SAY,
  TWILIO_FROM,
  XML_DECLARATION,
} from './harness.js';
import { type TwimlSummary, twimlSummary } from './xml.js';

const PHONE = /^[\d+\-() ]+$/;
const IDENTITY = /^[A-Za-z0-9_]{1,121}$/;
const E164 = /^\+[1-9]\d{1,14}$/;
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const OWNED = [TWILIO_FROM, ...CALLER_IDS];
const ALLOWED = ['US', 'CA'];
const EMERGENCY = ['911', '112', '999', '000', '110', '119', '118', '933'];
// Issue 9's default BLOCKED_NUMBER_TYPES.
const BLOCKED_TYPES = ['PREMIUM_RATE', 'SHARED_COST', 'PERSONAL_NUMBER', 'PAGER', 'UAN', 'VOICEMAIL'];
/** Twilio's From for a caller this service issued a token to (issue 9). */
const OURS = new RegExp(`^client:${APP_SID}_uid[A-Za-z0-9_]{1,64}$`);

interface Input {
  to?: string | undefined;
  from?: string | undefined;
  From?: string | undefined;
}

// ---- the expected routing, from issue 3's rules ----

function parse(text: string) {
  try {
    return parsePhoneNumberWithError(text, 'US');
  } catch {
    return undefined;
  }
}

/** The owned number `from` names, in E.164 (spec: "normalised to E.164, equals TWILIO_FROM or one of TWILIO_CALLER_IDS"). */
function ownedNumber(from: string | undefined): string | undefined {
  if (from === undefined || !PHONE.test(from.trim())) return undefined;
  const number = parse(from.trim())?.number;
  return number && OWNED.includes(number) ? number : undefined;
}

type Expected = { say: string } | { number: string; callerId: string } | { client: string; callerId: string };

function expected(input: Input): Expected {
  if (!OURS.test(input.From ?? '')) return { say: SAY.unauthorised };
  const to = (input.to ?? '').trim();
  if (to === '') return { say: SAY.greeting };
  if (PHONE.test(to)) {
    if (EMERGENCY.includes(to.replace(/\D/g, ''))) return { say: SAY.emergency };
    const number = parse(to);
    if (!number?.isValid()) return { say: SAY.invalid };
    const type = number.getType();
    if (!ALLOWED.includes(number.country ?? '') || (type && BLOCKED_TYPES.includes(type))) return { say: SAY.blocked };
    return { number: number.number, callerId: ownedNumber(input.from) ?? TWILIO_FROM };
  }
  const identity = to.startsWith('client:') ? to.slice('client:'.length) : to;
  if (!IDENTITY.test(identity)) return { say: SAY.invalid };
  const callerId = ownedNumber(input.from) ?? (input.From as string);
  if (NOT_XML.test(callerId)) return { say: SAY.invalid };
  return { client: identity, callerId };
}

// ---- invariants that hold whatever the routing ----

function checkInvariants(twiml: TwimlSummary) {
  if (twiml.verb === 'Say') {
    expect(Object.values(SAY)).toContain(twiml.text);
    return;
  }
  expect(twiml.timeLimit).toBe('3600');
  expect(twiml.callerId).toBeDefined();
  if ('number' in twiml) {
    expect(twiml.number).toMatch(E164);
    const number = parsePhoneNumberWithError(twiml.number);
    expect(number.number).toBe(twiml.number);
    expect(number.isValid()).toBe(true);
    expect(ALLOWED).toContain(number.country);
    expect(BLOCKED_TYPES).not.toContain(number.getType());
    expect(EMERGENCY).not.toContain(twiml.number.replace(/\D/g, ''));
    // Phone leg: only numbers the account owns.
    expect(OWNED).toContain(twiml.callerId);
  } else {
    expect(twiml.client).toMatch(IDENTITY);
  }
}

// ---- the requests ----

/** The body without the XML declaration and TwiML's tags, keeping attribute values (still escaped). */
function unmarked(body: string): string {
  return body
    .replace(XML_DECLARATION, '')
    .replace(/<\/?(?:Response|Say|Dial|Number|Client)((?: [A-Za-z]+="[^"]*")*)>/g, (_, attributes: string) =>
      attributes.replace(/ [A-Za-z]+="([^"]*)"/g, '$1'),
    );
}

const stats = { requests: 0, twiml: 0, tooLarge: 0, dialNumber: 0, dialClient: 0, say: 0, ms: 0 };
const failures: LogEntry[] = [];
const { handler, log } = callHandler(POLICY_ENV);

/** What a form post can carry: URLSearchParams sends lone surrogates as U+FFFD. */
const wellFormed = (value: string | undefined) => value?.replace(/\p{Cs}/gu, '\uFFFD');
const asSent = (input: Input, encoding: 'form' | 'json'): Input =>
  encoding === 'json'
    ? input
    : { to: wellFormed(input.to), from: wellFormed(input.from), From: wellFormed(input.From) };

async function check(input: Input, encoding: 'form' | 'json', base64: boolean) {
  // Exactly the input: no From of the harness's own when the input has none.
  const params: Record<string, string | undefined> = { From: undefined };
  for (const [name, value] of Object.entries(input)) if (value !== undefined) params[name] = value;
  const event = callEvent({ params, encoding, base64 });
  const decodedBytes = event.isBase64Encoded
    ? Buffer.from(event.body ?? '', 'base64').length
    : Buffer.byteLength(event.body ?? '');
  const started = performance.now();
  const response = await handler(event);
  stats.ms += performance.now() - started;
  stats.requests++;
  if (decodedBytes > MAX_BODY_BYTES) {
    stats.tooLarge++;
    expect(response.statusCode).toBe(413);
    return;
  }
  expect(response.statusCode, response.body).toBe(200);
  expect(response.headers?.['content-type']).toBe('text/xml');
  const twiml = twimlSummary(response.body);
  stats.twiml++;
  checkInvariants(twiml);
  // Every value that came from the request comes back out of the parsed XML exactly.
  const want = expected(asSent(input, encoding));
  if ('say' in want) {
    stats.say++;
    expect(twiml).toEqual({ verb: 'Say', text: want.say });
  } else if ('number' in want) {
    stats.dialNumber++;
    expect(twiml).toEqual({ verb: 'Dial', callerId: want.callerId, timeLimit: '3600', number: want.number });
  } else {
    stats.dialClient++;
    expect(twiml).toEqual({ verb: 'Dial', callerId: want.callerId, timeLimit: '3600', client: want.client });
  }
  // Take away TwiML's own markup: what is left is text and attribute values, all escaped.
  const rest = unmarked(response.body);
  expect(rest).not.toContain('<');
  expect(rest).not.toMatch(/&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9A-Fa-f]+);)/);
  if (log.entries.length > 0) {
    expect(JSON.stringify(log.entries)).not.toContain(AUTH_TOKEN);
    failures.push(...log.entries.filter((entry) => entry.level === 'error' || entry.message === 'make_call failed'));
    log.entries.length = 0;
  }
}

// ---- the generators ----

const XML_PIECES = [
  '<',
  '>',
  '&',
  '"',
  "'",
  '&amp;',
  '&lt;',
  '&#1;',
  '&#x0;',
  ']]>',
  '<![CDATA[',
  '<!--',
  '-->',
  '<?xml',
  '?>',
  '</Client>',
  '<Number>',
  '</Dial>',
  '"/>',
  '<Say>',
  '\\',
  'client:',
  '\u0000',
  '\u0001',
  '\u0008',
  '\u000b',
  '\u000c',
  '\u001f',
  '\u007f',
  '\u0085',
  '\u2028',
  '\ufeff',
  '\ufffe',
  '\uffff',
  '\ud800',
  '\udfff',
  '\r',
  '\n',
  '\t',
  ' ',
  '\u00a0',
  '+',
  '(',
  ')',
  '-',
  '1',
  '9',
  'é',
  '📞',
  '\u0661',
];
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));
const control = fc.integer({ min: 0, max: 0x1f }).map((code) => String.fromCharCode(code));
const phoneChars = fc.constantFrom(...'0123456789+-() ');
const identityChars = fc.constantFrom(...'abcxyzABCXYZ0123456789_');
const knownNumbers = fc.constantFrom(
  '+14155552671',
  '+1 (415) 555-2671',
  '(212) 736-5000',
  '1-415-555-2671',
  '+15062345678',
  '+18005550199',
  '+18765230123',
  '+1 809 234 5678',
  '242-359-1234',
  '+19002345678',
  '1-900-234-5678',
  '+33 810 12 34 56',
  '+44 20 7183 8750',
  '+15551234567',
  '911',
  '(911)',
  '9-1-1',
  '112',
  '000',
  '+14155550100',
  '+14155550101',
  '+1 (212) 555-0199',
  '212-555-0199',
  '+800 1234 5678',
  '+882 1234 5678',
);

const text = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 3, arbitrary: fc.string({ unit: fc.constantFrom(...XML_PIECES), maxLength: 12 }) },
  {
    weight: 1,
    arbitrary: fc.string({ unit: fc.oneof(loneSurrogate, control, fc.constantFrom('a', '1', '+')), maxLength: 8 }),
  },
);
const phoneish = fc.oneof(
  fc.string({ unit: phoneChars, maxLength: 20 }),
  knownNumbers,
  fc
    .tuple(fc.constantFrom('', ' ', '\t', '\u00a0', '\n'), knownNumbers, fc.constantFrom('', ' ', '\n', '\u2003'))
    .map(([before, number, after]) => `${before}${number}${after}`),
);
const identity = fc
  .tuple(
    fc.constantFrom('', 'client:', 'client:client:', 'CLIENT:'),
    fc.string({ unit: identityChars, maxLength: 125 }),
  )
  .map(([prefix, name]) => prefix + name);
const anyValue = fc.oneof(
  { weight: 3, arbitrary: text },
  { weight: 2, arbitrary: phoneish },
  { weight: 2, arbitrary: identity },
  {
    weight: 1,
    arbitrary: fc.array(fc.oneof(text, phoneish, identity), { maxLength: 4 }).map((parts) => parts.join('')),
  },
);
const fromValue = fc.oneof(anyValue, fc.constantFrom(...OWNED, '+1 (212) 555-0199', 'client:driver_123', ''));
const userId = fc.string({ unit: fc.constantFrom(...'abcXYZ0123456789_'), minLength: 1, maxLength: 64 });
const twilioFrom = fc.oneof(
  { weight: 6, arbitrary: userId.map((id) => `client:${APP_SID}_uid${id}`) },
  { weight: 3, arbitrary: identity.map((name) => `client:${name}`) },
  { weight: 2, arbitrary: anyValue },
  { weight: 1, arbitrary: fc.constantFrom(...OWNED) },
);
const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined, freq: 5 });
const input = fc.record({ to: optional(anyValue), from: optional(fromValue), From: optional(twilioFrom) });
/** `from` equal to `From` happens in every real SDK call: generate it on purpose. */
const sameCaller = fc.record({ to: anyValue, From: twilioFrom }).map((value) => ({ ...value, from: value.From }));
const encoding = fc.constantFrom('form' as const, 'json' as const);

const RUNS = { mixed: 7000, phone: 2500, sameCaller: 1000, long: 300, injection: 1000 };

describe('make_call properties (fast-check)', () => {
  afterAll(() => {
    console.info(`make_call properties: ${JSON.stringify({ ...stats, ms: Math.round(stats.ms) })}`);
  });

  it(`arbitrary to/from/From, form or JSON, plain or base64 → 200 well-formed TwiML as the rules say (${RUNS.mixed} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(input, encoding, fc.boolean(), (value, kind, base64) => check(value, kind, base64)),
      { numRuns: RUNS.mixed },
    );
  });

  it(`phone-shaped destinations, any caller IDs (${RUNS.phone} runs)`, async () => {
    const phoneInput = fc.record({ to: phoneish, from: optional(fromValue), From: optional(twilioFrom) });
    await fc.assert(
      fc.asyncProperty(phoneInput, encoding, fc.boolean(), (value, kind, base64) => check(value, kind, base64)),
      { numRuns: RUNS.phone },
    );
  });

  it(`from equal to From (${RUNS.sameCaller} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(sameCaller, encoding, fc.boolean(), (value, kind, base64) => check(value, kind, base64)),
      { numRuns: RUNS.sameCaller },
    );
  });

  it(`strings up to 10 KB: 200 within the body limit, 413 beyond it (${RUNS.long} runs)`, async () => {
    const long = fc.oneof(
      fc.string({ unit: 'binary', minLength: 1000, maxLength: 10_000 }),
      fc.string({ unit: fc.constantFrom(...XML_PIECES), minLength: 500, maxLength: 3000 }),
      fc.string({ unit: identityChars, minLength: 1000, maxLength: 10_000 }),
      fc.string({ unit: phoneChars, minLength: 1000, maxLength: 10_000 }),
    );
    const longInput = fc.record({
      to: fc.oneof(long, anyValue),
      from: optional(long),
      From: optional(fc.oneof(long, twilioFrom)),
    });
    await fc.assert(
      fc.asyncProperty(longInput, encoding, fc.boolean(), (value, kind, base64) => check(value, kind, base64)),
      { numRuns: RUNS.long },
    );
  });

  it(`markup injected into every field never comes out as markup (${RUNS.injection} runs)`, async () => {
    const payload = fc
      .tuple(
        fc.constantFrom('', 'passenger_456', '+14155552671', 'client:driver_123'),
        fc.constantFrom(
          '"/><Number>+19002345678</Number><Dial callerId="',
          '</Client><Number>+18765230123</Number><Client>',
          '<Say>hi</Say>',
          ']]><x/>',
          '&lt;<Hangup/>',
        ),
        fc.string({ unit: fc.constantFrom(...XML_PIECES), maxLength: 4 }),
      )
      .map(([prefix, markup, tail]) => prefix + markup + tail);
    const injected = fc.record({
      to: fc.oneof(payload, fc.constantFrom('passenger_456', 'client:bob', '+14155552671')),
      from: optional(payload),
      From: optional(
        fc.oneof(
          payload,
          payload.map((value) => `client:${value}`),
        ),
      ),
    });
    await fc.assert(
      fc.asyncProperty(injected, encoding, fc.boolean(), (value, kind, base64) => check(value, kind, base64)),
      { numRuns: RUNS.injection },
    );
  });

  it('in total: at least 10,000 requests, every outcome seen, the handler never failed, no token logged', () => {
    expect(stats.requests).toBeGreaterThanOrEqual(10_000);
    expect(stats.twiml).toBeGreaterThanOrEqual(10_000);
    expect(stats.tooLarge).toBeGreaterThan(0);
    expect(stats.dialNumber).toBeGreaterThan(100);
    expect(stats.dialClient).toBeGreaterThan(100);
    expect(stats.say).toBeGreaterThan(100);
    expect(failures).toEqual([]);
  });
});
