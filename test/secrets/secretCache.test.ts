/**
 * The secret cache itself, on a clock the test moves, over a store the test answers for:
 * when a request waits for the store, when it is served at once, and what it is served.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/config.js';
import { windowedGate } from '../../lib/rateLimits.js';
import { secretNoticeReport } from '../../lib/secretHealth.js';
import { SecretStoreError, STALE_RETRY_MS, secretCache } from '../../lib/secrets.js';

const TTL_MS = 300_000;
const MAX_STALE_MS = 900_000;

/** A secret store the test answers for; `hold()` keeps the reads asked from then on waiting until released. */
function testStore(initial: string) {
  let answer: () => Promise<string> = async () => initial;
  let gate: Promise<void> = Promise.resolve();
  const store = {
    reads: 0,
    holds(value: string) {
      answer = async () => value;
    },
    fails(error: Error = new SecretStoreError('Reading the secret named by SECRET_ID failed: InternalServiceError')) {
      answer = async () => {
        throw error;
      };
    },
    hold(): () => void {
      let release: () => void = () => undefined;
      gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      return release;
    },
    read: async () => {
      store.reads += 1;
      const reply = answer;
      await gate;
      return reply();
    },
  };
  return store;
}

function cacheOn(store: ReturnType<typeof testStore>) {
  let time = 1_000_000;
  const clock = { now: () => time, advance: (ms: number) => (time += ms) };
  return { clock, cache: secretCache(store.read, { ttlMs: TTL_MS, maxStaleMs: MAX_STALE_MS, now: clock.now }) };
}

/** Whether `promise` has settled once everything already due has run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

/** A cache that read 'old', then past its TTL found the store failing: an outage under way. */
async function duringAnOutage() {
  const store = testStore('old');
  const { clock, cache } = cacheOn(store);
  await cache();
  store.fails();
  clock.advance(TTL_MS + 1);
  await cache();
  return { store, clock, cache };
}

describe('the secret cache', () => {
  it('past its TTL a value is refreshed before it is served: a changed secret is live within SECRETS_CACHE_TTL', async () => {
    const store = testStore('old');
    const { clock, cache } = cacheOn(store);
    await cache();
    store.holds('new');
    clock.advance(TTL_MS - 1);
    expect((await cache()).value).toBe('old');
    clock.advance(1);
    const release = store.hold();

    const late = cache();

    expect(await settled(late)).toBe(false);
    release();
    expect(await late).toEqual({ value: 'new', stale: false, notices: [] });
    expect(store.reads).toBe(2);
  });

  it('requests past the TTL share the one refresh they wait for', async () => {
    const store = testStore('old');
    const { clock, cache } = cacheOn(store);
    await cache();
    store.holds('new');
    clock.advance(TTL_MS);
    const release = store.hold();

    const late = [cache(), cache(), cache()];

    expect(await settled(Promise.race(late))).toBe(false);
    release();
    expect((await Promise.all(late)).map((read) => read.value)).toEqual(['new', 'new', 'new']);
    expect(store.reads).toBe(2);
  });

  it('a refresh past the TTL that fails serves the cached value, stale, with the first notice of the outage', async () => {
    const store = testStore('old');
    const { clock, cache } = cacheOn(store);
    await cache();
    store.fails();
    clock.advance(TTL_MS + 1);

    const late = await cache();

    expect(late).toEqual({
      value: 'old',
      stale: true,
      notices: [
        {
          kind: 'stale',
          first: true,
          reason: expect.stringContaining('InternalServiceError'),
          staleForSeconds: 0,
          outageSince: clock.now(),
        },
      ],
    });
    expect(store.reads).toBe(2);
  });

  it('a read left under way when the container froze is abandoned after the thaw: the next request reads again', async () => {
    const { store, clock, cache } = await duringAnOutage();
    const frozen = store.hold();
    clock.advance(STALE_RETRY_MS);
    await cache(); // the retry behind this request hangs: Lambda froze the container
    expect(store.reads).toBe(3);
    store.holds('new');
    store.hold()(); // the store answers again, at once
    clock.advance(TTL_MS + MAX_STALE_MS); // the thaw, long after

    expect(await cache()).toEqual({
      value: 'new',
      stale: false,
      notices: [expect.objectContaining({ kind: 'recovered' })],
    });
    expect(store.reads).toBe(4);
    // The frozen read answers at last (its failure): it changes nothing.
    frozen();
    await new Promise((resolve) => setImmediate(resolve));
    expect(await cache()).toEqual({ value: 'new', stale: false, notices: [] });
  });

  it('each outage gets its own alert, however soon after the last one it begins', async () => {
    const store = testStore('v1');
    let time = 1_000_000;
    const cache = secretCache(store.read, { ttlMs: 10_000, maxStaleMs: MAX_STALE_MS, now: () => time });
    const gate = windowedGate({ windowMs: 60_000, perKey: 1, now: () => time });
    const alertsSent: string[] = [];
    const request = async () => {
      const { alert } = secretNoticeReport((await cache()).notices);
      if (alert && gate(alert.key).pass) alertsSent.push(alert.errorMsg);
    };
    await request();
    store.fails();
    time += 10_000;
    await request(); // outage A: its alert
    store.holds('v2');
    time += STALE_RETRY_MS;
    await request(); // the retry behind this request reads v2
    await new Promise((resolve) => setImmediate(resolve));
    store.fails();
    time += 10_000;
    await request(); // outage B, 40 s after A began: its own alert

    expect(alertsSent).toEqual([
      'Secret store cannot be read: serving the last good secrets',
      'Secret store cannot be read: serving the last good secrets',
    ]);
  });

  it('while the store keeps failing, the cached value is served at once, with one retry behind at most every STALE_RETRY_MS', async () => {
    const { store, clock, cache } = await duringAnOutage();
    const release = store.hold();

    clock.advance(STALE_RETRY_MS - 1);
    const before = cache();
    expect(await settled(before)).toBe(true);
    expect(store.reads).toBe(2);
    clock.advance(1);
    const retrying = [cache(), cache()];

    expect(await settled(Promise.all(retrying))).toBe(true);
    expect((await Promise.all(retrying)).map((read) => [read.value, read.stale])).toEqual([
      ['old', true],
      ['old', true],
    ]);
    expect(store.reads).toBe(3);
    release();
    await new Promise((resolve) => setImmediate(resolve));
    expect((await cache()).notices).toEqual([expect.objectContaining({ kind: 'stale', first: false })]);
  });

  it('once the store is back, the next refresh past the TTL is waited for again', async () => {
    const { store, clock, cache } = await duringAnOutage();
    store.holds('new');
    clock.advance(STALE_RETRY_MS);
    expect((await cache()).value).toBe('old'); // the retry behind it reads 'new'
    await new Promise((resolve) => setImmediate(resolve));
    expect(await cache()).toMatchObject({ value: 'new', stale: false, notices: [{ kind: 'recovered' }] });
    store.holds('newer');
    clock.advance(TTL_MS);
    const release = store.hold();

    const late = cache();

    expect(await settled(late)).toBe(false);
    release();
    expect((await late).value).toBe('newer');
  });

  it('past SECRETS_MAX_STALE with the store failing, a request fails with the store’s error', async () => {
    const { clock, cache } = await duringAnOutage();
    clock.advance(MAX_STALE_MS);

    await expect(cache()).rejects.toBeInstanceOf(SecretStoreError);
  });

  it('a value that fails validation never replaces a good one: the refresh is a failed read', async () => {
    const store = testStore('old');
    const { clock, cache } = cacheOn(store);
    await cache();
    store.fails(new ConfigError(['JWT_SECRET must be at least 16 characters long']));
    clock.advance(TTL_MS + 1);

    const late = await cache();

    expect(late.value).toBe('old');
    expect(late.stale).toBe(true);
    expect(late.notices).toEqual([
      expect.objectContaining({ kind: 'stale', reason: expect.stringContaining('JWT_SECRET') }),
    ]);
  });
});
