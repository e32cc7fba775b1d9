import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEVELOPMENT_SETTINGS, localEnv, readDotEnv } from '../../infra/local/localEnv.js';
import { FIELDS, parseFields } from '../../lib/config.js';
import { FUNCTION_FIELDS } from '../../lib/functionFields.js';

describe('local settings: environment over .env over built-in development settings', () => {
  it('with nothing configured, uses development settings that pass validation for both functions', () => {
    const { env } = localEnv({}, {});

    expect(() => parseFields([...FUNCTION_FIELDS.callToken, ...FUNCTION_FIELDS.authorizer], env)).not.toThrow();
  });

  it('with nothing configured, names every setting that fell back to a development value', () => {
    const { developmentSettings } = localEnv({}, {});

    expect(developmentSettings).toEqual(Object.keys(DEVELOPMENT_SETTINGS));
  });

  it('uses obviously fake SIDs (zeros) for development', () => {
    const { env } = localEnv({}, {});

    expect(env.TWILIO_ACCOUNT_SID).toMatch(/^AC0+$/);
    expect(env.TWILIO_ML_APP_SID).toMatch(/^AP0+$/);
  });

  it('takes a value from .env over the development default', () => {
    const { env, developmentSettings } = localEnv({}, { JWT_SECRET: 'from-dot-env-jwt-secret' });

    expect(env.JWT_SECRET).toBe('from-dot-env-jwt-secret');
    expect(developmentSettings).not.toContain('JWT_SECRET');
  });

  it('takes a value from the environment over .env', () => {
    const { env } = localEnv({ JWT_SECRET: 'from-the-environment' }, { JWT_SECRET: 'from-dot-env-jwt-secret' });

    expect(env.JWT_SECRET).toBe('from-the-environment');
  });

  it('with SECRET_ID set, fills in no development secret (they must come from Secrets Manager)', () => {
    const { env } = localEnv({ SECRET_ID: 'voice/local' }, {});

    const secretsFilledIn = Object.keys(DEVELOPMENT_SETTINGS).filter(
      (name) => FIELDS[name as keyof typeof FIELDS].secret && env[name] !== undefined,
    );
    expect(secretsFilledIn).toEqual([]);
    expect(env.TWILIO_ACCOUNT_SID).toBe(DEVELOPMENT_SETTINGS.TWILIO_ACCOUNT_SID);
  });

  it('reads a .env file when present', () => {
    const dir = mkdtempSync(join(tmpdir(), 'voice-dotenv-'));
    writeFileSync(join(dir, '.env'), '# local\nTWILIO_TOKEN_TTL=600\nJWT_SECRET="quoted-jwt-secret-value"\n');

    const values = readDotEnv(join(dir, '.env'));

    expect(values).toMatchObject({ TWILIO_TOKEN_TTL: '600', JWT_SECRET: 'quoted-jwt-secret-value' });
  });

  it('reads nothing when there is no .env file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'voice-dotenv-'));

    expect(readDotEnv(join(dir, '.env'))).toEqual({});
  });
});
