/**
 * Every function under a failing secret store: the real AWS SDK against a loopback
 * endpoint that speaks Secrets Manager's protocol and counts what it is asked, with the
 * secret cache on a clock the test moves. What each route answers, how often the store
 * is asked, how long a request waits, and how each route recovers by itself.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import * as authorizer from '../../functions/authorizer.js';
import * as callToken from '../../functions/callToken.js';
import * as makeCall from '../../functions/makeCall.js';
import { alertGate, slackAlertSender, type VendorAlert } from '../../lib/alerts.js';
import { dialPolicyProblems } from '../../lib/callRouting.js';
import type { Env } from '../../lib/config.js';
import { configLoader } from '../../lib/functionConfig.js';
import { FUNCTION_FIELDS } from '../../lib/functionFields.js';
import type { MetricSink } from '../../lib/metrics.js';
import { type SecretSource, secretsFromSecretsManager } from '../../lib/secrets.js';
import { ACCOUNT_SID, APP_SID, AUTH_TOKEN, callEvent, POLICY_ENV, SAY, sayTwiml } from '../call/harness.js';
import { legacyPortalToken } from '../support/portalTokens.js';
import { recordingLog } from '../support/recordingLog.js';
import { type SecretBehaviour, useSecretsManagerEndpoint } from '../support/secretsManagerEndpoint.js';
import { startSlackReceiver } from '../support/slackReceiver.js';
import { authorizerRequest, callTokenEvent } from '../token/events.js';
import { SETTINGS } from '../token/settings.js';

const STORED = {
  TWILIO_API_KEY: SETTINGS.TWILIO_API_KEY,
  TWILIO_API_KEY_SECRET: 'stored-api-key-secret-0f3a9c2e7b',
  TWILIO_AUTH_TOKEN: AUTH_TOKEN,
  JWT_SECRET: 'stored-portal-jwt-secret-51d8e4a6',
};
const GOOD: SecretBehaviour = { secretString: JSON.stringify(STORED) };
/** What the functions' environment holds on Lambda: settings, and where the secret is. No secret. */
const ENV: Env = {
  // The account and app the signed make_call requests come from.
  TWILIO_ACCOUNT_SID: ACCOUNT_SID,
  TWILIO_ML_APP_SID: APP_SID,
  TWILIO_ML_APNS_CERT_SID: SETTINGS.TWILIO_ML_APNS_CERT_SID,
  TWILIO_ML_FCM_CERT_SID: SETTINGS.TWILIO_ML_FCM_CERT_SID,
  TWILIO_FROM: POLICY_ENV.TWILIO_FROM,
  TWILIO_CALLER_IDS: POLICY_ENV.TWILIO_CALLER_IDS,
  SECRET_ID: 'voice/faults',
  SECRETS_CACHE_TTL: '300',
  SECRETS_MAX_STALE: '900',
};
const TRY_LATER = sayTwiml(SAY.tryLater);
const UNAVAILABLE = '{"status":"fail","error":{"code":99999,"msg":"Service temporarily unavailable"}}';

const endpoint = useSecretsManagerEndpoint(GOOD);
beforeEach(() => {
  endpoint.behaviour = GOOD;
  endpoint.requests.length = 0;
});

/**
 * The reads of the real Secrets Manager source, watched: a test can wait for a refresh that a
 * request started behind it to have finished (the source is the one the functions use).
 */
const reads = {
  pending: new Set<Promise<unknown>>(),
  track(env: Env): SecretSource {
    const source = secretsFromSecretsManager(env.SECRET_ID as string);
    return () => {
      const read = source();
      reads.pending.add(read);
      read.then(
        () => reads.pending.delete(read),
        () => reads.pending.delete(read),
      );
      return read;
    };
  },
  async settled() {
    while (reads.pending.size > 0) await Promise.allSettled([...reads.pending]);
    // The cache records the outcome in the read's own continuation: one more turn.
    await new Promise((resolve) => setImmediate(resolve));
  },
};

/** The three functions, each with its own container state, on one clock the test moves. */
function service(env: Env = ENV) {
  let time = 1_000_000;
  const clock = { now: () => time, advance: (ms: number) => (time += ms) };
  const logs = recordingLog();
  const alerts: VendorAlert[] = [];
  const metrics: string[] = [];
  const deps = {
    log: logs,
    alert: async (alert: VendorAlert) => void alerts.push(alert),
    metrics: {
      count: (name) => void metrics.push(name),
      seconds: (name) => void metrics.push(name),
      flush: () => undefined,
    } satisfies MetricSink,
  };
  // Each function's alert de-duplication (its own container's) on the test's clock, not the
  // real one: an outage of 600 s takes well under a second here, and on the real clock the
  // gate would hide every repeat.
  const authorize = authorizer.createHandler({
    ...deps,
    alertGate: alertGate(clock.now),
    config: configLoader(FUNCTION_FIELDS.authorizer, env, { now: clock.now, secrets: reads.track(env) }),
  });
  const token = callToken.createHandler({
    ...deps,
    alertGate: alertGate(clock.now),
    config: configLoader(FUNCTION_FIELDS.callToken, env, { now: clock.now, secrets: reads.track(env) }),
  });
  const call = makeCall.createHandler({
    ...deps,
    alertGate: alertGate(clock.now),
    config: configLoader(FUNCTION_FIELDS.makeCall, env, {
      now: clock.now,
      check: dialPolicyProblems,
      secrets: reads.track(env),
    }),
    allowUnsignedRequests: false,
  });
  const bearer = () => `Bearer ${legacyPortalToken(42, STORED.JWT_SECRET)}`;
  return {
    clock,
    bearer,
    logs,
    alerts,
    metrics,
    authorize: (authorization = bearer()) => authorize(authorizerRequest(authorization)),
    token: () => token(callTokenEvent()),
    call: (options: Parameters<typeof callEvent>[0] = { params: { to: '+14155552671' } }) => call(callEvent(options)),
    /** One request to each route, all fine. */
    async allAnswer() {
      expect(await this.authorize()).toEqual({ isAuthorized: true, context: { userId: '42' } });
      expect((await this.token()).statusCode).toBe(200);
      expect((await this.call()).body).toContain('<Dial');
    },
  };
}

type Service = ReturnType<typeof service>;

/** Each route's answer with no good secrets to serve. */
async function expectTryLater(svc: Service) {
  await expect(svc.authorize()).rejects.toThrow();
  const token = await svc.token();
  expect(token.statusCode).toBe(503);
  expect(token.body).toBe(UNAVAILABLE);
  expect(token.headers?.['retry-after']).toBe('30');
  const call = await svc.call();
  expect(call.statusCode).toBe(200);
  expect(call.body).toBe(TRY_LATER);
}

async function timed<T>(work: () => Promise<T>): Promise<number> {
  const started = performance.now();
  await work().catch(() => undefined);
  return performance.now() - started;
}

describe('the store down from the start', () => {
  it.each([
    ['HTTP 500', { error: 'InternalServiceError', status: 500 }],
    ['ThrottlingException', { error: 'ThrottlingException', status: 400 }],
    ['ResourceNotFoundException', { error: 'ResourceNotFoundException', status: 400 }],
    ['AccessDeniedException', { error: 'AccessDeniedException', status: 400 }],
    ['a non-JSON answer', { raw: '<html><body>Bad gateway</body></html>', status: 502 }],
  ] as const)(
    '%s: authorizer throws, call_token 503 + Retry-After: 30, make_call says try later',
    async (_, behaviour) => {
      endpoint.behaviour = behaviour;
      const svc = service();

      await expectTryLater(svc);

      // One attempt per function (one HTTP request each: the SDK does not retry behind our back).
      expect(endpoint.requests).toHaveLength(3);
      expect(svc.metrics).toEqual(expect.arrayContaining(['TokenFailed', 'WebhookFailed']));
      expect(svc.logs.entries.filter((e) => e.level === 'error').length).toBeGreaterThanOrEqual(3);
    },
  );

  it('authorizer: a header that cannot be a token is denied, the store not asked and no error logged', async () => {
    endpoint.behaviour = { error: 'InternalServiceError', status: 500 };
    const svc = service();

    const signature = svc.bearer().split('.')[2];
    for (const header of ['Bearer junk', 'Basic x', `${svc.bearer()}=`, `Bearer ..${signature}`]) {
      expect(await svc.authorize(header)).toEqual({ isAuthorized: false });
    }

    expect(endpoint.requests).toHaveLength(0);
    expect(svc.logs.entries.filter((e) => e.level === 'error')).toEqual([]);
    await expect(svc.authorize()).rejects.toThrow();
    expect(endpoint.requests).toHaveLength(1);
  });

  it('asks the store at most once per 5 s per function; requests in between answer at once', async () => {
    endpoint.behaviour = { error: 'InternalServiceError', status: 500 };
    const svc = service();
    await expectTryLater(svc);
    endpoint.requests.length = 0;

    for (let i = 0; i < 20; i++) {
      svc.clock.advance(200);
      expect(await timed(() => expectTryLater(svc))).toBeLessThan(200);
    }
    expect(endpoint.requests).toHaveLength(0);
    svc.clock.advance(1_000);
    await expectTryLater(svc);
    expect(endpoint.requests).toHaveLength(3);
  });

  it('recovers by itself when the store comes back, without a redeploy', async () => {
    endpoint.behaviour = { error: 'ThrottlingException', status: 400 };
    const svc = service();
    await expectTryLater(svc);
    endpoint.behaviour = GOOD;
    svc.clock.advance(5_000);

    await svc.allAnswer();

    expect(svc.logs.entries.map((e) => e.message)).toContain('Secrets read again after failures');
  });

  it('an answer that never comes: no request waits more than 5 s, and the next ones answer at once', async () => {
    endpoint.behaviour = 'hang';
    const svc = service();

    const waits = await Promise.all([timed(svc.authorize), timed(svc.token), timed(() => svc.call())]);

    for (const wait of waits) expect(wait).toBeLessThan(5_000);
    expect(await timed(() => expectTryLater(svc))).toBeLessThan(200);
    expect(endpoint.requests).toHaveLength(3);
  });

  it('a slow answer inside the timeout is waited for and served', async () => {
    endpoint.behaviour = { delayMs: 1_500, answer: GOOD };
    const svc = service();

    const [allowed, token, call] = await Promise.all([svc.authorize(), svc.token(), svc.call()]);

    expect(allowed.isAuthorized).toBe(true);
    expect(token.statusCode).toBe(200);
    expect(call.body).toContain('<Dial');
    expect(endpoint.requests).toHaveLength(3);
  });
});

describe('a secret that is not right', () => {
  const secretText = 'pasted-secret-value-9d2f71c3';

  it.each([
    ['not JSON', `JWT_SECRET=${secretText}`, 'not valid JSON'],
    [
      'missing keys',
      JSON.stringify({ ...STORED, TWILIO_API_KEY_SECRET: '', TWILIO_AUTH_TOKEN: '' }),
      'TWILIO_API_KEY_SECRET is required but not set',
    ],
    ['with an unknown key', JSON.stringify({ ...STORED, [secretText]: 'x' }), '1 unknown key'],
  ])(
    '%s: no route dials or issues anything, the log names the problem and quotes nothing',
    async (_, secretString, problem) => {
      endpoint.behaviour = { secretString };
      const svc = service();

      const token = await svc.token();
      const call = await svc.call();
      await svc.authorize().catch(() => undefined);

      expect(call.body).toBe(TRY_LATER);
      expect(token.statusCode).toBe(500);
      const said = svc.logs.text() + JSON.stringify(svc.alerts) + token.body + call.body;
      expect(said).toContain(problem);
      expect(said).not.toContain(secretText);
      expect(said).not.toContain(secretText.slice(0, 8));
    },
  );

  it('an unsigned make_call request is still 403 while the configuration is broken', async () => {
    endpoint.behaviour = { secretString: 'not json' };
    const svc = service();

    const response = await svc.call({ params: { to: '+14155552671' }, signature: 'none' });

    expect(response.statusCode).toBe(403);
  });

  it('a bad edit of the secret after a good read keeps the good secrets serving', async () => {
    const svc = service();
    await svc.allAnswer();
    endpoint.behaviour = { secretString: JSON.stringify({ ...STORED, JWT_SECRET: 'short' }) };
    svc.clock.advance(301_000);

    await svc.allAnswer();
    await svc.allAnswer();

    expect(svc.alerts.map((a) => a.errorMsg)).toContain('Secret store cannot be read: serving the last good secrets');
    expect(JSON.stringify(svc.alerts)).toContain('JWT_SECRET must be at least 16 characters long');
  });
});

describe('a changed secret', () => {
  it('past its TTL a value is refreshed before it is served: a changed secret is live within SECRETS_CACHE_TTL', async () => {
    const previousJwtSecret = 'previous-portal-jwt-secret-7e2b90c4';
    const secondaryAuthToken = 'secondary-auth-token-3f8c1d57a2e9';
    endpoint.behaviour = { secretString: JSON.stringify({ ...STORED, JWT_PREVIOUS_SECRET: previousJwtSecret }) };
    const svc = service();
    const signedWithPrevious = `Bearer ${legacyPortalToken(42, previousJwtSecret)}`;
    const signedWithSecondary = { params: { to: '+14155552671' }, token: secondaryAuthToken };
    expect((await svc.authorize(signedWithPrevious)).isAuthorized).toBe(true);
    expect((await svc.call(signedWithSecondary)).statusCode).toBe(403);
    // The previous JWT secret revoked, and a secondary Auth Token added for Twilio to promote.
    endpoint.behaviour = {
      secretString: JSON.stringify({ ...STORED, TWILIO_SECONDARY_AUTH_TOKEN: secondaryAuthToken }),
    };
    svc.clock.advance(300_000);

    const revoked = await svc.authorize(signedWithPrevious);
    const promoted = await svc.call(signedWithSecondary);

    expect(revoked).toEqual({ isAuthorized: false });
    expect(promoted.body).toContain('<Dial');
    expect(svc.metrics).not.toContain('SecretStale');
  });
});

/** Lets the refresh that a request started behind it finish: the endpoint has answered, and the SDK has read it. */
async function settle() {
  await reads.settled();
}

describe('the store going down after a good read', () => {
  it('past the TTL every route waits for the refresh, bounded by the store deadline; then, during the outage, none waits', async () => {
    const svc = service();
    await svc.allAnswer();
    endpoint.requests.length = 0;
    endpoint.behaviour = 'hang';
    svc.clock.advance(300_001);

    // One request to each route at once, each waiting for its function's refresh: the SDK gives up
    // on the answer after 3 s, inside the store deadline (STORE_DEADLINE_MS, 4 s).
    const started = performance.now();
    const [allowed, token, call] = await Promise.all([svc.authorize(), svc.token(), svc.call()]);
    const waited = performance.now() - started;

    expect(waited).toBeGreaterThanOrEqual(2_900);
    expect(waited).toBeLessThan(5_000);
    expect(allowed.isAuthorized).toBe(true);
    expect(token.statusCode).toBe(200);
    expect(call.body).toContain('<Dial');
    expect(endpoint.requests).toHaveLength(3);
    for (let i = 0; i < 10; i++) {
      svc.clock.advance(2_000);
      expect(await timed(() => svc.allAnswer())).toBeLessThan(500);
    }

    expect(endpoint.requests).toHaveLength(3);
    const staleAlerts = svc.alerts.filter((a) => a.errorMsg.includes('serving the last good secrets'));
    expect(staleAlerts).toHaveLength(3); // one per function
    expect(svc.metrics.filter((m) => m === 'SecretStale')).toHaveLength(3 * 11);
  });

  it('100 concurrent requests past the TTL cause at most one GetSecretValue per function', async () => {
    const svc = service();
    await svc.allAnswer();
    endpoint.requests.length = 0;
    svc.clock.advance(300_001);

    await Promise.all(Array.from({ length: 100 }, () => svc.token()));
    await Promise.all(Array.from({ length: 100 }, () => svc.authorize()));
    await settle();

    expect(endpoint.requests).toHaveLength(2);
  });

  it('keeps serving stale for SECRETS_MAX_STALE, retrying at most every 30 s, with one alert and SecretStale', async () => {
    const svc = service();
    await svc.allAnswer();
    endpoint.behaviour = { error: 'InternalServiceError', status: 500 };
    endpoint.requests.length = 0;
    svc.clock.advance(300_001);

    // Ten minutes of traffic, a request to each route every 5 s.
    for (let second = 0; second < 600; second += 5) {
      expect(await timed(() => svc.allAnswer())).toBeLessThan(500);
      await settle();
      svc.clock.advance(5_000);
    }

    // Per function at most one attempt per 30 s: 20 in 600 s, so 60 for three.
    expect(endpoint.requests.length).toBeLessThanOrEqual(3 * 21);
    expect(endpoint.requests.length).toBeGreaterThanOrEqual(3 * 19);
    const staleAlerts = svc.alerts.filter((a) => a.errorMsg.includes('serving the last good secrets'));
    expect(staleAlerts).toHaveLength(3); // one per function
    expect(svc.metrics.filter((m) => m === 'SecretStale').length).toBeGreaterThan(100);
  });

  it('past SECRETS_MAX_STALE answers try-later, and recovers by itself when the store is back', async () => {
    const svc = service();
    await svc.allAnswer();
    endpoint.behaviour = { error: 'AccessDeniedException', status: 400 };
    svc.clock.advance(300_001 + 900_000);

    await expectTryLater(svc);
    endpoint.behaviour = GOOD;
    svc.clock.advance(5_000);
    await svc.allAnswer();

    expect(svc.logs.entries.map((e) => e.message)).toContain('Secrets read again after failures');
  });

  it('past SECRETS_MAX_STALE the alert still reaches Slack: at the URL the last good secret gave (the URL is in the secret)', async () => {
    const slack = await startSlackReceiver();
    try {
      endpoint.behaviour = { secretString: JSON.stringify({ ...STORED, SLACK_WEBHOOK_URL: slack.url }) };
      let time = 1_000_000;
      const log = recordingLog();
      const call = makeCall.createHandler({
        log,
        alert: slackAlertSender(log),
        alertGate: alertGate(() => time),
        config: configLoader(FUNCTION_FIELDS.makeCall, ENV, { now: () => time, check: dialPolicyProblems }),
        allowUnsignedRequests: false,
      });
      const request = () => call(callEvent({ params: { to: '+14155552671', From: `client:${APP_SID}_uid42` } }));
      expect((await request()).body).toContain('<Dial');
      endpoint.behaviour = { error: 'AccessDeniedException', status: 400 };
      time += 300_001 + 900_000;

      expect((await request()).body).toBe(TRY_LATER);

      expect(slack.received.map((r) => JSON.stringify(r.body))).toEqual([
        expect.stringContaining('Secret store cannot be read and no good secrets are left'),
      ]);
    } finally {
      await slack.close();
    }
  });

  it('comes back: the next refresh after 30 s takes the new value, and the recovery is logged', async () => {
    const svc = service();
    await svc.allAnswer();
    endpoint.behaviour = { error: 'ThrottlingException', status: 400 };
    svc.clock.advance(300_001);
    await svc.allAnswer();
    await settle();
    endpoint.behaviour = GOOD;
    endpoint.requests.length = 0;
    svc.clock.advance(30_000);

    await svc.allAnswer();
    await settle();
    svc.clock.advance(1_000);
    await svc.allAnswer();

    expect(endpoint.requests).toHaveLength(3);
    expect(svc.metrics.at(-1)).not.toBe('SecretStale');
    const recovered = svc.logs.entries.filter((e) => e.message === 'Secrets read again after failures');
    expect(recovered).toHaveLength(3);
  });
});
