/**
 * errorLocation on frames in .ts files (as tests, tsx and `npm start` run the code) and on
 * stacks it cannot use: it names a TypeScript file and line, prefers our own code, never
 * shows a message, never throws. Minified frames, as deployed: bundleErrors.test.ts.
 */
import { describe, expect, it } from 'vitest';
import * as authorizer from '../../functions/authorizer.js';
import * as callEvents from '../../functions/callEvents.js';
import * as callToken from '../../functions/callToken.js';
import * as makeCall from '../../functions/makeCall.js';
import { makeCallConfig } from '../../lib/callWebhook.js';
import { errorLocation } from '../../lib/errorLocation.js';
import { configLoader } from '../../lib/functionConfig.js';
import { FUNCTION_FIELDS } from '../../lib/functionFields.js';
import { describeError } from '../../lib/log.js';
import { noMetrics } from '../../lib/metrics.js';
import { webhookRequest } from '../../lib/twilioWebhook.js';
import { parseWebhookBody } from '../../lib/webhookBody.js';
import { POLICY_ENV, webhookEvent } from '../call/harness.js';
import { legacyPortalToken } from '../support/portalTokens.js';
import { recordingLog } from '../support/recordingLog.js';
import { sourceAt } from '../support/sourceLocation.js';
import { authorizerRequest } from '../token/events.js';
import { SETTINGS as TOKEN_SETTINGS } from '../token/settings.js';

const thrown = (run: () => unknown): unknown => {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('did not throw');
};

describe('errorLocation on .ts frames', () => {
  it('names the line of a test file that threw, project-relative', () => {
    const error = new Error('boom'); // this line, at `new`
    const { path, at } = sourceAt(errorLocation(error));
    expect(path).toBe('test/observability/errorLocation.test.ts');
    expect(at).toBe("new Error('boom'); // this line, at `new`");
  });

  it('prefers our own code in lib/ to the test that called it', () => {
    const error = thrown(() => webhookRequest({} as never));
    const { path, at } = sourceAt(errorLocation(error));
    expect(path).toBe('lib/twilioWebhook.ts');
    expect(at).toMatch(/^split\(/); // `event.routeKey.split(…)` on an event with no routeKey
  });

  it('skips a frame in Node’s internals for the lib/ frame that called it', () => {
    const error = thrown(() =>
      parseWebhookBody({ body: {} as never, isBase64Encoded: false, contentType: 'application/x-www-form-urlencoded' }),
    );
    expect((error as Error).stack?.split('\n')[1]).toContain('node:');
    const { path, text } = sourceAt(errorLocation(error));
    expect(path).toBe('lib/webhookBody.ts');
    expect(text).toContain('Buffer.byteLength(body');
  });

  it('never shows the message, even one that looks like a stack frame', () => {
    const message = 'secret sk_live_123\n    at fake (/etc/secret-path.ts:1:1)';
    const location = errorLocation(new Error(message));
    expect(location).toMatch(/^test\/observability\/errorLocation\.test\.ts:\d+:\d+$/);
    expect(describeError(new TypeError(message)).location).toMatch(/^test\/observability\/errorLocation\.test\.ts:/);
  });

  it('gives nothing, and never throws, for values without a usable stack', () => {
    const throwingStack = new Error('x');
    Object.defineProperty(throwingStack, 'stack', {
      get() {
        throw new Error('no stack for you');
      },
    });
    const noFrames = Object.assign(new Error('x'), { stack: 'Error: x' });
    for (const value of [
      undefined,
      null,
      'a string',
      42,
      { stack: '    at f (/x/lib/y.ts:1:2)' },
      throwingStack,
      noFrames,
    ]) {
      expect(errorLocation(value)).toBeUndefined();
    }
    expect(describeError('a string')).toEqual({ name: 'NonError', message: 'string', location: 'unknown' });
  });
});

describe('handlers log where an unexpected error was thrown (and only then)', () => {
  const deps = () => ({ log: recordingLog(), alert: async () => undefined, metrics: noMetrics });
  const post = (path: string) => {
    const event = webhookEvent(path, { params: { CallStatus: 'completed' } });
    return { ...event, headers: { ...event.headers, 'x-forwarded-proto': 1 as never } };
  };

  it.each([
    ['make_call', '/api/v1/make_call', 200], // "try again later", spoken
    ['call_status', '/api/v1/call_status', 503], // Twilio retries
  ])(
    '%s: the catch-all failure line carries the location; Twilio still gets the route’s answer',
    async (_name, path, status) => {
      const d = deps();
      const handler = path.endsWith('make_call')
        ? makeCall.createHandler({ ...d, config: makeCallConfig(POLICY_ENV), allowUnsignedRequests: false })
        : callEvents.createHandler({
            ...d,
            config: configLoader(FUNCTION_FIELDS.callEvents, POLICY_ENV),
            allowUnsignedRequests: false,
          });
      const response = await handler(post(path));
      expect(response.statusCode).toBe(status);
      const failure = d.log.entries.find((e) => e.message === 'Configuration invalid');
      expect(failure?.attributes?.reason).toBe('TypeError (unexpected)');
      const { path: file, at } = sourceAt(failure?.attributes?.location as string);
      expect(file).toBe('lib/twilioSignature.ts');
      expect(at).toMatch(/^split\(/);
    },
  );

  it('a bad setting (ConfigError) is expected: its line names the setting and has no location', async () => {
    const d = deps();
    await expect(
      authorizer.createHandler({ ...d, config: configLoader(FUNCTION_FIELDS.authorizer, {}) })(
        // A well-formed token: a header that cannot be one is denied before the configuration is read.
        authorizerRequest(`Bearer ${legacyPortalToken(42, 'any-portal-jwt-secret-0001')}`),
      ),
    ).rejects.toThrow();
    expect(d.log.entries.map((e) => [e.message, e.attributes?.location])).toEqual([
      ['Configuration invalid', undefined],
    ]);
  });

  it('an error a handler lets escape is logged once with its location, then rethrown', async () => {
    const d = deps();
    const handler = callToken.createHandler({ ...d, config: configLoader(FUNCTION_FIELDS.callToken, TOKEN_SETTINGS) });
    await expect(handler({} as never)).rejects.toThrow(TypeError);
    expect(d.log.entries.map((e) => [e.level, e.message, e.attributes?.reason])).toEqual([
      ['error', 'Invocation failed', 'TypeError'],
    ]);
    const { path, text } = sourceAt(d.log.entries[0]?.attributes?.location as string);
    expect(path).toBe('functions/callToken.ts');
    expect(text).toContain('event.requestContext.authorizer');
  });
});
