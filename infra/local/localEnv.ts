/**
 * The local gateway's settings: `.env` (when present) under the process environment,
 * and built-in development settings for whatever neither sets (the start banner names
 * them). These defaults exist only here; Lambda code has none.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { type Env, FIELDS } from '../../lib/config.js';

/** Obviously fake: Twilio rejects every one of them, which is the point. */
export const DEVELOPMENT_SETTINGS: Env = {
  TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`,
  TWILIO_ML_APP_SID: `AP${'0'.repeat(32)}`,
  TWILIO_ML_APNS_CERT_SID: `CR${'0'.repeat(31)}1`,
  TWILIO_ML_FCM_CERT_SID: `CR${'0'.repeat(31)}2`,
  TWILIO_FROM: '+15005550006',
  TWILIO_API_KEY: `SK${'0'.repeat(32)}`,
  TWILIO_API_KEY_SECRET: 'local-development-api-key-secret',
  JWT_SECRET: 'local-development-jwt-secret-not-for-production',
};

export interface LocalEnv {
  env: Env;
  /** The settings that fell back to development values. */
  developmentSettings: string[];
}

export function readDotEnv(path: string): Env {
  return existsSync(path) ? parseEnv(readFileSync(path, 'utf8')) : {};
}

/** The environment wins over `.env`, as with every dotenv loader. */
export function localEnv(processEnv: Env, dotEnv: Env): LocalEnv {
  const merged: Record<string, string | undefined> = { ...dotEnv, ...processEnv };
  const developmentSettings: string[] = [];
  // With SECRET_ID the secrets come from Secrets Manager, exactly as on Lambda.
  const fromSecretsManager = !!merged.SECRET_ID;
  for (const [name, value] of Object.entries(DEVELOPMENT_SETTINGS)) {
    if (fromSecretsManager && FIELDS[name as keyof typeof FIELDS].secret) continue;
    if (merged[name] === undefined || merged[name] === '') {
      merged[name] = value;
      developmentSettings.push(name);
    }
  }
  return { env: merged, developmentSettings };
}
