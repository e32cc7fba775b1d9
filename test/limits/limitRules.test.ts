/**
 * The call limits as plain data, without a store: which item a call writes, what that write
 * may refuse, and what a refused write's item says about why.
 */
import { describe, expect, it } from 'vitest';
import { type LimitSettings, type LimitStep, limitSteps, refusalOf } from '../../lib/callLimits.js';

const NOW = Date.parse('2026-12-02T10:15:30Z');
const SETTINGS: LimitSettings = {
  MAX_PHONE_CALLS_PER_HOUR: 10,
  MAX_PHONE_CALLS_PER_DAY: 30,
  MAX_CLIENT_CALLS_PER_HOUR: 60,
  MAX_CONCURRENT_PHONE_CALLS: 2,
  MAX_PHONE_CALLS_PER_MINUTE: 100,
  CALL_LIMITS_FAIL_CLOSED: false,
  TWILIO_CALL_TIME_LIMIT: 3600,
};
const nowSeconds = Math.floor(NOW / 1000);

describe('limitSteps', () => {
  it('a phone call: the caller’s item (slot, hour, day) first, the service’s minute last', () => {
    const [caller, breaker, ...rest] = limitSteps({ leg: 'number', userId: '42', callSid: 'CA1' }, NOW, SETTINGS);

    expect(rest).toEqual([]);
    expect(caller?.key).toBe('u#42#phone');
    expect(caller?.counters).toEqual([
      { attribute: 'h#2026-12-02T10', limit: 10, name: 'phone-hour' },
      { attribute: 'd#2026-12-02', limit: 30, name: 'phone-day' },
    ]);
    expect(caller?.slot).toEqual({
      callSid: 'CA1',
      expiresAt: nowSeconds + 3600 + 300,
      limit: 2,
      name: 'phone-concurrent',
    });
    expect(breaker).toEqual({
      key: 'service#phone-minute#2026-12-02T10:15',
      counters: [{ attribute: 'n', limit: 100, name: 'phone-minute' }],
      ended: [],
      expiresAt: Date.parse('2026-12-02T10:16:00Z') / 1000 + 60,
    });
  });

  it('the caller’s write removes the 24 hours and the day before: the item holds today’s counters only', () => {
    const [caller] = limitSteps({ leg: 'number', userId: '42', callSid: 'CA1' }, NOW, SETTINGS);

    expect(caller?.ended).toHaveLength(25);
    expect(caller?.ended).toContain('h#2026-12-02T09');
    expect(caller?.ended).toContain('h#2026-12-01T10');
    expect(caller?.ended).toContain('d#2026-12-01');
    expect(caller?.ended).not.toContain('h#2026-12-02T10');
    // It lives as long as its day counter (a window after the day) or its slot, whichever is later.
    expect(caller?.expiresAt).toBe(Date.parse('2026-12-04T00:00:00Z') / 1000);
  });

  it('support calls are counted and never refused: no limit, no slot; app-user calls count their own hour only', () => {
    const support = limitSteps({ leg: 'support', userId: '42', callSid: 'CA1' }, NOW, SETTINGS);
    const client = limitSteps({ leg: 'client', userId: '42', callSid: 'CA1' }, NOW, SETTINGS);

    expect(support.flatMap((step) => step.counters.map((counter) => counter.limit))).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    expect(support.some((step) => step.slot)).toBe(false);
    expect(client).toEqual([
      {
        key: 'u#42#client-hour#2026-12-02T10',
        counters: [{ attribute: 'n', limit: 60, name: 'client-hour' }],
        ended: [],
        expiresAt: Date.parse('2026-12-02T11:00:00Z') / 1000 + 3600,
      },
    ]);
  });
});

describe('refusalOf', () => {
  const [step] = limitSteps({ leg: 'number', userId: '42', callSid: 'CA9' }, NOW, SETTINGS) as [LimitStep];
  const live = (callSid: string) => ({ callSid, expiresAt: nowSeconds + 60 });
  const expired = (callSid: string) => ({ callSid, expiresAt: nowSeconds - 1 });

  it('names the first limit the item is at: calls in progress, then the hour, then the day', () => {
    const full = { 'h#2026-12-02T10': 10, 'd#2026-12-02': 30 };

    expect(refusalOf(step, { counts: full, slots: [live('CA1'), live('CA2')] }, NOW)).toEqual({
      limit: 'phone-concurrent',
    });
    expect(refusalOf(step, { counts: full, slots: [live('CA1')] }, NOW)).toEqual({ limit: 'phone-hour' });
    expect(refusalOf(step, { counts: { 'd#2026-12-02': 30 }, slots: [] }, NOW)).toEqual({ limit: 'phone-day' });
  });

  it('the call itself holds a live slot: held (an earlier delivery of its webhook took the step), even at a limit', () => {
    const full = { 'h#2026-12-02T10': 10, 'd#2026-12-02': 30 };

    expect(refusalOf(step, { counts: full, slots: [live('CA1'), live('CA9')] }, NOW)).toEqual({ held: true });
    expect(refusalOf(step, { counts: {}, slots: [expired('CA9')] }, NOW)).toEqual({ expired: ['CA9'] });
  });

  it('a set full of calls past their expiry: those to free, then try again', () => {
    expect(refusalOf(step, { counts: {}, slots: [expired('CA1'), live('CA2')] }, NOW)).toEqual({ expired: ['CA1'] });
  });

  it('nothing in the item explains it (it changed meanwhile): nothing, try again', () => {
    expect(refusalOf(step, { counts: { 'h#2026-12-02T10': 3 }, slots: [live('CA1')] }, NOW)).toBeUndefined();
  });
});
