/**
 * Synth-time settings: validated by the functions' own parsers plus the stack's knobs,
 * from context or the environment, every problem named, no value ever echoed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../infra/bundling.js';
import { ROUTES, routeKey } from '../../infra/routes.js';
import {
  environmentFields,
  FUNCTION_SETTING_NAMES,
  parseStackSettings,
  ROUTE_THROTTLES,
  STACK_DEFAULTS,
  STACK_KNOB_NAMES,
  STACK_PROVIDED,
  settingValues,
} from '../../infra/settings.js';
import { ConfigError, FIELDS, SECRET_NAMES } from '../../lib/config.js';
import { SETTINGS } from './stackFixture.js';

const problemsOf = (values: Record<string, string | undefined>) => {
  try {
    parseStackSettings(values);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

const context = (values: Record<string, unknown>) => ({ tryGetContext: (key: string) => values[key] });

describe('synth settings', () => {
  it('are the non-secret fields the functions read, except SECRET_ID and CALL_LIMITS_TABLE, which the stack sets', () => {
    expect(STACK_PROVIDED).toEqual(['SECRET_ID', 'CALL_LIMITS_TABLE']);
    expect([...FUNCTION_SETTING_NAMES].sort()).toEqual(
      [
        'ALLOWED_DIAL_COUNTRIES',
        'ANSWER_ON_BRIDGE',
        'BLOCKED_NUMBER_TYPES',
        'CALL_LIMITS_FAIL_CLOSED',
        'CALL_STATUS_CALLBACK',
        'DEFAULT_COUNTRY',
        'DIAL_ACTION',
        'DIAL_TIMEOUT',
        'EMERGENCY_NUMBERS',
        'JWT_AUDIENCE',
        'JWT_ISSUER',
        'JWT_MAX_TTL',
        'MAX_CLIENT_CALLS_PER_HOUR',
        'MAX_CONCURRENT_PHONE_CALLS',
        'MAX_PHONE_CALLS_PER_DAY',
        'MAX_PHONE_CALLS_PER_HOUR',
        'MAX_PHONE_CALLS_PER_MINUTE',
        'PUBLIC_BASE_URL',
        'SECRETS_CACHE_TTL',
        'SECRETS_MAX_STALE',
        'SUPPORT_NUMBER',
        'TWILIO_ACCOUNT_SID',
        'TWILIO_CALLER_IDS',
        'TWILIO_CALL_TIME_LIMIT',
        'TWILIO_FROM',
        'TWILIO_ML_APNS_CERT_SID',
        'TWILIO_ML_APP_SID',
        'TWILIO_ML_FCM_CERT_SID',
        'TWILIO_TOKEN_TTL',
      ].sort(),
    );
    for (const name of [...SECRET_NAMES, ...STACK_PROVIDED]) expect(FUNCTION_SETTING_NAMES).not.toContain(name);
    expect(environmentFields('authorizer')).toEqual([
      'JWT_ISSUER',
      'JWT_AUDIENCE',
      'JWT_MAX_TTL',
      'SECRET_ID',
      'SECRETS_CACHE_TTL',
      'SECRETS_MAX_STALE',
    ]);
    expect(environmentFields('callEvents')).toEqual([
      'TWILIO_ACCOUNT_SID',
      'TWILIO_ML_APP_SID',
      'PUBLIC_BASE_URL',
      'CALL_LIMITS_TABLE',
      'SECRET_ID',
      'SECRETS_CACHE_TTL',
      'SECRETS_MAX_STALE',
    ]);
  });

  it('accept the five required ones alone, with the documented defaults', () => {
    const settings = parseStackSettings(SETTINGS);
    expect(settings).toEqual({
      functionSettings: { ...SETTINGS, DIAL_ACTION: 'true', ANSWER_ON_BRIDGE: 'true', CALL_STATUS_CALLBACK: 'true' },
      stackName: 'VoiceService',
      authorizerCacheTtlSeconds: 300,
      throttle: { rateLimit: 50, burstLimit: 100 },
      routeThrottles: {
        'GET /api/v1/call_token': { rateLimit: 50, burstLimit: 100 },
        'POST /api/v1/make_call': { rateLimit: 20, burstLimit: 40 },
        'POST /api/v1/dial_status': { rateLimit: 20, burstLimit: 40 },
        'POST /api/v1/call_status': { rateLimit: 50, burstLimit: 100 },
      },
      logRetention: 30,
      callLimits: true,
    });
  });

  it('name every missing required setting at once', () => {
    expect(problemsOf({})).toEqual([
      'TWILIO_ACCOUNT_SID is required but not set',
      'TWILIO_ML_APP_SID is required but not set',
      'TWILIO_ML_APNS_CERT_SID is required but not set',
      'TWILIO_ML_FCM_CERT_SID is required but not set',
      'TWILIO_FROM is required but not set',
    ]);
  });

  it('name each malformed setting and knob, never quoting the value', () => {
    const bad = {
      ...SETTINGS,
      TWILIO_ML_APP_SID: 'APnot-a-sid-VALUE1',
      TWILIO_FROM: '555-VALUE2',
      PUBLIC_BASE_URL: 'ftp://VALUE3.example.com',
      SECRET_NAME: 'has spaces VALUE4',
      ALARM_EMAIL: 'VALUE5',
      AUTHORIZER_CACHE_TTL: '3601',
      API_THROTTLE_RATE: '0',
      API_THROTTLE_BURST: '1.5',
      CALL_TOKEN_THROTTLE_RATE: '0',
      CALL_TOKEN_THROTTLE_BURST: '-1',
      MAKE_CALL_THROTTLE_RATE: '10001',
      MAKE_CALL_THROTTLE_BURST: 'VALUE7',
      DIAL_STATUS_THROTTLE_RATE: 'VALUE8',
      DIAL_STATUS_THROTTLE_BURST: '5001',
      CALL_STATUS_THROTTLE_RATE: '0',
      CALL_STATUS_THROTTLE_BURST: '2.5',
      DIAL_ACTION: 'VALUE9',
      DIAL_TIMEOUT: '61',
      SUPPORT_NUMBER: 'VALUE10',
      LOG_RETENTION_DAYS: '45',
      STACK_NAME: '9VALUE6',
      CALL_LIMITS: 'VALUE11',
      MAX_PHONE_CALLS_PER_HOUR: 'VALUE12',
      CALL_LIMITS_FAIL_CLOSED: 'VALUE13',
    };
    const problems = problemsOf(bad);
    expect(problems.map((p) => p.split(' ')[0])).toEqual([
      'TWILIO_ML_APP_SID',
      'TWILIO_FROM',
      'DIAL_ACTION',
      'DIAL_TIMEOUT',
      'SUPPORT_NUMBER',
      'MAX_PHONE_CALLS_PER_HOUR',
      'CALL_LIMITS_FAIL_CLOSED',
      'PUBLIC_BASE_URL',
      'STACK_NAME',
      'SECRET_NAME',
      'ALARM_EMAIL',
      'AUTHORIZER_CACHE_TTL',
      'API_THROTTLE_RATE',
      'API_THROTTLE_BURST',
      'CALL_TOKEN_THROTTLE_RATE',
      'CALL_TOKEN_THROTTLE_BURST',
      'MAKE_CALL_THROTTLE_RATE',
      'MAKE_CALL_THROTTLE_BURST',
      'DIAL_STATUS_THROTTLE_RATE',
      'DIAL_STATUS_THROTTLE_BURST',
      'CALL_STATUS_THROTTLE_RATE',
      'CALL_STATUS_THROTTLE_BURST',
      'LOG_RETENTION_DAYS',
      'CALL_LIMITS',
    ]);
    expect(problems.join('\n')).not.toMatch(/VALUE/);
    expect(problems).toContain('CALL_LIMITS must be on or off');
    expect(problems).toContain(
      'LOG_RETENTION_DAYS must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653',
    );
  });

  it('give every route of ROUTES its own throttle, from its own two settings', () => {
    expect(Object.keys(ROUTE_THROTTLES).sort()).toEqual(ROUTES.map(routeKey).sort());
    const knobs = Object.values(ROUTE_THROTTLES).flatMap(({ rate, burst }) => [rate.knob, burst.knob]);
    expect(new Set(knobs).size).toBe(knobs.length);
    for (const knob of knobs) expect(STACK_KNOB_NAMES).toContain(knob);
  });

  it('route throttles: each setting overrides its default', () => {
    const settings = parseStackSettings({
      ...SETTINGS,
      CALL_TOKEN_THROTTLE_RATE: '30',
      CALL_TOKEN_THROTTLE_BURST: '60',
      MAKE_CALL_THROTTLE_RATE: '5',
      MAKE_CALL_THROTTLE_BURST: ' 8 ',
      DIAL_STATUS_THROTTLE_RATE: '9',
      DIAL_STATUS_THROTTLE_BURST: '10',
      CALL_STATUS_THROTTLE_RATE: '50',
      CALL_STATUS_THROTTLE_BURST: '12',
    });
    expect(settings.routeThrottles).toEqual({
      'GET /api/v1/call_token': { rateLimit: 30, burstLimit: 60 },
      'POST /api/v1/make_call': { rateLimit: 5, burstLimit: 8 },
      'POST /api/v1/dial_status': { rateLimit: 9, burstLimit: 10 },
      'POST /api/v1/call_status': { rateLimit: 50, burstLimit: 12 },
    });
    expect(settings.throttle).toEqual({ rateLimit: 50, burstLimit: 100 });
  });

  it('route throttles: may equal the stage default; above it is a ConfigError naming the setting', () => {
    expect(
      parseStackSettings({ ...SETTINGS, MAKE_CALL_THROTTLE_RATE: '50', MAKE_CALL_THROTTLE_BURST: '100' })
        .routeThrottles['POST /api/v1/make_call'],
    ).toEqual({ rateLimit: 50, burstLimit: 100 });
    expect(problemsOf({ ...SETTINGS, CALL_TOKEN_THROTTLE_RATE: '51', MAKE_CALL_THROTTLE_BURST: '101' })).toEqual([
      'CALL_TOKEN_THROTTLE_RATE must not exceed API_THROTTLE_RATE, the stage default',
      'MAKE_CALL_THROTTLE_BURST must not exceed API_THROTTLE_BURST, the stage default',
    ]);
    expect(() => parseStackSettings({ ...SETTINGS, API_THROTTLE_RATE: '10', MAKE_CALL_THROTTLE_RATE: '11' })).toThrow(
      ConfigError,
    );
    expect(problemsOf({ ...SETTINGS, API_THROTTLE_RATE: '10', MAKE_CALL_THROTTLE_RATE: '11' })).toEqual([
      'MAKE_CALL_THROTTLE_RATE must not exceed API_THROTTLE_RATE, the stage default',
    ]);
  });

  it('route throttles: an unset one never exceeds a lowered stage default', () => {
    const settings = parseStackSettings({ ...SETTINGS, API_THROTTLE_RATE: '10', API_THROTTLE_BURST: '30' });
    expect(settings.routeThrottles).toEqual({
      'GET /api/v1/call_token': { rateLimit: 10, burstLimit: 30 },
      'POST /api/v1/make_call': { rateLimit: 10, burstLimit: 30 },
      'POST /api/v1/dial_status': { rateLimit: 10, burstLimit: 30 },
      'POST /api/v1/call_status': { rateLimit: 10, burstLimit: 30 },
    });
  });

  it('route throttles: the status routes are refused above the stage default too', () => {
    expect(problemsOf({ ...SETTINGS, DIAL_STATUS_THROTTLE_RATE: '51', CALL_STATUS_THROTTLE_BURST: '101' })).toEqual([
      'DIAL_STATUS_THROTTLE_RATE must not exceed API_THROTTLE_RATE, the stage default',
      'CALL_STATUS_THROTTLE_BURST must not exceed API_THROTTLE_BURST, the stage default',
    ]);
  });

  it('stack defaults: settings the code leaves off and the stack turns on, each a valid value the code does not default to', () => {
    expect(STACK_DEFAULTS).toEqual({ DIAL_ACTION: 'true', ANSWER_ON_BRIDGE: 'true', CALL_STATUS_CALLBACK: 'true' });
    for (const [name, value] of Object.entries(STACK_DEFAULTS) as [keyof typeof STACK_DEFAULTS, string][]) {
      expect(FUNCTION_SETTING_NAMES, name).toContain(name);
      expect(FIELDS[name].parse(value), name).not.toEqual(FIELDS[name].parse(undefined));
    }
  });

  it('stack defaults: a value given in the environment or with -c wins (and is validated); empty means not given', () => {
    const fromEnv = parseStackSettings({ ...SETTINGS, DIAL_ACTION: 'false', ANSWER_ON_BRIDGE: ' ' });
    expect(fromEnv.functionSettings).toMatchObject({ DIAL_ACTION: 'false', ANSWER_ON_BRIDGE: 'true' });
    const values = settingValues(context({ CALL_STATUS_CALLBACK: false, DIAL_ACTION: 'false', CALL_LIMITS: 'off' }), {
      ...SETTINGS,
      DIAL_ACTION: 'true',
    });
    expect(parseStackSettings(values).functionSettings).toMatchObject({
      DIAL_ACTION: 'false',
      ANSWER_ON_BRIDGE: 'true',
      CALL_STATUS_CALLBACK: 'false',
    });
    expect(problemsOf({ ...SETTINGS, CALL_STATUS_CALLBACK: 'off', ANSWER_ON_BRIDGE: 'TRUE' })).toEqual([
      'ANSWER_ON_BRIDGE must be true or false',
      'CALL_STATUS_CALLBACK must be true or false',
    ]);
  });

  it('PUBLIC_BASE_URL: https only in the stack, and never a user name or password (it is in the template and outputs)', () => {
    expect(problemsOf({ ...SETTINGS, PUBLIC_BASE_URL: 'http://voice.example.com' })).toEqual([
      'PUBLIC_BASE_URL must start with https:// in the stack (API Gateway serves HTTPS only)',
    ]);
    expect(problemsOf({ ...SETTINGS, PUBLIC_BASE_URL: 'https://user:pw@voice.example.com/' })).toEqual([
      'PUBLIC_BASE_URL must not carry a user name or password',
    ]);
    expect(problemsOf({ ...SETTINGS, PUBLIC_BASE_URL: 'https://voice.example.com/base/' })).toEqual([]);
  });

  it('the call limits need the status callbacks: only a call’s completed callback frees its slot', () => {
    expect(problemsOf({ ...SETTINGS, CALL_STATUS_CALLBACK: 'false' })).toEqual([
      "CALL_STATUS_CALLBACK must be true while CALL_LIMITS is on: only a call's completed callback frees its slot",
    ]);
    expect(problemsOf({ ...SETTINGS, CALL_STATUS_CALLBACK: 'false', CALL_LIMITS: 'off' })).toEqual([]);
  });

  it('the dialing settings are checked against the phone metadata, as make_call checks them when it loads', () => {
    expect(problemsOf({ ...SETTINGS, DEFAULT_COUNTRY: 'ZZ', ALLOWED_DIAL_COUNTRIES: 'US,QQ' })).toEqual([
      'DEFAULT_COUNTRY is not a country with phone numbers',
      'ALLOWED_DIAL_COUNTRIES has an entry that is not a country with phone numbers',
    ]);
    expect(problemsOf({ ...SETTINGS, SUPPORT_NUMBER: '+19005550123' })).toEqual([
      'SUPPORT_NUMBER is a premium-rate number',
    ]);
    expect(problemsOf({ ...SETTINGS, SUPPORT_NUMBER: '+18005550199' })).toEqual([]);
  });

  it('DIAL_TIMEOUT and SUPPORT_NUMBER pass through when given, and are absent otherwise', () => {
    expect(parseStackSettings(SETTINGS).functionSettings).not.toHaveProperty('DIAL_TIMEOUT');
    expect(parseStackSettings(SETTINGS).functionSettings).not.toHaveProperty('SUPPORT_NUMBER');
    const given = parseStackSettings({ ...SETTINGS, DIAL_TIMEOUT: ' 20 ', SUPPORT_NUMBER: '+18005550100' });
    expect(given.functionSettings).toMatchObject({ DIAL_TIMEOUT: '20', SUPPORT_NUMBER: '+18005550100' });
    expect(problemsOf({ ...SETTINGS, DIAL_TIMEOUT: '4' })).toEqual([
      'DIAL_TIMEOUT must be a whole number from 5 to 60',
    ]);
  });

  it('CALL_LIMITS: on unless given off, nothing else accepted (a typo must not turn the limits off)', () => {
    expect(STACK_KNOB_NAMES).toContain('CALL_LIMITS');
    expect(parseStackSettings(SETTINGS).callLimits).toBe(true);
    expect(parseStackSettings({ ...SETTINGS, CALL_LIMITS: ' ' }).callLimits).toBe(true);
    expect(parseStackSettings({ ...SETTINGS, CALL_LIMITS: 'on' }).callLimits).toBe(true);
    expect(parseStackSettings({ ...SETTINGS, CALL_LIMITS: ' off ' }).callLimits).toBe(false);
    expect(
      parseStackSettings(settingValues(context({ CALL_LIMITS: 'off' }), { ...SETTINGS, CALL_LIMITS: 'on' })).callLimits,
    ).toBe(false);
    for (const typo of ['false', 'OFF', 'no', '0']) {
      expect(problemsOf({ ...SETTINGS, CALL_LIMITS: typo }), typo).toEqual(['CALL_LIMITS must be on or off']);
    }
  });

  it('the MAX_* limits and CALL_LIMITS_FAIL_CLOSED pass through when given, validated; absent otherwise', () => {
    const limits = {
      MAX_PHONE_CALLS_PER_HOUR: '5',
      MAX_PHONE_CALLS_PER_DAY: '12',
      MAX_CLIENT_CALLS_PER_HOUR: '40',
      MAX_CONCURRENT_PHONE_CALLS: '2',
      MAX_PHONE_CALLS_PER_MINUTE: '50',
      CALL_LIMITS_FAIL_CLOSED: 'true',
    };
    const defaults = parseStackSettings(SETTINGS).functionSettings;
    for (const name of Object.keys(limits)) expect(defaults, name).not.toHaveProperty(name);
    expect(parseStackSettings({ ...SETTINGS, ...limits }).functionSettings).toMatchObject(limits);
    // Off, they still pass through (the functions accept them and count nothing without a table).
    expect(parseStackSettings({ ...SETTINGS, ...limits, CALL_LIMITS: 'off' }).functionSettings).toMatchObject(limits);
    expect(problemsOf({ ...SETTINGS, MAX_CONCURRENT_PHONE_CALLS: '11', MAX_PHONE_CALLS_PER_DAY: '0' })).toEqual([
      'MAX_PHONE_CALLS_PER_DAY must be a whole number from 1 to 100000',
      'MAX_CONCURRENT_PHONE_CALLS must be a whole number from 1 to 10',
    ]);
  });

  it('CALL_LIMITS_TABLE is never read from the environment or context: the stack names its own table', () => {
    const values = settingValues(context({ CALL_LIMITS_TABLE: 'from-context' }), {
      ...SETTINGS,
      CALL_LIMITS_TABLE: 'from-env',
      SECRET_ID: 'from-env',
    });
    expect(values).not.toHaveProperty('CALL_LIMITS_TABLE');
    expect(values).not.toHaveProperty('SECRET_ID');
    expect(parseStackSettings({ ...SETTINGS, CALL_LIMITS_TABLE: 'x' }).functionSettings).not.toHaveProperty(
      'CALL_LIMITS_TABLE',
    );
  });

  it('do not need any secret', () => {
    expect(problemsOf(SETTINGS)).toEqual([]);
  });

  it('come from -c context first, then the environment', () => {
    const values = settingValues(context({ TWILIO_FROM: '+15005550009', AUTHORIZER_CACHE_TTL: 60 }), {
      ...SETTINGS,
      TWILIO_FROM: '+15005550001',
      AUTHORIZER_CACHE_TTL: '10',
      API_THROTTLE_RATE: '7',
    });
    const settings = parseStackSettings(values);
    expect(settings.functionSettings.TWILIO_FROM).toBe('+15005550009');
    expect(settings.authorizerCacheTtlSeconds).toBe(60);
    expect(settings.throttle.rateLimit).toBe(7);
  });

  it('read only setting and knob names from the environment, never a secret', () => {
    const values = settingValues(context({}), { ...SETTINGS, JWT_SECRET: 'x'.repeat(32), UNRELATED: 'y' });
    expect(Object.keys(values).sort()).toEqual([...FUNCTION_SETTING_NAMES, ...STACK_KNOB_NAMES].sort());
  });

  it('SECRET_NAME is a name or a complete ARN, nothing in between', () => {
    expect(parseStackSettings({ ...SETTINGS, SECRET_NAME: 'prod/voice' }).secret).toEqual({ name: 'prod/voice' });
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/voice-a1B2c3';
    expect(parseStackSettings({ ...SETTINGS, SECRET_NAME: arn }).secret).toEqual({ arn });
    expect(
      problemsOf({ ...SETTINGS, SECRET_NAME: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/voice' }),
    ).toEqual(['SECRET_NAME must be a secret name or a complete secret ARN (ending in the six-character suffix)']);
  });
});

describe('npx cdk synth (infra/app.ts)', () => {
  it('stops with exit code 1 and a message naming each missing or malformed setting', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'voice-cdk-app-'));
    try {
      const result = spawnSync(join(PROJECT_ROOT, 'node_modules/.bin/tsx'), ['infra/app.ts'], {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          CDK_OUTDIR: outdir,
          TWILIO_ACCOUNT_SID: SETTINGS.TWILIO_ACCOUNT_SID,
          TWILIO_FROM: 'VALUE',
        },
        timeout: 30_000,
      });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('Cannot synthesize the voice stack');
      for (const name of ['TWILIO_ML_APP_SID', 'TWILIO_ML_APNS_CERT_SID', 'TWILIO_ML_FCM_CERT_SID']) {
        expect(result.stderr).toContain(`${name} is required but not set`);
      }
      expect(result.stderr).toContain('TWILIO_FROM must be an E.164 phone number');
      expect(result.stderr).not.toContain('TWILIO_ACCOUNT_SID');
      expect(result.stderr).not.toContain('VALUE');
      // A clean message, not a stack trace.
      expect(result.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
