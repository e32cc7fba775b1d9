/**
 * Which settings and secrets each Lambda function reads. The handlers load exactly
 * these, and the CDK stack gives each function exactly the environment variables among
 * them, so the two cannot drift.
 */
import type { FieldName } from './config.js';

/** The per-caller limits' settings (the table aside): make_call's, and what `npm start` shows. */
export const CALL_LIMIT_SETTINGS = [
  'MAX_PHONE_CALLS_PER_HOUR',
  'MAX_PHONE_CALLS_PER_DAY',
  'MAX_CLIENT_CALLS_PER_HOUR',
  'MAX_CONCURRENT_PHONE_CALLS',
  'MAX_PHONE_CALLS_PER_MINUTE',
  'CALL_LIMITS_FAIL_CLOSED',
] as const satisfies readonly FieldName[];

export const FUNCTION_FIELDS = {
  // SLACK_WEBHOOK_URL: the authorizer alerts when it serves stale secrets or cannot read them.
  authorizer: ['JWT_SECRET', 'JWT_PREVIOUS_SECRET', 'JWT_ISSUER', 'JWT_AUDIENCE', 'JWT_MAX_TTL', 'SLACK_WEBHOOK_URL'],
  callToken: [
    'TWILIO_ACCOUNT_SID',
    'TWILIO_ML_APP_SID',
    'TWILIO_ML_APNS_CERT_SID',
    'TWILIO_ML_FCM_CERT_SID',
    'TWILIO_TOKEN_TTL',
    'TWILIO_API_KEY',
    'TWILIO_API_KEY_SECRET',
    'SLACK_WEBHOOK_URL',
  ],
  makeCall: [
    'TWILIO_ACCOUNT_SID',
    'TWILIO_ML_APP_SID',
    'TWILIO_FROM',
    'TWILIO_CALLER_IDS',
    'TWILIO_CALL_TIME_LIMIT',
    'DEFAULT_COUNTRY',
    'ALLOWED_DIAL_COUNTRIES',
    'EMERGENCY_NUMBERS',
    'BLOCKED_NUMBER_TYPES',
    'PUBLIC_BASE_URL',
    'DIAL_ACTION',
    'DIAL_TIMEOUT',
    'ANSWER_ON_BRIDGE',
    'CALL_STATUS_CALLBACK',
    'SUPPORT_NUMBER',
    'CALL_LIMITS_TABLE',
    ...CALL_LIMIT_SETTINGS,
    'TWILIO_AUTH_TOKEN',
    'TWILIO_SECONDARY_AUTH_TOKEN',
    'SLACK_WEBHOOK_URL',
  ],
  // Twilio's status webhooks (dial_status, call_status): verified like make_call, nothing to dial.
  callEvents: [
    'TWILIO_ACCOUNT_SID',
    'TWILIO_ML_APP_SID',
    'PUBLIC_BASE_URL',
    // call_status releases the caller's concurrent-call slot when a leg completes.
    'CALL_LIMITS_TABLE',
    'TWILIO_AUTH_TOKEN',
    'TWILIO_SECONDARY_AUTH_TOKEN',
    'SLACK_WEBHOOK_URL',
  ],
} as const satisfies Record<string, readonly FieldName[]>;

export type FunctionName = keyof typeof FUNCTION_FIELDS;
export type FunctionField<F extends FunctionName> = (typeof FUNCTION_FIELDS)[F][number];

/** Read by every function that reads a secret: where the secrets live and how long to keep them. */
export const SECRET_PLUMBING = [
  'SECRET_ID',
  'SECRETS_CACHE_TTL',
  'SECRETS_MAX_STALE',
] as const satisfies readonly FieldName[];
