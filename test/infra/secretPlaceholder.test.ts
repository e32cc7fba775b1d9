/**
 * The stack-created secret's placeholder does not follow the secret keys in code: with a
 * secret key added (lib/config.ts mocked), the template's SecretString is still byte for
 * byte the frozen one, so that deploy would not rewrite (wipe) the filled secret.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { FIELDS, SECRET_NAMES } from '../../lib/config.js';
import { removeOutdirs, synth } from './stackFixture.js';

vi.mock('../../lib/config.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../lib/config.js')>();
  const added = { secret: true, parse: actual.FIELDS.JWT_SECRET.parse };
  return {
    ...actual,
    FIELDS: { ...actual.FIELDS, SOME_NEW_SECRET: added },
    SECRET_NAMES: [...actual.SECRET_NAMES, 'SOME_NEW_SECRET'],
  };
});

afterAll(removeOutdirs);

/** Written out, not imported from the stack: what deployed templates hold. */
const FROZEN_PLACEHOLDER =
  '{"TWILIO_API_KEY":"","TWILIO_API_KEY_SECRET":"","TWILIO_AUTH_TOKEN":"","TWILIO_SECONDARY_AUTH_TOKEN":"",' +
  '"JWT_SECRET":"","JWT_PREVIOUS_SECRET":"","SLACK_WEBHOOK_URL":""}';

describe('secret placeholder', () => {
  it('stays byte for byte the frozen string when the secret keys in code change', () => {
    // The mock is in force: the code knows one more secret key than the placeholder has.
    expect(SECRET_NAMES).toContain('SOME_NEW_SECRET');
    expect(Object.keys(FIELDS)).toContain('SOME_NEW_SECRET');

    const secrets = Object.values(synth().template.findResources('AWS::SecretsManager::Secret'));
    expect(secrets).toHaveLength(1);
    expect(secrets[0]?.Properties.SecretString).toBe(FROZEN_PLACEHOLDER);
  }, 60_000);
});
