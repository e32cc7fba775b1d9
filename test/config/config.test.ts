import { describe, expect, it } from 'vitest';
import { ConfigError, type Env, type FieldName, parseFields } from '../../lib/config.js';
import { configLoader } from '../../lib/functionConfig.js';
import { FUNCTION_FIELDS } from '../../lib/functionFields.js';

/** The problems parseFields reports for these values, or [] when it accepts them. */
function problems(names: readonly FieldName[], values: Env): readonly string[] {
  try {
    parseFields(names, values);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

const HEX32 = '0123456789abcdef'.repeat(2);

describe('Twilio SIDs: a prefix followed by 32 hex digits', () => {
  it.each([
    ['TWILIO_ACCOUNT_SID', 'AC'],
    ['TWILIO_ML_APP_SID', 'AP'],
    ['TWILIO_ML_APNS_CERT_SID', 'CR'],
    ['TWILIO_ML_FCM_CERT_SID', 'CR'],
    ['TWILIO_API_KEY', 'SK'],
  ] as const)('%s accepts "%s" + 32 hex digits, in either case', (name, prefix) => {
    expect(problems([name], { [name]: `${prefix}${HEX32.toUpperCase()}` })).toEqual([]);
    expect(problems([name], { [name]: `${prefix}${HEX32}` })).toEqual([]);
  });

  it.each([
    ['TWILIO_ACCOUNT_SID', 'AC', `AP${HEX32}`],
    ['TWILIO_ML_APP_SID', 'AP', `AP${HEX32.slice(1)}`],
    ['TWILIO_ML_APP_SID', 'AP', `AP${HEX32}0`],
    ['TWILIO_ML_APP_SID', 'AP', `ap${HEX32}`],
    ['TWILIO_ML_APNS_CERT_SID', 'CR', `CR${HEX32.slice(2)}zz`],
    ['TWILIO_ML_FCM_CERT_SID', 'CR', `XX${HEX32}`],
    ['TWILIO_API_KEY', 'SK', `SK-${HEX32}`],
  ] as const)('%s rejects a malformed value with "must be "%s" followed by 32 hex digits"', (name, prefix, value) => {
    const reported = problems([name], { [name]: value });

    expect(reported).toEqual([`${name} must be "${prefix}" followed by 32 hex digits`]);
  });

  it('reports the issue\'s own example: TWILIO_ML_APP_SID must be "AP" followed by 32 hex digits', () => {
    expect(() => parseFields(['TWILIO_ML_APP_SID'], { TWILIO_ML_APP_SID: 'AP123' })).toThrow(
      'TWILIO_ML_APP_SID must be "AP" followed by 32 hex digits',
    );
  });
});

describe('validation errors name the setting and never its value', () => {
  it.each([
    ['TWILIO_ACCOUNT_SID', 'ACvalue-not-to-leak'],
    ['TWILIO_ML_APP_SID', 'APvalue-not-to-leak'],
    ['TWILIO_ML_APNS_CERT_SID', 'CRvalue-not-to-leak'],
    ['TWILIO_ML_FCM_CERT_SID', 'CRvalue-not-to-leak'],
    ['TWILIO_FROM', 'value-not-to-leak'],
    ['TWILIO_CALL_TIME_LIMIT', '99value-not-to-leak'],
    ['TWILIO_TOKEN_TTL', '99value-not-to-leak'],
    ['PUBLIC_BASE_URL', 'value-not-to-leak'],
    ['TWILIO_API_KEY', 'SKvalue-not-to-leak'],
    ['TWILIO_API_KEY_SECRET', 'value-not-to'],
    ['TWILIO_AUTH_TOKEN', 'value-not-to'],
    ['JWT_SECRET', 'value-not-to'],
    ['JWT_PREVIOUS_SECRET', 'value-not-to'],
    ['SLACK_WEBHOOK_URL', 'value-not-to-leak'],
  ] as const)('%s: the error names it and does not contain the value', (name, value) => {
    let error: unknown;
    try {
      parseFields([name], { [name]: value });
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([expect.stringMatching(new RegExp(`^${name} `))]);
    expect((error as ConfigError).message).toContain(name);
    expect((error as ConfigError).message).not.toContain(value);
  });

  it('reports every problem at once, each naming its setting', () => {
    const reported = problems(['TWILIO_ACCOUNT_SID', 'TWILIO_FROM', 'JWT_SECRET'], {
      TWILIO_ACCOUNT_SID: 'AC1',
      TWILIO_FROM: '555',
    });

    expect(reported.map((p) => p.split(' ')[0])).toEqual(['TWILIO_ACCOUNT_SID', 'TWILIO_FROM', 'JWT_SECRET']);
  });
});

describe('required settings and secrets have no default', () => {
  it.each([
    'TWILIO_ACCOUNT_SID',
    'TWILIO_ML_APP_SID',
    'TWILIO_ML_APNS_CERT_SID',
    'TWILIO_ML_FCM_CERT_SID',
    'TWILIO_FROM',
    'TWILIO_API_KEY',
    'TWILIO_API_KEY_SECRET',
    'JWT_SECRET',
  ] as const)('%s: missing is an error that says it is required', (name) => {
    expect(problems([name], {})).toEqual([`${name} is required but not set`]);
  });

  it('treats a blank value as missing', () => {
    expect(problems(['JWT_SECRET'], { JWT_SECRET: '   ' })).toEqual(['JWT_SECRET is required but not set']);
  });

  it('gives callToken no default for any SID or secret: with an empty environment every one is reported', () => {
    const reported = problems(FUNCTION_FIELDS.callToken, {}).map((p) => p.split(' ')[0]);

    expect(reported).toEqual(
      expect.arrayContaining([
        'TWILIO_ACCOUNT_SID',
        'TWILIO_ML_APP_SID',
        'TWILIO_ML_APNS_CERT_SID',
        'TWILIO_ML_FCM_CERT_SID',
        'TWILIO_API_KEY',
        'TWILIO_API_KEY_SECRET',
      ]),
    );
  });

  it('gives the authorizer no default JWT_SECRET', () => {
    expect(problems(FUNCTION_FIELDS.authorizer, {})).toEqual(['JWT_SECRET is required but not set']);
  });
});

describe('optional settings', () => {
  it.each(['JWT_PREVIOUS_SECRET', 'SLACK_WEBHOOK_URL', 'SECRET_ID', 'PUBLIC_BASE_URL'] as const)(
    '%s may be left unset',
    (name) => {
      expect(parseFields([name], {})[name]).toBeUndefined();
    },
  );
});

describe('TWILIO_CALL_TIME_LIMIT: seconds, a whole number from 1 to 14400, default 3600', () => {
  it('defaults to 3600', () => {
    expect(parseFields(['TWILIO_CALL_TIME_LIMIT'], {}).TWILIO_CALL_TIME_LIMIT).toBe(3600);
  });

  it.each([
    ['1', 1],
    ['14400', 14400],
    ['600', 600],
  ])('accepts %s', (raw, value) => {
    expect(parseFields(['TWILIO_CALL_TIME_LIMIT'], { TWILIO_CALL_TIME_LIMIT: raw }).TWILIO_CALL_TIME_LIMIT).toBe(value);
  });

  it.each(['0', '14401', '-1', '1.5', '1e3', '3600s', 'abc'])('rejects %s, naming the setting', (raw) => {
    expect(problems(['TWILIO_CALL_TIME_LIMIT'], { TWILIO_CALL_TIME_LIMIT: raw })).toEqual([
      expect.stringMatching(/^TWILIO_CALL_TIME_LIMIT must be a whole number from 1 to 14400$/),
    ]);
  });
});

describe('TWILIO_TOKEN_TTL: seconds, a whole number from 60 to 86400, default 3600', () => {
  it('defaults to 3600', () => {
    expect(parseFields(['TWILIO_TOKEN_TTL'], {}).TWILIO_TOKEN_TTL).toBe(3600);
  });

  it.each([
    ['60', 60],
    ['86400', 86400],
  ])('accepts %s', (raw, value) => {
    expect(parseFields(['TWILIO_TOKEN_TTL'], { TWILIO_TOKEN_TTL: raw }).TWILIO_TOKEN_TTL).toBe(value);
  });

  it.each(['59', '86401', '0', '-60', '3600.0', 'one hour'])('rejects %s, naming the setting', (raw) => {
    expect(problems(['TWILIO_TOKEN_TTL'], { TWILIO_TOKEN_TTL: raw })).toEqual([
      'TWILIO_TOKEN_TTL must be a whole number from 60 to 86400',
    ]);
  });
});

describe('TWILIO_FROM: an E.164 caller ID', () => {
  it('accepts +15005550006', () => {
    expect(parseFields(['TWILIO_FROM'], { TWILIO_FROM: '+15005550006' }).TWILIO_FROM).toBe('+15005550006');
  });

  it.each(['15005550006', '+0123456789', '+1 500 555 0006', '+1234567890123456'])('rejects %s', (raw) => {
    expect(problems(['TWILIO_FROM'], { TWILIO_FROM: raw })).toEqual([expect.stringMatching(/^TWILIO_FROM must be/)]);
  });
});

describe('secret cache TTL', () => {
  it('defaults SECRETS_CACHE_TTL to 300 s', () => {
    expect(parseFields(['SECRETS_CACHE_TTL'], {}).SECRETS_CACHE_TTL).toBe(300);
  });
});

describe('secret lengths', () => {
  it.each(['JWT_SECRET', 'TWILIO_API_KEY_SECRET'] as const)('%s rejects fewer than 16 characters', (name) => {
    expect(problems([name], { [name]: 'x'.repeat(15) })).toEqual([expect.stringMatching(new RegExp(`^${name} must`))]);
    expect(problems([name], { [name]: 'x'.repeat(16) })).toEqual([]);
  });
});

describe('configLoader: validation when config is first loaded', () => {
  it('does not throw when made with a bad setting (the container still starts)', () => {
    expect(() => configLoader(FUNCTION_FIELDS.callToken, { TWILIO_ML_APP_SID: 'bad' })).not.toThrow();
  });

  it('rejects every load with the ConfigError naming the bad setting', async () => {
    const load = configLoader(FUNCTION_FIELDS.authorizer, { JWT_SECRET: 'short' });

    await expect(load()).rejects.toThrow(/JWT_SECRET must be at least 16 characters/);
    await expect(load()).rejects.toThrow(ConfigError);
  });

  it('loads only the fields the function names', async () => {
    const config = await configLoader(FUNCTION_FIELDS.authorizer, {
      JWT_SECRET: 'a-valid-jwt-secret-value',
      TWILIO_ML_APP_SID: 'not checked by the authorizer',
    })();

    expect(Object.keys(config).sort()).toEqual([
      'JWT_AUDIENCE',
      'JWT_ISSUER',
      'JWT_MAX_TTL',
      'JWT_PREVIOUS_SECRET',
      'JWT_SECRET',
      'SLACK_WEBHOOK_URL',
    ]);
  });
});

describe('the call limits’ defaults, as the README documents them', () => {
  it('10 phone calls an hour, 30 a day, 1 at a time, 60 app-to-app calls an hour, 100 phone calls a minute service-wide, fail-open', () => {
    expect(
      parseFields(
        [
          'MAX_PHONE_CALLS_PER_HOUR',
          'MAX_PHONE_CALLS_PER_DAY',
          'MAX_CONCURRENT_PHONE_CALLS',
          'MAX_CLIENT_CALLS_PER_HOUR',
          'MAX_PHONE_CALLS_PER_MINUTE',
          'CALL_LIMITS_FAIL_CLOSED',
        ],
        {},
      ),
    ).toEqual({
      MAX_PHONE_CALLS_PER_HOUR: 10,
      MAX_PHONE_CALLS_PER_DAY: 30,
      MAX_CONCURRENT_PHONE_CALLS: 1,
      MAX_CLIENT_CALLS_PER_HOUR: 60,
      MAX_PHONE_CALLS_PER_MINUTE: 100,
      CALL_LIMITS_FAIL_CLOSED: false,
    });
  });
});
