/**
 * A complete, valid configuration for the callToken and authorizer functions: fake
 * values in the formats the issue specifies (AC/AP/CR/SK + 32 hex digits).
 */
import type { Env } from '../../lib/config.js';

export const SETTINGS = {
  TWILIO_ACCOUNT_SID: `AC${'1a'.repeat(16)}`,
  TWILIO_ML_APP_SID: `AP${'2b'.repeat(16)}`,
  TWILIO_ML_APNS_CERT_SID: `CR${'3c'.repeat(16)}`,
  TWILIO_ML_FCM_CERT_SID: `CR${'4d'.repeat(16)}`,
  TWILIO_API_KEY: `SK${'5e'.repeat(16)}`,
  TWILIO_API_KEY_SECRET: 'api-key-secret-for-the-tests-1234',
  JWT_SECRET: 'jwt-secret-for-the-tests-5678',
} as const satisfies Env;

export function settings(overrides: Env = {}): Env {
  return { ...SETTINGS, ...overrides };
}

/** Issue 2's alert for an invalid `type`: the legacy controller's fields, word for word (meta aside). */
export const INVALID_PARAMETERS_ALERT = {
  status: 'ERROR',
  vendor: 'Twilio',
  vendorApi: 'token',
  originApi: '[GET] /api/v1/call_token',
  errorMsg: 'Invalid parameters',
} as const;
