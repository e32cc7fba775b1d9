/**
 * Secrets from AWS Secrets Manager through the real AWS SDK, pointed at a loopback
 * endpoint that speaks the GetSecretValue protocol; and from the environment without
 * SECRET_ID.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/callToken.js';
import { ConfigError } from '../../lib/config.js';
import { configLoader } from '../../lib/functionConfig.js';
import { FUNCTION_FIELDS } from '../../lib/functionFields.js';
import { parseSecretString, SecretStoreError, secretsFromEnv, secretsFromSecretsManager } from '../../lib/secrets.js';
import { recordingLog } from '../support/recordingLog.js';
import { useSecretsManagerEndpoint } from '../support/secretsManagerEndpoint.js';
import { callTokenEvent } from './events.js';
import { SETTINGS } from './settings.js';

const STORED = {
  TWILIO_API_KEY: `SK${'ab'.repeat(16)}`,
  TWILIO_API_KEY_SECRET: 'stored-api-key-secret-from-secrets-manager',
  JWT_SECRET: 'stored-jwt-secret-from-secrets-manager',
};
const OK = { secretString: JSON.stringify(STORED) };
const SECRET_ID = 'voice/test';

const endpoint = useSecretsManagerEndpoint(OK);
beforeEach(() => {
  endpoint.behaviour = OK;
  endpoint.requests.length = 0;
});

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  let time = start;
  return { now: () => time, advance: (ms: number) => (time += ms) };
}

describe('reading the secret named by SECRET_ID', () => {
  it('returns the SecretString JSON read through the AWS SDK', async () => {
    const source = secretsFromSecretsManager(SECRET_ID);

    const values = await source();

    expect(values).toEqual(STORED);
  });

  it('asks for that secret with GetSecretValue', async () => {
    await secretsFromSecretsManager(SECRET_ID)();

    expect(endpoint.requests).toEqual([{ target: 'secretsmanager.GetSecretValue', secretId: SECRET_ID }]);
  });

  it('gives a function its secrets from Secrets Manager and its settings from the environment', async () => {
    const env = { ...SETTINGS, SECRET_ID, TWILIO_API_KEY: undefined, TWILIO_API_KEY_SECRET: undefined };
    const load = configLoader(FUNCTION_FIELDS.callToken, env);

    const config = await load();

    expect(config).toMatchObject({
      TWILIO_API_KEY: STORED.TWILIO_API_KEY,
      TWILIO_API_KEY_SECRET: STORED.TWILIO_API_KEY_SECRET,
      TWILIO_ML_APP_SID: SETTINGS.TWILIO_ML_APP_SID,
    });
  });

  it('prefers the stored secret over one in the environment when SECRET_ID is set', async () => {
    const env = { ...SETTINGS, SECRET_ID };

    const config = await configLoader(FUNCTION_FIELDS.callToken, env)();

    expect(config.TWILIO_API_KEY_SECRET).toBe(STORED.TWILIO_API_KEY_SECRET);
  });

  it('fails with a SecretStoreError when the store answers an error', async () => {
    endpoint.behaviour = { error: 'AccessDeniedException', status: 400 };

    const result = secretsFromSecretsManager(SECRET_ID)();

    await expect(result).rejects.toBeInstanceOf(SecretStoreError);
  });

  it('makes callToken answer 503 "temporarily unavailable" when the store fails', async () => {
    endpoint.behaviour = { error: 'InternalServiceError', status: 500 };
    const env = { ...SETTINGS, SECRET_ID, TWILIO_API_KEY: undefined, TWILIO_API_KEY_SECRET: undefined };
    const handler = createHandler({
      config: configLoader(FUNCTION_FIELDS.callToken, env),
      log: recordingLog(),
      alert: async () => undefined,
    });

    const response = await handler(callTokenEvent());

    expect(response.statusCode).toBe(503);
    expect(response.body).toBe('{"status":"fail","error":{"code":99999,"msg":"Service temporarily unavailable"}}');
  });

  it('reduces an SDK error to its name and HTTP status: the parser would quote an answer that is not JSON', async () => {
    endpoint.behaviour = { raw: 'hunter2-secret-looking-proxy-page', status: 502 };

    const message = await secretsFromSecretsManager(SECRET_ID)().catch((error: Error) => error.message);

    expect(message).toMatch(/^Reading the secret named by SECRET_ID failed: \w+ \(HTTP 502\)$/);
    expect(message).not.toContain('hunter2');
  });

  it('reads again at once on a new connection when the kept-alive one was found closed (as across a freeze)', async () => {
    endpoint.behaviour = { closeReusedConnections: OK };
    const source = secretsFromSecretsManager(SECRET_ID);
    await source();
    // The SDK puts the answered connection back in its pool on the next turn; the next read takes it.
    await new Promise((resolve) => setImmediate(resolve));

    const values = await source();

    expect(values).toEqual(STORED);
    expect(endpoint.requests).toHaveLength(3);
  });

  it('a connection that breaks again is not tried a third time: two requests, then a SecretStoreError', async () => {
    endpoint.behaviour = 'reset';

    const result = secretsFromSecretsManager(SECRET_ID)();

    await expect(result).rejects.toBeInstanceOf(SecretStoreError);
    expect(endpoint.requests).toHaveLength(2);
  });

  it('an answer cut off partway through its body is not read again: the store has acted on the request', async () => {
    endpoint.behaviour = 'cut-off';

    const result = secretsFromSecretsManager(SECRET_ID)();

    await expect(result).rejects.toBeInstanceOf(SecretStoreError);
    expect(endpoint.requests).toHaveLength(1);
  });

  it('an error answer, or none within the request timeout, is not read again: retries are the cache’s', async () => {
    for (const behaviour of [{ error: 'InternalServiceError', status: 500 }, 'hang'] as const) {
      endpoint.behaviour = behaviour;
      endpoint.requests.length = 0;

      const result = secretsFromSecretsManager(SECRET_ID, { requestTimeoutMs: 200 })();

      await expect(result).rejects.toBeInstanceOf(SecretStoreError);
      expect(endpoint.requests).toHaveLength(1);
    }
  });

  it('gives up on an endpoint that never answers within a few seconds, not a minute', async () => {
    endpoint.behaviour = 'hang';
    const started = performance.now();

    const result = secretsFromSecretsManager(SECRET_ID)();

    await expect(result).rejects.toBeInstanceOf(SecretStoreError);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});

describe('caching', () => {
  it('makes no second request within the cache TTL', async () => {
    const clock = manualClock();
    const load = configLoader(FUNCTION_FIELDS.authorizer, { SECRET_ID }, { now: clock.now });
    await load();
    clock.advance(299_000);

    const config = await load();

    expect(config.JWT_SECRET).toBe(STORED.JWT_SECRET);
    expect(endpoint.requests).toHaveLength(1);
  });

  it('past its TTL a value is refreshed before it is served: a changed secret is live within SECRETS_CACHE_TTL', async () => {
    const clock = manualClock();
    const load = configLoader(FUNCTION_FIELDS.authorizer, { SECRET_ID }, { now: clock.now });
    await load();
    const rotated = { ...STORED, JWT_SECRET: 'rotated-jwt-secret-from-secrets-manager' };
    endpoint.behaviour = { delayMs: 200, answer: { secretString: JSON.stringify(rotated) } };
    clock.advance(300_000);

    const late = await load();

    expect(late.JWT_SECRET).toBe(rotated.JWT_SECRET);
    expect(endpoint.requests).toHaveLength(2);
  });

  it('shares one request among concurrent first callers', async () => {
    const load = configLoader(FUNCTION_FIELDS.authorizer, { SECRET_ID });

    await Promise.all([load(), load(), load()]);

    expect(endpoint.requests).toHaveLength(1);
  });

  it('honours SECRETS_CACHE_TTL (0: every request reads the store before it is served)', async () => {
    const load = configLoader(FUNCTION_FIELDS.authorizer, { SECRET_ID, SECRETS_CACHE_TTL: '0' });

    await load();
    await load();

    expect(endpoint.requests).toHaveLength(2);
  });
});

describe('a malformed SecretString is rejected without quoting it', () => {
  const secretText = 'hunter2-very-secret-text';

  it.each([
    ['not JSON', `JWT_SECRET=${secretText}`],
    ['a JSON string', JSON.stringify(secretText)],
    ['a JSON array', JSON.stringify([secretText])],
    ['JSON null', 'null'],
    ['an object with an unknown key', JSON.stringify({ ...STORED, JWT_SECERT: secretText })],
    ['an object with a non-string value', JSON.stringify({ ...STORED, JWT_SECRET: { value: secretText } })],
    ['an object with a numeric value', JSON.stringify({ ...STORED, TWILIO_AUTH_TOKEN: 1234567890123456 })],
  ])('rejects a SecretString that is %s with a ConfigError', (_kind, secretString) => {
    expect(() => parseSecretString(secretString)).toThrow(ConfigError);
  });

  it.each([
    ['not JSON', `JWT_SECRET=${secretText}`],
    ['an object with an unknown key', JSON.stringify({ JWT_SECERT: secretText })],
    ['an object with a non-string value', JSON.stringify({ JWT_SECRET: [secretText] })],
  ])('never puts the secret text in the message when the SecretString is %s', (_kind, secretString) => {
    let message = '';
    try {
      parseSecretString(secretString);
    } catch (error) {
      message = (error as Error).message;
    }

    expect(message).toMatch(/SecretString|secret/);
    expect(message).not.toContain('hunter2');
  });

  it('counts unknown keys without naming them (a key may be a pasted value) and lists the known ones', () => {
    const parse = () => parseSecretString(JSON.stringify({ JWT_SECERT: secretText, [secretText]: 'x' }));

    expect(parse).toThrow(/2 unknown keys/);
    expect(parse).toThrow(/JWT_SECRET, JWT_PREVIOUS_SECRET/);
    expect(parse).not.toThrow(/JWT_SECERT|hunter2/);
  });

  it('names the key whose value is not a string', () => {
    expect(() => parseSecretString(JSON.stringify({ JWT_SECRET: 42 }))).toThrow(/JWT_SECRET/);
  });

  it('rejects a non-JSON SecretString read through the AWS SDK without quoting it', async () => {
    endpoint.behaviour = { secretString: `{ JWT_SECRET: ${secretText} }` };

    const result = secretsFromSecretsManager(SECRET_ID)();

    await expect(result).rejects.toThrow(ConfigError);
    await expect(result).rejects.not.toThrow(/hunter2/);
  });
});

describe('without SECRET_ID', () => {
  it('reads the secrets from the environment', async () => {
    const values = await secretsFromEnv({ JWT_SECRET: 'env-jwt-secret-value-123' })();

    expect(values.JWT_SECRET).toBe('env-jwt-secret-value-123');
  });

  it('makes no request to Secrets Manager', async () => {
    const load = configLoader(FUNCTION_FIELDS.callToken, SETTINGS);

    const config = await load();

    expect(config.TWILIO_API_KEY_SECRET).toBe(SETTINGS.TWILIO_API_KEY_SECRET);
    expect(endpoint.requests).toHaveLength(0);
  });

  it('reads only secret names from the environment, not other variables', async () => {
    const values = await secretsFromEnv({ JWT_SECRET: 'env-jwt-secret-value-123', HOME: '/root' })();

    expect(Object.keys(values)).not.toContain('HOME');
  });
});
