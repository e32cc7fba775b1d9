/**
 * Every setting and secret the service knows, parsed and validated in one place.
 *
 * Each function names the fields it reads; `parseFields` validates exactly those and
 * reports every problem at once, naming the field and what is wrong with it — never
 * its value, because half of these are secrets. Nothing else in the code base reads
 * `process.env`; `processEnv()` is the one door to it.
 */

export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
  }
}

/** A parser returns the typed value or throws a message that completes "NAME …". */
type Parser<T> = (raw: string | undefined) => T;

class Problem extends Error {}

const required =
  <T>(parse: (value: string) => T): Parser<T> =>
  (raw) => {
    if (raw === undefined || raw.trim() === '') throw new Problem('is required but not set');
    return parse(raw.trim());
  };

const optional =
  <T>(parse: (value: string) => T): Parser<T | undefined> =>
  (raw) =>
    raw === undefined || raw.trim() === '' ? undefined : parse(raw.trim());

const withDefault =
  <T>(fallback: T, parse: (value: string) => T): Parser<T> =>
  (raw) =>
    raw === undefined || raw.trim() === '' ? fallback : parse(raw.trim());

const twilioSid = (prefix: string) => (value: string) => {
  if (!new RegExp(`^${prefix}[0-9a-fA-F]{32}$`).test(value)) {
    throw new Problem(`must be "${prefix}" followed by 32 hex digits`);
  }
  return value;
};

const E164 = /^\+[1-9]\d{6,14}$/;
const e164 = (value: string) => {
  if (!E164.test(value)) throw new Problem('must be an E.164 phone number such as +15005550006');
  return value;
};

const integer = (min: number, max: number) => (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new Problem(`must be a whole number from ${min} to ${max}`);
  }
  return Number(value);
};

const text = (value: string) => value;

/** `true` or `false`, nothing else: a typo must not silently mean either. */
const boolean = (value: string) => {
  if (value !== 'true' && value !== 'false') throw new Problem('must be true or false');
  return value === 'true';
};

const secretText = (minLength: number) => (value: string) => {
  if (value.length < minLength) throw new Problem(`must be at least ${minLength} characters long`);
  return value;
};

const url = (protocols: readonly string[]) => (value: string) => {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new Problem('must be an absolute URL');
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new Problem(`must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  }
  return parsed;
};

/** The public prefix Twilio calls: scheme, host and an optional base path, no query. */
const baseUrl = (value: string) => {
  const parsed = url(['https:', 'http:'])(value);
  if (parsed.search || parsed.hash) throw new Problem('must not have a query string or fragment');
  // A password here would be in every function's environment, the template and its outputs.
  if (parsed.username || parsed.password) throw new Problem('must not carry a user name or password');
  return parsed.href.replace(/\/+$/, '');
};

const list =
  <T>(item: (value: string) => T) =>
  (value: string): readonly T[] =>
    value
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== '')
      .map((part) => {
        try {
          return item(part);
        } catch (error) {
          throw new Problem(`has an entry that ${error instanceof Problem ? error.message : 'is invalid'}`);
        }
      });

const countryCode = (value: string) => {
  if (!/^[A-Z]{2}$/.test(value)) throw new Problem('must be a two-letter ISO country code in capitals, such as US');
  return value;
};

/** libphonenumber's number types (`getType()`), for BLOCKED_NUMBER_TYPES. */
export const NUMBER_TYPES = [
  'FIXED_LINE',
  'MOBILE',
  'FIXED_LINE_OR_MOBILE',
  'TOLL_FREE',
  'PREMIUM_RATE',
  'SHARED_COST',
  'VOIP',
  'PERSONAL_NUMBER',
  'PAGER',
  'UAN',
  'VOICEMAIL',
] as const;
const numberType = (value: string) => {
  if (!(NUMBER_TYPES as readonly string[]).includes(value)) {
    throw new Problem(`must be one of ${NUMBER_TYPES.join(', ')}`);
  }
  return value;
};

/** A DynamoDB table name: 3–255 of letters, digits, `_`, `-` and `.`. */
const tableName = (value: string) => {
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(value))
    throw new Problem('must be a DynamoDB table name: 3 to 255 of A-Z a-z 0-9 _ - .');
  return value;
};

const digits = (value: string) => {
  if (!/^\d{2,6}$/.test(value)) throw new Problem('must be 2 to 6 digits');
  return value;
};

/**
 * The fields. `secret: true` marks values that live in the Secrets Manager secret (or,
 * without SECRET_ID, in the environment) and are never logged.
 */
export const FIELDS = {
  // Twilio account and app (environment)
  TWILIO_ACCOUNT_SID: { secret: false, parse: required(twilioSid('AC')) },
  TWILIO_ML_APP_SID: { secret: false, parse: required(twilioSid('AP')) },
  TWILIO_ML_APNS_CERT_SID: { secret: false, parse: required(twilioSid('CR')) },
  TWILIO_ML_FCM_CERT_SID: { secret: false, parse: required(twilioSid('CR')) },
  TWILIO_FROM: { secret: false, parse: required(e164) },
  TWILIO_CALLER_IDS: { secret: false, parse: withDefault<readonly string[]>([], list(e164)) },
  TWILIO_CALL_TIME_LIMIT: { secret: false, parse: withDefault(3600, integer(1, 14400)) },
  TWILIO_TOKEN_TTL: { secret: false, parse: withDefault(3600, integer(60, 86400)) },
  // Dialing policy (environment)
  DEFAULT_COUNTRY: { secret: false, parse: withDefault('US', countryCode) },
  ALLOWED_DIAL_COUNTRIES: {
    secret: false,
    parse: withDefault<readonly string[]>(['US', 'CA'], list(countryCode)),
  },
  /** Types of number never dialed: they earn the callee money, or reach no one who answers. */
  BLOCKED_NUMBER_TYPES: {
    secret: false,
    parse: withDefault<readonly string[]>(
      ['PREMIUM_RATE', 'SHARED_COST', 'PERSONAL_NUMBER', 'PAGER', 'UAN', 'VOICEMAIL'],
      list(numberType),
    ),
  },
  EMERGENCY_NUMBERS: {
    secret: false,
    parse: withDefault<readonly string[]>(['911', '112', '999', '000', '110', '119', '118', '933'], list(digits)),
  },
  // The life of a call (environment): all off by default, so make_call's TwiML stays the original's.
  /** `<Dial action=".../dial_status">`: Twilio reports how the dial ended, and the caller hears why. */
  DIAL_ACTION: { secret: false, parse: withDefault(false, boolean) },
  /** `<Dial timeout>`: seconds the callee's phone or app rings. */
  DIAL_TIMEOUT: { secret: false, parse: withDefault(30, integer(5, 60)) },
  /** `<Dial answerOnBridge>`: the caller hears ringing until the callee answers. */
  ANSWER_ON_BRIDGE: { secret: false, parse: withDefault(false, boolean) },
  /** `statusCallback` on every `<Number>` and `<Client>`: call status and duration. */
  CALL_STATUS_CALLBACK: { secret: false, parse: withDefault(false, boolean) },
  /** The support line: `to=support` dials this number (checked against the phone metadata at load). */
  SUPPORT_NUMBER: { secret: false, parse: optional(e164) },
  // Per-caller call limits (environment): on when CALL_LIMITS_TABLE names the DynamoDB table.
  CALL_LIMITS_TABLE: { secret: false, parse: optional(tableName) },
  MAX_PHONE_CALLS_PER_HOUR: { secret: false, parse: withDefault(10, integer(1, 10_000)) },
  MAX_PHONE_CALLS_PER_DAY: { secret: false, parse: withDefault(30, integer(1, 100_000)) },
  MAX_CLIENT_CALLS_PER_HOUR: { secret: false, parse: withDefault(60, integer(1, 10_000)) },
  MAX_CONCURRENT_PHONE_CALLS: { secret: false, parse: withDefault(1, integer(1, 10)) },
  MAX_PHONE_CALLS_PER_MINUTE: { secret: false, parse: withDefault(100, integer(1, 100_000)) },
  /** When the table cannot be read in time: refuse the call (true) instead of letting it through. */
  CALL_LIMITS_FAIL_CLOSED: { secret: false, parse: withDefault(false, boolean) },
  // Plumbing (environment)
  SECRET_ID: { secret: false, parse: optional(text) },
  SECRETS_CACHE_TTL: { secret: false, parse: withDefault(300, integer(0, 86400)) },
  // How long past SECRETS_CACHE_TTL the last good secrets keep serving while the store cannot be read.
  SECRETS_MAX_STALE: { secret: false, parse: withDefault(900, integer(0, 86400)) },
  PUBLIC_BASE_URL: { secret: false, parse: optional(baseUrl) },
  // The portal's bearer tokens (environment): what the authorizer requires beyond JWT_SECRET's signature.
  /** When set, a token's `iss` must equal it. */
  JWT_ISSUER: { secret: false, parse: optional(text) },
  /** When set, a token's `aud` must be it, or an array containing it. */
  JWT_AUDIENCE: { secret: false, parse: optional(text) },
  /** Seconds a token's `exp` may be ahead of now: 30 days by default (DEFAULT_MAX_TTL_SECONDS), 1 minute to 1 year. */
  JWT_MAX_TTL: { secret: false, parse: withDefault(2_592_000, integer(60, 31_536_000)) },
  // Secrets (Secrets Manager, or the environment without SECRET_ID)
  TWILIO_API_KEY: { secret: true, parse: required(twilioSid('SK')) },
  TWILIO_API_KEY_SECRET: { secret: true, parse: required(secretText(16)) },
  TWILIO_AUTH_TOKEN: { secret: true, parse: optional(secretText(16)) },
  // Twilio's secondary auth token, accepted too while the primary is being rotated.
  TWILIO_SECONDARY_AUTH_TOKEN: { secret: true, parse: optional(secretText(16)) },
  JWT_SECRET: { secret: true, parse: required(secretText(16)) },
  JWT_PREVIOUS_SECRET: { secret: true, parse: optional(secretText(16)) },
  SLACK_WEBHOOK_URL: { secret: true, parse: optional((value) => url(['https:', 'http:'])(value).href) },
} as const satisfies Record<string, { secret: boolean; parse: Parser<unknown> }>;

export type FieldName = keyof typeof FIELDS;
export type Config = { readonly [K in FieldName]: ReturnType<(typeof FIELDS)[K]['parse']> };

export const SECRET_NAMES = (Object.keys(FIELDS) as FieldName[]).filter((name) => FIELDS[name].secret);

/** Validates the named fields of `values`; throws one ConfigError that lists every problem. */
export function parseFields<K extends FieldName>(names: readonly K[], values: Env): Pick<Config, K> {
  const result: Partial<Record<FieldName, unknown>> = {};
  const problems: string[] = [];
  for (const name of names) {
    try {
      result[name] = FIELDS[name].parse(values[name]);
    } catch (error) {
      if (!(error instanceof Problem)) throw error;
      problems.push(`${name} ${error.message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return result as Pick<Config, K>;
}

/** The process environment: the only place the code base reads it. */
export function processEnv(): Env {
  return process.env;
}
