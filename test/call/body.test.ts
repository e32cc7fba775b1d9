/**
 * The make_call body (issue 3, "Request"): form or JSON, plain or base64; decoded over
 * 16 KiB → 413, unsupported content type → 415, malformed → 400, as short plain text.
 */
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { describe, expect, it } from 'vitest';
import type { HttpResponse } from '../../lib/httpResponses.js';
import {
  ACCOUNT_SID,
  AUTH_TOKEN,
  CALL_SID,
  CALLER,
  type CallRequestOptions,
  callEvent,
  callHandler,
  formBody,
  ROUTE_URL,
  twimlBody,
} from './harness.js';
import { twimlSummary } from './xml.js';

const KIB16 = 16 * 1024;

async function send(options: CallRequestOptions) {
  const harness = callHandler();
  const response = await harness.handler(callEvent(options));
  return { response, ...harness };
}

function expectPlain(response: HttpResponse, status: number) {
  expect(response.statusCode).toBe(status);
  expect(response.headers?.['content-type']).toMatch(/^text\/plain/);
  // Short, one line, no markup and nothing of the request echoed.
  expect(response.body.length).toBeGreaterThan(0);
  expect(response.body.length).toBeLessThan(120);
  expect(response.body).not.toMatch(/[\n<]|at .*\.ts|Error:/);
}

/** A form body of exactly `bytes` bytes once decoded (padding goes into a parameter Twilio ignores). */
function formOfSize(bytes: number, params: Record<string, string>) {
  // The parameters callEvent sends besides these (Twilio's own).
  const twilio = { CallSid: 'CA0123456789abcdef0123456789abcdef', AccountSid: ACCOUNT_SID, From: CALLER };
  const base = formBody({ ...twilio, ...params, Pad: '' });
  const padded = { ...params, Pad: 'x'.repeat(bytes - base.length) };
  expect(Buffer.byteLength(formBody({ ...twilio, ...padded }))).toBe(bytes);
  return padded;
}

describe('make_call body', () => {
  it('a decoded body of exactly 16 KiB is accepted; one byte more → 413 (plain and base64)', async () => {
    const atLimit = formOfSize(KIB16, { to: '+14155552671' });
    for (const base64 of [true, false]) {
      const ok = await send({ params: atLimit, base64 });
      expect(twimlSummary(twimlBody(ok.response)).verb).toBe('Dial');
      const over = await send({ params: formOfSize(KIB16 + 1, { to: '+14155552671' }), base64 });
      expectPlain(over.response, 413);
    }
  });

  it('a JSON body over 16 KiB → 413; multi-byte characters count as bytes, not characters', async () => {
    // 6,000 × "€" is 6,000 characters but 18,000 bytes.
    expectPlain((await send({ encoding: 'json', params: { to: 'bob', Pad: '€'.repeat(6000) } })).response, 413);
    expectPlain(
      (await send({ encoding: 'json', base64: true, params: { to: 'bob', Pad: '€'.repeat(6000) } })).response,
      413,
    );
    expectPlain((await send({ rawBody: 'x'.repeat(1024 * 1024), signature: 'none' })).response, 413);
  });

  it('an oversized body is refused before anything is routed or alerted', async () => {
    const { response, alerts, log } = await send({ params: formOfSize(KIB16 + 100, { to: '+19002345678' }) });
    expectPlain(response, 413);
    expect(alerts).toEqual([]);
    expect(log.text()).not.toContain('19002345678');
  });

  it('an unsupported content type → 415', async () => {
    for (const contentType of ['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'text/xml']) {
      expectPlain((await send({ params: { to: 'bob' }, contentType })).response, 415);
    }
    // A body without a content type.
    expectPlain((await send({ params: { to: 'bob' }, headers: { 'content-type': '' } })).response, 415);
  });

  it('media types are matched without case and parameters', async () => {
    const upper = await send({
      params: { to: 'bob', From: CALLER },
      contentType: 'Application/X-WWW-Form-URLEncoded',
    });
    expect(twimlSummary(twimlBody(upper.response))).toMatchObject({ client: 'bob' });
    const json = await send({
      encoding: 'json',
      params: { to: 'bob', From: CALLER },
      contentType: 'application/json; charset=utf-8',
    });
    expect(twimlSummary(twimlBody(json.response))).toMatchObject({ client: 'bob' });
  });

  it('malformed base64 → 400', async () => {
    for (const body of ['!!!!', 'abc', 'YWJj=', 'YW Jj', 'YWJj\n']) {
      const event = { ...callEvent({ params: { to: 'bob' } }), body };
      expectPlain(await callHandler().handler(event), 400);
    }
  });

  it('base64 of bytes that are not UTF-8 → 400', async () => {
    const event = {
      ...callEvent({ params: { to: 'bob' } }),
      body: Buffer.from([0x74, 0x6f, 0x3d, 0xff, 0xfe]).toString('base64'),
    };
    expectPlain(await callHandler().handler(event), 400);
  });

  it('malformed JSON, or JSON that is not an object of strings → 400', async () => {
    for (const rawBody of [
      '{',
      '{"to": }',
      '[]',
      '["to"]',
      '"to"',
      '42',
      'null',
      '{"to": {"a": 1}}',
      '{"to": ["a"]}',
    ]) {
      expectPlain((await send({ encoding: 'json', rawBody })).response, 400);
    }
  });

  it('JSON numbers and booleans are read as text; null as absent', async () => {
    const ours = `"AccountSid": "${ACCOUNT_SID}", "From": "${CALLER}"`;
    const number = await send({ encoding: 'json', rawBody: `{${ours}, "to": 4155552671}` });
    expect(twimlSummary(twimlBody(number.response))).toMatchObject({ number: '+14155552671' });
    const greeting = await send({ encoding: 'json', rawBody: `{${ours}, "to": null}` });
    expect(twimlSummary(twimlBody(greeting.response))).toEqual({
      verb: 'Say',
      text: 'Congratulations! You have just made your first call! Good bye.',
    });
  });

  it('parameters named like Object’s own (constructor, toString, __proto__) are parameters: a signed call with them dials', async () => {
    const params = { constructor: 'x', toString: '1', hasOwnProperty: 'y', to: '+14155552671' };
    for (const encoding of ['form', 'json'] as const) {
      const { response } = await send({ encoding, params });
      expect(twimlSummary(twimlBody(response)), encoding).toMatchObject({ number: '+14155552671' });
    }
    // `__proto__` cannot be an object literal's key: signed over a form that sends it twice.
    const rawBody = `${formBody({ CallSid: CALL_SID, AccountSid: ACCOUNT_SID, From: CALLER, to: '+14155552671' })}&__proto__=a&__proto__=b`;
    const signed = JSON.parse('{"__proto__": ["a", "b"]}') as Record<string, string[]>;
    const signature = getExpectedTwilioSignature(AUTH_TOKEN, ROUTE_URL, {
      ...signed,
      CallSid: CALL_SID,
      AccountSid: ACCOUNT_SID,
      From: CALLER,
      to: '+14155552671',
    } as Record<string, string>);
    const { response } = await send({ rawBody, signature });
    expect(twimlSummary(twimlBody(response))).toMatchObject({ number: '+14155552671' });
  });

  it('an empty body without a content type is an empty form: signed over no parameters, it names no account → 403', async () => {
    const signature = getExpectedTwilioSignature(AUTH_TOKEN, ROUTE_URL, {});
    const { response, log } = await send({ rawBody: '', signature, headers: { 'content-type': '' } });
    expectPlain(response, 403);
    expect(log.text()).toContain('Signed request for another account or app');
  });
});
