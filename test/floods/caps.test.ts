/** The caps themselves, as plain functions: the gate behind alerts and log lines, and the size of an alert. */
import { describe, expect, it } from 'vitest';
import { META_MAX_CHARS, slackMessage, vendorAlert, withoutQuery } from '../../lib/alerts.js';
import { windowedGate } from '../../lib/rateLimits.js';

const ORIGIN = { vendorApi: 'make_call', originApi: '[POST] /api/v1/make_call', errorMsg: 'x' };

describe('windowedGate', () => {
  it('a sweep keeps a key whose window is still open: it stays held until its own window ends', () => {
    let now = 0;
    const gate = windowedGate({ windowMs: 60_000, perKey: 1, now: () => now });

    now = 59_000;
    expect(gate('a').pass).toBe(true);
    now = 60_000;
    gate('b'); // a sweep runs here
    now = 61_000;
    expect(gate('a').pass).toBe(false);
  });

  it('lets perKey events of a key through per window, then holds the rest until the window ends', () => {
    let now = 0;
    const gate = windowedGate({ windowMs: 60_000, perKey: 2, now: () => now });

    const first = [gate('a'), gate('a'), gate('a'), gate('a')].map((v) => v.pass);
    now = 59_999;
    const late = gate('a').pass;
    now = 60_000;
    const next = gate('a');

    expect(first).toEqual([true, true, false, false]);
    expect(late).toBe(false);
    expect(next).toEqual({ pass: true, suppressed: 3, suppressedByCap: 0 });
  });

  it('marks only the first event held back in a window, so the "capped" line is written once', () => {
    const gate = windowedGate({ windowMs: 60_000, perKey: 1, now: () => 0 });
    gate('a');

    expect([gate('a'), gate('a')]).toEqual([
      { pass: false, firstHeld: true },
      { pass: false, firstHeld: false },
    ]);
  });

  it('caps all keys together at total a window, and the first one after says how many the cap held', () => {
    let now = 0;
    const gate = windowedGate({ windowMs: 60_000, perKey: 1, total: 3, now: () => now });

    const passed = Array.from({ length: 10 }, (_, i) => gate(`k${i}`).pass);
    now = 60_000;

    expect(passed.filter(Boolean)).toHaveLength(3);
    expect(gate('k99')).toEqual({ pass: true, suppressed: 0, suppressedByCap: 7 });
  });

  it('keeps no state for keys the cap held back, so varying keys cannot grow it', () => {
    let now = 0;
    const gate = windowedGate({ windowMs: 1_000, perKey: 1, total: 5, now: () => now });
    for (let i = 0; i < 100_000; i++) gate(`k${i}`);
    now = 1_000;

    // Had the held keys been kept, k6 would carry a held count of its own.
    expect(gate('k6')).toEqual({ pass: true, suppressed: 0, suppressedByCap: 99_995 });
  });
});

describe('alert size', () => {
  it(`cuts meta to ${META_MAX_CHARS} characters with a visible marker`, () => {
    const alert = vendorAlert(ORIGIN, { to: 'y'.repeat(5_000) });

    expect(alert.meta).toHaveLength(META_MAX_CHARS);
    expect(alert.meta.endsWith('…[cut]')).toBe(true);
  });

  it('keeps a Slack message under 4 KB even when escaping lengthens the meta fivefold', () => {
    const message = slackMessage(vendorAlert(ORIGIN, { to: '&'.repeat(5_000) }));

    expect(Buffer.byteLength(JSON.stringify(message))).toBeLessThan(4096);
  });

  it('shows a URL without its query string or fragment', () => {
    expect(withoutQuery('https://h.example/api/v1/make_call?a=1#f')).toBe('https://h.example/api/v1/make_call');
    expect(withoutQuery('https://h.example/api/v1/make_call#f')).toBe('https://h.example/api/v1/make_call');
    expect(withoutQuery('https://h.example/api/v1/make_call')).toBe('https://h.example/api/v1/make_call');
  });
});
