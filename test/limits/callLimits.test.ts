/**
 * Per-caller call limits through make_call and call_status, against dynalite (an in-memory
 * server speaking DynamoDB's protocol, conditional writes included) under the real AWS SDK,
 * with the clock injected. Counts are read back at the store.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as callEvents from '../../functions/callEvents.js';
import * as makeCall from '../../functions/makeCall.js';
import type { VendorAlert } from '../../lib/alerts.js';
import { dynamoCallLimitStore } from '../../lib/callLimitStore.js';
import { type LimitStep, limitSteps } from '../../lib/callLimits.js';
import { CALL_LIMITS_TABLE_SCHEMA } from '../../lib/callLimitsTable.js';
import { makeCallConfig } from '../../lib/callWebhook.js';
import type { Env } from '../../lib/config.js';
import { configLoader } from '../../lib/functionConfig.js';
import { FUNCTION_FIELDS } from '../../lib/functionFields.js';
import {
  APP_SID,
  callEvent,
  callHandler,
  POLICY_ENV,
  SAY,
  sayTwiml,
  twimlBody,
  webhookEvent,
} from '../call/harness.js';
import { parseXml } from '../call/xml.js';
import {
  awsSdkEnvFor,
  createCallLimitsTable,
  dynamoClient,
  type FaultyDynamo,
  faultyDynamo,
  useDynalite,
} from '../support/dynamoLocal.js';
import { openGate } from '../support/gates.js';
import { startLocalGateway } from '../support/localGateway.js';
import { recordingLog } from '../support/recordingLog.js';

const LIMITED = sayTwiml(SAY.limited);
const NOW = Date.parse('2026-12-02T10:15:00Z');

const dynamo = useDynalite();
beforeAll(() => {
  for (const [name, value] of Object.entries(awsSdkEnvFor(dynamo.endpoint))) vi.stubEnv(name, value);
});
afterAll(() => vi.unstubAllEnvs());

let tables = 0;
/** A fresh table per test: counters of one test never reach another. */
async function freshTable(): Promise<string> {
  const name = `call-limits-${++tables}`;
  await createCallLimitsTable(dynamo.endpoint, name);
  return name;
}

/** The item as DynamoDB holds it, read from outside the code under test. */
async function stored(table: string, key: string) {
  const client = dynamoClient(dynamo.endpoint);
  try {
    const { Item } = await client.send(
      new GetItemCommand({
        TableName: table,
        Key: { [CALL_LIMITS_TABLE_SCHEMA.partitionKey]: { S: key } },
        ConsistentRead: true,
      }),
    );
    return Item;
  } finally {
    client.destroy();
  }
}

/** Runs `test` with the SDK pointed at dynalite behind a faulty proxy, and at dynalite again after. */
async function behindFaultyDynamo(delayMs: number, test: (faulty: FaultyDynamo) => Promise<void>) {
  const faulty = await faultyDynamo(dynamo.endpoint, delayMs);
  vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', faulty.endpoint);
  try {
    await test(faulty);
  } finally {
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', dynamo.endpoint);
    await faulty.settled();
    await faulty.close();
  }
}

/** Caller 42's phone call `callSid` as limit steps, one call at a time, fail-closed. */
const phoneCallSteps = (callSid: string) =>
  limitSteps({ leg: 'number', userId: '42', callSid }, NOW, {
    MAX_PHONE_CALLS_PER_HOUR: 10,
    MAX_PHONE_CALLS_PER_DAY: 30,
    MAX_CLIENT_CALLS_PER_HOUR: 60,
    MAX_CONCURRENT_PHONE_CALLS: 1,
    MAX_PHONE_CALLS_PER_MINUTE: 100,
    CALL_LIMITS_FAIL_CLOSED: true,
    TWILIO_CALL_TIME_LIMIT: 3600,
  });

/** A phone item's hour and day counts, in the item's order. */
const windowCounts = (item: Awaited<ReturnType<typeof stored>>) =>
  Object.entries(item ?? {})
    .filter(([name]) => /^[hd]#/.test(name))
    .map(([, value]) => value.N);

/** The caller's phone item holds no slot and no hour or day count above zero. */
async function expectNothingHeld(table: string, userId: string) {
  const item = await stored(table, `u#${userId}#phone`);
  expect(item?.slots).toBeUndefined();
  expect(windowCounts(item).filter((count) => count !== '0')).toEqual([]);
}

const caller = (id: string) => `client:${APP_SID}_uid${id}`;

/** Caller 42's make_call to `to` with call `sid`, through `store` and the deployed deadline; its TwiML. */
function dialingThrough(store: ReturnType<typeof dynamoCallLimitStore>, table: string, settings: Env = {}) {
  const call = makeCall.createHandler({
    config: makeCallConfig({ ...POLICY_ENV, CALL_LIMITS_TABLE: table, CALL_STATUS_CALLBACK: 'true', ...settings }),
    log: recordingLog(),
    alert: async () => undefined,
    allowUnsignedRequests: false,
    callLimits: () => store,
    now: () => NOW,
  });
  return async (sid: string, to = '+14155552671') =>
    (await call(callEvent({ params: { CallSid: sid, From: caller('42'), to } }))).body;
}
let sids = 0;
const callSid = () => `CA${String(++sids).padStart(32, '0')}`;

async function limitsService(settings: Env = {}) {
  const table = await freshTable();
  let time = NOW;
  const clock = { now: () => time, advance: (ms: number) => (time += ms) };
  const env = { ...POLICY_ENV, CALL_LIMITS_TABLE: table, CALL_STATUS_CALLBACK: 'true', ...settings };
  const alerts: VendorAlert[] = [];
  const metrics: string[] = [];
  const deps = {
    log: recordingLog(),
    alert: async (alert: VendorAlert) => void alerts.push(alert),
    alertGate: openGate,
    logGate: openGate,
    metrics: {
      count: (name: string, dims: Record<string, string> = {}) => void metrics.push(`${name}${JSON.stringify(dims)}`),
      seconds: () => undefined,
      flush: () => undefined,
    },
    allowUnsignedRequests: false,
  };
  // Atomicity, not latency, is under test here: dynalite takes seconds for a thousand writes at once.
  const store = dynamoCallLimitStore(table, 20_000);
  const call = makeCall.createHandler({
    ...deps,
    config: makeCallConfig(env),
    now: clock.now,
    callLimitsTimeoutMs: 20_000,
    callLimits: (name) => (name === table ? store : dynamoCallLimitStore(name)),
  });
  const status = callEvents.createHandler({ ...deps, config: configLoader(FUNCTION_FIELDS.callEvents, env) });
  return {
    table,
    clock,
    alerts,
    metrics,
    logs: deps.log,
    /** make_call from this user to this destination (`sid` null: with no CallSid); the TwiML. */
    async dial(user: string, to = '+14155552671', sid: string | null = callSid()) {
      return (await call(callEvent({ params: { CallSid: sid ?? undefined, From: caller(user), to } }))).body;
    },
    /** Twilio's completed callback for the dialed leg of that call, to the statusCallback its TwiML gave. */
    completed(dialedTwiml: string, parentSid: string, expectedStatus = 204) {
      return this.status(dialedTwiml, parentSid, 'completed', expectedStatus);
    },
    /** Twilio's callback for the dialed leg of that call with this CallStatus. */
    async status(dialedTwiml: string, parentSid: string, callStatus: string, expectedStatus = 204) {
      const number = parseXml(dialedTwiml).root.children[0]?.children[0];
      const url = new URL(String(number?.attributes.statusCallback));
      const response = await status(
        webhookEvent(url.pathname, {
          query: url.search.slice(1),
          params: {
            CallSid: callSid(),
            ParentCallSid: parentSid,
            CallStatus: callStatus,
            CallDuration: '30',
            To: '+14155552671',
          },
        }),
      );
      expect(response.statusCode).toBe(expectedStatus);
    },
    /** Twilio's request to the `<Dial action>` that TwiML gave (CallSid: the parent's); the answer. */
    async dialEnded(dialedTwiml: string, parentSid: string, dialCallStatus: string) {
      const url = new URL(String(parseXml(dialedTwiml).root.children[0]?.attributes.action));
      return status(
        webhookEvent(url.pathname, {
          query: url.search.slice(1),
          params: { CallSid: parentSid, DialCallStatus: dialCallStatus },
        }),
      );
    },
    /** The TwiML App's status callback: the caller's own call ended (no ParentCallSid, no query). */
    async callerCallEnded(user: string, parentSid: string, callStatus = 'completed') {
      const response = await status(
        webhookEvent('/api/v1/call_status', {
          params: { CallSid: parentSid, CallStatus: callStatus, From: caller(user), Direction: 'inbound' },
        }),
      );
      expect(response.statusCode).toBe(204);
    },
  };
}

const dialed = (twiml: string) => twiml.includes('<Dial');

describe('per-caller limits', () => {
  it('100 concurrent calls from one caller → exactly MAX_PHONE_CALLS_PER_HOUR dialed, and the store counts exactly that', async () => {
    const svc = await limitsService({ MAX_PHONE_CALLS_PER_HOUR: '5', MAX_CONCURRENT_PHONE_CALLS: '10' });

    const answers = await Promise.all(Array.from({ length: 100 }, () => svc.dial('42')));

    expect(answers.filter(dialed)).toHaveLength(5);
    expect(answers.filter((a) => a === LIMITED)).toHaveLength(95);
    expect((await stored(svc.table, 'u#42#phone'))?.['h#2026-12-02T10']).toEqual({ N: '5' });
  });

  it('100 concurrent calls with the default of one call in progress → exactly one dialed', async () => {
    const svc = await limitsService();

    const answers = await Promise.all(Array.from({ length: 100 }, () => svc.dial('42')));

    expect(answers.filter(dialed)).toHaveLength(1);
    expect((await stored(svc.table, 'u#42#phone'))?.['h#2026-12-02T10']).toEqual({ N: '1' });
  });

  it('callers are independent', async () => {
    const svc = await limitsService({ MAX_PHONE_CALLS_PER_HOUR: '2', MAX_CONCURRENT_PHONE_CALLS: '10' });

    const a = await Promise.all([svc.dial('1'), svc.dial('1'), svc.dial('1')]);
    const b = await Promise.all([svc.dial('2'), svc.dial('2'), svc.dial('2')]);

    expect([a.filter(dialed).length, b.filter(dialed).length]).toEqual([2, 2]);
  });

  it('a window’s counter resets when it ends: the hour, then the day', async () => {
    const svc = await limitsService({
      MAX_PHONE_CALLS_PER_HOUR: '1',
      MAX_PHONE_CALLS_PER_DAY: '2',
      MAX_CONCURRENT_PHONE_CALLS: '10',
    });

    const first = await svc.dial('42');
    const sameHour = await svc.dial('42');
    svc.clock.advance(60 * 60_000);
    const nextHour = await svc.dial('42');
    svc.clock.advance(60 * 60_000);
    const dayFull = await svc.dial('42');
    svc.clock.advance(24 * 60 * 60_000);
    const nextDay = await svc.dial('42');

    expect([first, sameHour, nextHour, dayFull, nextDay].map(dialed)).toEqual([true, false, true, false, true]);
    expect(svc.metrics).toContain('CallLimited{"Limit":"phone-hour"}');
    expect(svc.metrics).toContain('CallLimited{"Limit":"phone-day"}');
  });

  it('the call in progress holds its slot until its completed callback releases it', async () => {
    const svc = await limitsService();
    const sid = callSid();

    const first = await svc.dial('42', '+14155552671', sid);
    expect(dialed(first)).toBe(true);
    expect(await svc.dial('42')).toBe(LIMITED);
    // The callbacks before the end (make_call asks for them all) free nothing.
    for (const status of ['initiated', 'ringing', 'answered']) {
      await svc.status(first, sid, status);
      expect(await svc.dial('42'), status).toBe(LIMITED);
    }
    await svc.completed(first, sid);

    expect(dialed(await svc.dial('42'))).toBe(true);
    expect(svc.metrics).toContain('CallLimited{"Limit":"phone-concurrent"}');
  });

  it('a completed callback whose release fails answers 503, counted and alerted; delivered again, it frees the slot', async () => {
    await behindFaultyDynamo(0, async (faulty) => {
      const svc = await limitsService();
      const sid = callSid();
      const first = await svc.dial('42', '+14155552671', sid);
      // Only the release (the one write conditioned on the item existing) fails: DynamoDB's 500.
      faulty.failWith = (body) => (body.includes('attribute_exists(#pk)') ? 'InternalServerError' : undefined);

      await svc.completed(first, sid, 503);

      expect(await svc.dial('42')).toBe(LIMITED);
      expect(svc.metrics).toContain('CallLimitsUnavailable{}');
      expect(svc.metrics).toContain('CallsCompleted{"Status":"completed"}');
      expect(svc.alerts.filter((a) => a.errorMsg.startsWith('Call limits unavailable')).map((a) => a.meta)).toEqual([
        '{"reason":"InternalServerError"}',
      ]);
      faulty.failWith = () => undefined;
      await svc.completed(first, sid);
      expect(dialed(await svc.dial('42'))).toBe(true);
    });
  });

  it('a dial that ends with no leg ever created (a <Dial> Twilio refuses) frees the slot through its Dial action', async () => {
    const svc = await limitsService({ DIAL_ACTION: 'true' });
    const sid = callSid();
    const first = await svc.dial('42', '+14155552671', sid);
    expect(await svc.dial('42')).toBe(LIMITED);

    const answer = await svc.dialEnded(first, sid, 'failed');

    expect(answer.body).toBe(sayTwiml(SAY.notConnected));
    expect(dialed(await svc.dial('42'))).toBe(true);
    expect(svc.metrics).toContain('DialOutcome{"Status":"failed","Leg":"number"}');
  });

  it('a call that ends before it is dialed (hung up while make_call answered) frees its slot through the TwiML App’s status callback', async () => {
    const svc = await limitsService();
    const sid = callSid();
    await svc.dial('42', '+14155552671', sid);

    // Another user's end, or a call of 42's that is not this one, frees nothing.
    await svc.callerCallEnded('43', sid, 'canceled');
    await svc.callerCallEnded('42', callSid(), 'canceled');
    expect(await svc.dial('42')).toBe(LIMITED);
    await svc.callerCallEnded('42', sid, 'canceled');

    expect(dialed(await svc.dial('42'))).toBe(true);
    // The caller's own call is not a dialed leg: no outcome or duration is counted for it.
    expect(svc.metrics.filter((line) => line.startsWith('CallsCompleted'))).toEqual([]);
  });

  it('a Dial action whose release fails still answers its TwiML, counted and alerted; the leg’s callback then frees the slot', async () => {
    await behindFaultyDynamo(0, async (faulty) => {
      const svc = await limitsService({ DIAL_ACTION: 'true' });
      const sid = callSid();
      const first = await svc.dial('42', '+14155552671', sid);
      faulty.failWith = (body) => (body.includes('attribute_exists(#pk)') ? 'InternalServerError' : undefined);

      const answer = await svc.dialEnded(first, sid, 'busy');

      expect(answer.statusCode).toBe(200);
      expect(answer.body).toBe(sayTwiml(SAY.busy));
      expect(svc.metrics).toContain('CallLimitsUnavailable{}');
      expect(svc.alerts.map((a) => a.errorMsg).filter((m) => m.startsWith('Call limits unavailable'))).toHaveLength(1);
      expect(await svc.dial('42')).toBe(LIMITED);
      faulty.failWith = () => undefined;
      await svc.completed(first, sid);
      expect(dialed(await svc.dial('42'))).toBe(true);
    });
  });

  it('a call Twilio delivers again (the same CallSid: its fallback URL, a retry policy) is dialed again and counted once', async () => {
    const svc = await limitsService({ MAX_CONCURRENT_PHONE_CALLS: '2' });
    const sid = callSid();

    const first = await svc.dial('42', '+14155552671', sid);
    const again = await svc.dial('42', '+14155552671', sid);

    expect([first, again].map(dialed)).toEqual([true, true]);
    const item = await stored(svc.table, 'u#42#phone');
    expect(item?.slots?.SS).toEqual([sid]);
    expect(windowCounts(item)).toEqual(['1', '1']);
    expect(svc.metrics.filter((line) => line.startsWith('CallLimited'))).toEqual([]);
  });

  it('with one call at a time, the call delivered again is still dialed, and another call still refused', async () => {
    const svc = await limitsService();
    const sid = callSid();

    expect(dialed(await svc.dial('42', '+14155552671', sid))).toBe(true);
    expect(dialed(await svc.dial('42', '+14155552671', sid))).toBe(true);
    expect(await svc.dial('42')).toBe(LIMITED);
  });

  it('a phone call’s statusCallback and Dial action name the caller whose slot it holds; app-user and support calls’ name no one', async () => {
    const svc = await limitsService({ SUPPORT_NUMBER: '+18005550100', DIAL_ACTION: 'true' });
    const urls = (twiml: string) => {
      const dial = parseXml(twiml).root.children[0];
      const path = (url: unknown) => `${new URL(String(url)).pathname}${new URL(String(url)).search}`;
      return [path(dial?.children[0]?.attributes.statusCallback), path(dial?.attributes.action)];
    };

    const phone = urls(await svc.dial('42'));
    const client = urls(await svc.dial('42', 'driver_7'));
    const support = urls(await svc.dial('42', 'support'));

    expect([phone, client, support]).toEqual([
      ['/api/v1/call_status?caller=42', '/api/v1/dial_status?caller=42&leg=number'],
      ['/api/v1/call_status', '/api/v1/dial_status?leg=client'],
      ['/api/v1/call_status', '/api/v1/dial_status?leg=number'],
    ]);
  });

  it('without a callback the slot expires after TWILIO_CALL_TIME_LIMIT plus a margin', async () => {
    const svc = await limitsService({ TWILIO_CALL_TIME_LIMIT: '600' });
    await svc.dial('42');

    svc.clock.advance(600_000);
    const during = await svc.dial('42');
    svc.clock.advance(301_000);
    const after = await svc.dial('42');

    expect([during, dialed(after)]).toEqual([LIMITED, true]);
  });

  it('the breaker: MAX_PHONE_CALLS_PER_MINUTE across all callers, then the next minute again', async () => {
    const svc = await limitsService({ MAX_PHONE_CALLS_PER_MINUTE: '3' });

    const answers = [];
    for (let user = 1; user <= 5; user++) answers.push(await svc.dial(String(user)));
    svc.clock.advance(60_000);
    const nextMinute = await svc.dial('6');

    expect(answers.map(dialed)).toEqual([true, true, true, false, false]);
    expect(dialed(nextMinute)).toBe(true);
    expect(svc.metrics).toContain('CallLimited{"Limit":"phone-minute"}');
    // Refused by the breaker, the caller's own write is undone: no count, no slot.
    const refused = await stored(svc.table, 'u#4#phone');
    expect([refused?.['h#2026-12-02T10'], refused?.['d#2026-12-02'], refused?.slots]).toEqual([
      { N: '0' },
      { N: '0' },
      undefined,
    ]);
  });

  it('a caller’s item keeps the counters of the current hour and day only: each call removes the day before', async () => {
    const svc = await limitsService({ MAX_CONCURRENT_PHONE_CALLS: '10' });

    await svc.dial('42');
    svc.clock.advance(60 * 60_000);
    await svc.dial('42');
    svc.clock.advance(24 * 60 * 60_000);
    await svc.dial('42');

    const item = await stored(svc.table, 'u#42#phone');
    expect(
      Object.keys(item ?? {})
        .filter((name) => /^[hd]#/.test(name))
        .sort(),
    ).toEqual(['d#2026-12-03', 'h#2026-12-03T11']);
    expect(item?.slots?.SS).toHaveLength(3);
  });

  it('app-user calls have their own hourly limit and take no phone slot', async () => {
    const svc = await limitsService({ MAX_CLIENT_CALLS_PER_HOUR: '2' });

    const answers = await Promise.all([
      svc.dial('42', 'driver_7'),
      svc.dial('42', 'driver_7'),
      svc.dial('42', 'driver_7'),
    ]);
    const phone = await svc.dial('42');

    expect(answers.filter(dialed)).toHaveLength(2);
    expect(dialed(phone)).toBe(true);
  });

  it('support calls are counted but never refused by the per-caller limits', async () => {
    const svc = await limitsService({ SUPPORT_NUMBER: '+18005550100', MAX_PHONE_CALLS_PER_HOUR: '1' });

    await svc.dial('42');
    const support = await Promise.all([svc.dial('42', 'support'), svc.dial('42', 'support')]);

    expect(support.every(dialed)).toBe(true);
    expect((await stored(svc.table, 'u#42#phone'))?.['h#2026-12-02T10']).toEqual({ N: '3' });
  });

  it('a limited caller is alerted once an hour per limit, however often they try', async () => {
    const svc = await limitsService({ MAX_PHONE_CALLS_PER_HOUR: '1', MAX_CONCURRENT_PHONE_CALLS: '10' });

    for (let i = 0; i < 5; i++) await svc.dial('42');
    svc.clock.advance(10 * 60_000);
    await svc.dial('42');

    expect(svc.alerts.map((a) => a.errorMsg)).toEqual(['Caller reached a call limit']);
  });

  it('each limited caller gets their own alert, naming them', async () => {
    const svc = await limitsService({ MAX_PHONE_CALLS_PER_HOUR: '1', MAX_CONCURRENT_PHONE_CALLS: '10' });

    for (const user of ['42', '43', '42', '43']) await svc.dial(user);
    for (const user of ['42', '43']) await svc.dial(user);

    expect(svc.alerts.map((a) => [a.errorMsg, a.meta && JSON.parse(a.meta).userId])).toEqual([
      ['Caller reached a call limit', '42'],
      ['Caller reached a call limit', '43'],
    ]);
  });

  it('greetings and refusals touch no counter', async () => {
    const svc = await limitsService();

    await svc.dial('42', '');
    await svc.dial('42', '911');

    expect(await stored(svc.table, 'u#42#phone')).toBeUndefined();
  });
});

describe('a call that cannot be counted', () => {
  it('a signed make_call without a CallSid is not dialed: not valid, WebhookRejected missing, no counter touched', async () => {
    const svc = await limitsService();

    const twiml = await svc.dial('42', '+14155552671', null);

    expect(dialed(twiml)).toBe(false);
    expect(twiml).toContain('The number you dialed is not valid.');
    expect(svc.metrics).toContain('WebhookRejected{"Reason":"missing"}');
    expect(await stored(svc.table, 'u#42#phone')).toBeUndefined();
    // With a CallSid the same call is dialed and counted.
    expect(dialed(await svc.dial('42'))).toBe(true);
    expect(await stored(svc.table, 'u#42#phone')).toBeDefined();
  });
});

describe('settings', () => {
  it('the limits without the status callbacks: make_call says try later, naming CALL_STATUS_CALLBACK, and dials nothing', async () => {
    const { handler, log } = callHandler({
      ...POLICY_ENV,
      CALL_LIMITS_TABLE: 'any-table',
      CALL_STATUS_CALLBACK: 'false',
    });

    const response = await handler(callEvent({ params: { From: caller('42'), to: '+14155552671' } }));

    expect(twimlBody(response)).toBe(sayTwiml(SAY.tryLater));
    expect(log.text()).toContain('CALL_STATUS_CALLBACK must be true when CALL_LIMITS_TABLE is set');
  });
});

describe('DynamoDB failing or slow', () => {
  it('down: the call goes ahead within a second, counted as CallLimitsUnavailable and alerted', async () => {
    const svc = await limitsService({ CALL_LIMITS_TABLE: 'no-such-table' });

    const started = performance.now();
    const twiml = await svc.dial('42');

    expect(performance.now() - started).toBeLessThan(1_000);
    expect(dialed(twiml)).toBe(true);
    expect(svc.metrics).toContain('CallLimitsUnavailable{}');
    expect(svc.alerts.map((a) => a.errorMsg)).toEqual(['Call limits unavailable: calls go ahead unchecked']);
  });

  it('hanging: the call goes ahead after at most 500 ms', async () => {
    const hanging = {
      take: () => new Promise<never>(() => undefined),
      giveBack: async () => undefined,
      release: async () => undefined,
    };
    const svc = await limitsService();
    const call = makeCall.createHandler({
      config: makeCallConfig({ ...POLICY_ENV, CALL_LIMITS_TABLE: svc.table, CALL_STATUS_CALLBACK: 'true' }),
      log: recordingLog(),
      alert: async () => undefined,
      allowUnsignedRequests: false,
      callLimits: () => hanging,
    });

    const started = performance.now();
    const response = await call(callEvent({ params: { From: caller('42'), to: '+14155552671' } }));

    expect(performance.now() - started).toBeLessThan(800);
    expect(response.body).toContain('<Dial');
  });

  it('CALL_LIMITS_FAIL_CLOSED=true: refused with the limit message instead', async () => {
    const svc = await limitsService({ CALL_LIMITS_TABLE: 'no-such-table', CALL_LIMITS_FAIL_CLOSED: 'true' });

    expect(await svc.dial('42')).toBe(LIMITED);
    expect(svc.alerts.map((a) => a.errorMsg)).toEqual([
      'Call limits unavailable: calls refused (CALL_LIMITS_FAIL_CLOSED), but for the support line',
    ]);
  });

  it('CALL_LIMITS_FAIL_CLOSED=true: the support line, which no limit refuses, still goes ahead', async () => {
    const svc = await limitsService({
      CALL_LIMITS_TABLE: 'no-such-table',
      CALL_LIMITS_FAIL_CLOSED: 'true',
      SUPPORT_NUMBER: '+18005550100',
    });

    expect(dialed(await svc.dial('42', 'support'))).toBe(true);
    expect(await svc.dial('42')).toBe(LIMITED);
    expect(svc.metrics.filter((m) => m.startsWith('CallLimitsUnavailable'))).toHaveLength(2);
  });

  it('slow, fail-closed: a call refused past the deadline holds no slot and counts nothing, so the caller can call again', async () => {
    const table = await freshTable();
    // Each answer 300 ms late: the caller's write, then the minute's, end past the 500 ms deadline.
    await behindFaultyDynamo(300, async (slow) => {
      const store = dynamoCallLimitStore(table); // the deployed timeouts: 400 ms a write
      const dial = dialingThrough(store, table, { CALL_LIMITS_FAIL_CLOSED: 'true' });

      expect(await dial('CA'.padEnd(34, '1'))).toBe(LIMITED);
      // Read at once: the refusal waited for the give-back (a frozen container would not finish it later).
      await expectNothingHeld(table, '42');

      slow.delayMs = 0;
      expect(dialed(await dial('CA'.padEnd(34, '2')))).toBe(true);
    });
  });

  it('slow, fail-closed: the support line goes ahead and keeps its counts, as a call placed', async () => {
    const table = await freshTable();
    await behindFaultyDynamo(300, async () => {
      const store = dynamoCallLimitStore(table);
      const call = dialingThrough(store, table, { CALL_LIMITS_FAIL_CLOSED: 'true', SUPPORT_NUMBER: '+18005550100' });

      expect(dialed(await call('CA'.padEnd(34, '1'), 'support'))).toBe(true);
    });
    expect(windowCounts(await stored(table, 'u#42#phone'))).toEqual(['1', '1']);
  });

  it('fail-open, the service minute’s write failing: a dialed call keeps its slot and counts, so the caller’s own limits still hold', async () => {
    const table = await freshTable();
    await behindFaultyDynamo(0, async (faulty) => {
      faulty.failWith = (body) => (body.includes('service#phone-minute') ? 'InternalServerError' : undefined);
      const store = dynamoCallLimitStore(table);
      const call = dialingThrough(store, table);
      const first = 'CA'.padEnd(34, '1');

      expect(dialed(await call(first))).toBe(true);
      const item = await stored(table, 'u#42#phone');
      expect([item?.slots?.SS, windowCounts(item)]).toEqual([[first], ['1', '1']]);
      // The caller's write and the minute's, once each: a 500 is not sent again (the write may have landed).
      expect(faulty.requests).toBe(2);
      // One call at a time: the caller's own write refuses the second, whatever the minute's does.
      expect(await call('CA'.padEnd(34, '2'))).toBe(LIMITED);
    });
  });

  it('a kept-alive connection DynamoDB closed (as across a freeze) is left for a new one: the call is checked and counted, even fail-closed', async () => {
    const table = await freshTable();
    await behindFaultyDynamo(0, async (faulty) => {
      faulty.closeReusedConnections = true;
      const store = dynamoCallLimitStore(table);
      const call = dialingThrough(store, table, { CALL_LIMITS_FAIL_CLOSED: 'true' });
      const first = 'CA'.padEnd(34, '1');

      // The caller's write opens the connection; the service minute's, next, finds it closed.
      expect(dialed(await call(first))).toBe(true);
      expect(faulty.closedOnReuse).toBeGreaterThan(0);
      const item = await stored(table, 'u#42#phone');
      expect([item?.slots?.SS, windowCounts(item)]).toEqual([[first], ['1', '1']]);
    });
  });

  it('a call refused by a later limit whose give-back fails: refused, logged at error level and counted as CallLimitsUnavailable, its slot held', async () => {
    await behindFaultyDynamo(0, async (faulty) => {
      const svc = await limitsService();
      // The breaker refuses the service minute's write; then the caller's give-back (of the slot it holds) fails.
      faulty.failWith = (body) => {
        if (!body.includes('UpdateExpression')) return undefined;
        if (body.includes('service#phone-minute')) return 'ConditionalCheckFailedException';
        return body.includes(':held') ? 'InternalServerError' : undefined;
      };
      const sid = callSid();

      expect(await svc.dial('42', '+14155552671', sid)).toBe(LIMITED);

      expect(svc.metrics).toEqual(
        expect.arrayContaining(['CallLimited{"Limit":"phone-minute"}', 'CallLimitsUnavailable{}']),
      );
      expect(svc.logs.entries.filter((e) => e.level === 'error').map((e) => e.attributes?.givenBack)).toEqual([false]);
      expect((await stored(svc.table, 'u#42#phone'))?.slots?.SS).toEqual([sid]);
    });
  });

  it('fail-open, answers late: a dialed call whose write landed keeps its slot until its call ends', async () => {
    const table = await freshTable();
    // Past the SDK's 400 ms, inside the 500 ms deadline: the write lands, its answer is given up on.
    await behindFaultyDynamo(450, async (slow) => {
      const store = dynamoCallLimitStore(table);
      const call = dialingThrough(store, table);

      expect(dialed(await call('CA'.padEnd(34, '1')))).toBe(true);
      await slow.settled();
    });
    expect((await stored(table, 'u#42#phone'))?.slots?.SS).toEqual(['CA'.padEnd(34, '1')]);
  });

  it('a write that fails after the caller’s took its slot, for a call to be refused: the caller’s write is undone, nothing is held', async () => {
    const table = await freshTable();
    await behindFaultyDynamo(0, async (faulty) => {
      const store = dynamoCallLimitStore(table);
      // The service's minute, the second write, fails (DynamoDB's 500); the caller's went through.
      faulty.failWith = (body) => (body.includes('service#phone-minute') ? 'InternalServerError' : undefined);
      const steps = phoneCallSteps('CA1');
      expect(steps.map((step) => step.key)).toEqual(['u#42#phone', expect.stringMatching(/^service#phone-minute#/)]);

      await expect(store.take(steps, NOW, { undoOnFailure: true })).rejects.toThrow();

      await expectNothingHeld(table, '42');
    });
  });

  it('the caller’s write lands but its answer comes too late, for a call to be refused: the slot and counts it took are given back', async () => {
    const table = await freshTable();
    // Every answer held back past the SDK's 400 ms: the write is forwarded at once and lands.
    await behindFaultyDynamo(600, async (slow) => {
      const store = dynamoCallLimitStore(table);

      await expect(store.take(phoneCallSteps('CA1'), NOW, { undoOnFailure: true })).rejects.toThrow();
      await slow.settled();

      await expectNothingHeld(table, '42');
      slow.delayMs = 0;
      expect(await store.take(phoneCallSteps('CA2'), NOW)).toEqual({ allowed: true });
    });
  });

  it('a write refused that the item read back does not explain, three times: the call is refused, not let through', async () => {
    const table = await freshTable();
    await behindFaultyDynamo(0, async (faulty) => {
      // Every UpdateItem refused; the read back (forwarded) finds nothing over any limit.
      faulty.failWith = (body) => (body.includes('UpdateExpression') ? 'ConditionalCheckFailedException' : undefined);
      const call = makeCall.createHandler({
        config: makeCallConfig({ ...POLICY_ENV, CALL_LIMITS_TABLE: table, CALL_STATUS_CALLBACK: 'true' }),
        log: recordingLog(),
        alert: async () => undefined,
        allowUnsignedRequests: false,
        callLimits: () => dynamoCallLimitStore(table, 5_000),
        callLimitsTimeoutMs: 10_000,
        now: () => NOW,
      });

      const twiml = (await call(callEvent({ params: { From: caller('42'), to: '+14155552671' } }))).body;

      expect(twiml).toBe(LIMITED);
    });
  });

  it('giving back a call that holds no slot changes nothing: its write never landed', async () => {
    const table = await freshTable();
    const store = dynamoCallLimitStore(table);
    const step = (callSid: string): LimitStep => ({
      key: 'u#1#phone',
      counters: [{ attribute: 'h#x', limit: 10, name: 'phone-hour' }],
      slot: { callSid, expiresAt: 9e9, limit: 2, name: 'phone-concurrent' },
      ended: [],
      expiresAt: 9e9,
    });
    expect(await store.take([step('CA1')], NOW)).toEqual({ allowed: true });
    const before = await stored(table, 'u#1#phone');

    await store.giveBack([step('CA2')]);

    expect(await stored(table, 'u#1#phone')).toEqual(before);
    await store.giveBack([step('CA1')]);
    const after = await stored(table, 'u#1#phone');
    expect([after?.slots, after?.['h#x']]).toEqual([undefined, { N: '0' }]);
  });

  it('the store itself, under the real SDK: take then release frees the slot', async () => {
    const table = await freshTable();
    const store = dynamoCallLimitStore(table);
    const slot = (callSid: string): LimitStep => ({
      key: 'u#1#phone',
      counters: [],
      slot: { callSid, expiresAt: 9e9, limit: 1, name: 'phone-concurrent' },
      ended: [],
      expiresAt: 9e9,
    });

    expect(await store.take([slot('CA1')], NOW)).toEqual({ allowed: true });
    expect(await store.take([slot('CA2')], NOW)).toEqual({ allowed: false, limit: 'phone-concurrent' });
    await store.release('CA1', '1');
    expect(await store.take([slot('CA2')], NOW)).toEqual({ allowed: true });
    // Releasing for a caller with no item creates none (it would carry no expiry).
    await store.release('CA1', '7');
    expect(await stored(table, 'u#7#phone')).toBeUndefined();
    const item = await stored(table, 'u#1#phone');
    expect([item?.slots, item?.['slot#CA1'], item?.['slot#CA2']]).toEqual([
      { SS: ['CA2'] },
      undefined,
      { N: '9000000000' },
    ]);
  });
});

describe('on the local gateway, over real HTTP', () => {
  it('the second phone call of a caller over MAX_PHONE_CALLS_PER_HOUR=1 hears the limit message', async () => {
    const table = await freshTable();
    const gateway = await startLocalGateway({
      CALL_LIMITS_TABLE: table,
      CALL_STATUS_CALLBACK: 'true',
      MAX_PHONE_CALLS_PER_HOUR: '1',
      MAX_CONCURRENT_PHONE_CALLS: '5',
    });
    try {
      const post = async () => {
        const response = await fetch(`${gateway.baseUrl}/api/v1/make_call`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            From: `client:${gateway.env.TWILIO_ML_APP_SID}_uid42`,
            to: '+14155552671',
            CallSid: callSid(),
          }),
        });
        return response.text();
      };

      const [first, second] = [await post(), await post()];

      expect(dialed(first)).toBe(true);
      expect(second).toBe(LIMITED);
    } finally {
      await gateway.close();
    }
  });
});
