/**
 * What `cdk synth` needs to know, read from `-c NAME=value` context or the environment
 * (context wins) and validated before the stack is built:
 *
 * - the non-secret settings the functions read, under the names the functions use,
 *   validated by the functions' own parsers (`parseFields`), so a value synth accepts is a
 *   value the functions accept; a few the stack turns on unless told otherwise (`STACK_DEFAULTS`);
 * - the stack's own knobs (`STACK_KNOBS`).
 *
 * Secrets are never read here: they live only in the Secrets Manager secret. Every problem
 * is reported at once in one `ConfigError` naming the setting, never its value.
 */
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { callLimitProblems } from '../lib/callLimitsTable.js';
import { type DialPolicy, dialPolicyProblems } from '../lib/callRouting.js';
import { ConfigError, type Env, FIELDS, type FieldName, parseFields } from '../lib/config.js';
import { FUNCTION_FIELDS, type FunctionName, SECRET_PLUMBING } from '../lib/functionFields.js';
import type { RouteKey } from './routes.js';

export const FUNCTION_NAMES = Object.keys(FUNCTION_FIELDS) as FunctionName[];

/** The environment variables a function reads: its non-secret settings, plus where its secrets are. */
export function environmentFields(fn: FunctionName): FieldName[] {
  const fields: readonly FieldName[] = FUNCTION_FIELDS[fn];
  const settings = fields.filter((name) => !FIELDS[name].secret);
  return fields.some((name) => FIELDS[name].secret) ? [...settings, ...SECRET_PLUMBING] : settings;
}

/**
 * Set by the stack itself, never by the operator: the secret it creates or imports, and the
 * call-limits table it creates (unless CALL_LIMITS=off).
 */
export const STACK_PROVIDED: readonly FieldName[] = ['SECRET_ID', 'CALL_LIMITS_TABLE'];

/** The function settings an operator gives at synth, in FIELDS order. */
export const FUNCTION_SETTING_NAMES: readonly FieldName[] = (Object.keys(FIELDS) as FieldName[]).filter(
  (name) => !STACK_PROVIDED.includes(name) && FUNCTION_NAMES.some((fn) => environmentFields(fn).includes(name)),
);

class Problem extends Error {}

const integer = (min: number, max: number) => (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new Problem(`must be a whole number from ${min} to ${max}`);
  }
  return Number(value);
};

/** CloudWatch Logs accepts only these retention periods (in days); "never expire" is not offered. */
export const RETENTION_DAYS = (Object.values(RetentionDays) as unknown[]).filter(
  (days): days is RetentionDays => typeof days === 'number' && days !== RetentionDays.INFINITE,
);

const retentionDays = (value: string): RetentionDays => {
  const days = RETENTION_DAYS.find((allowed) => String(allowed) === value);
  if (days === undefined) throw new Problem(`must be one of ${RETENTION_DAYS.join(', ')}`);
  return days;
};

const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const SECRET_COMPLETE_ARN =
  /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;
const secretReference = (value: string): SecretReference => {
  if (value.startsWith('arn:')) {
    if (!SECRET_COMPLETE_ARN.test(value)) {
      throw new Problem('must be a secret name or a complete secret ARN (ending in the six-character suffix)');
    }
    return { arn: value };
  }
  if (!SECRET_NAME.test(value)) throw new Problem('must be a secret name: letters, digits and /_+=.@- only');
  return { name: value };
};

/** `on` or `off`, nothing else: a typo must not silently turn a protection off. */
const onOff = (value: string) => {
  if (value !== 'on' && value !== 'off') throw new Problem('must be on or off');
  return value === 'on';
};

const email = (value: string) => {
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value)) throw new Problem('must be an email address');
  return value;
};

const stackName = (value: string) => {
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(value)) {
    throw new Problem('must start with a letter and have only letters, digits and hyphens (at most 128)');
  }
  return value;
};

type Parser<T> = (raw: string | undefined) => T;
const withDefault =
  <T>(fallback: T, parse: (value: string) => T): Parser<T> =>
  (raw) =>
    raw === undefined || raw.trim() === '' ? fallback : parse(raw.trim());
const optional =
  <T>(parse: (value: string) => T): Parser<T | undefined> =>
  (raw) =>
    raw === undefined || raw.trim() === '' ? undefined : parse(raw.trim());

export type SecretReference = { name: string; arn?: undefined } | { arn: string; name?: undefined };

/** The stack's own settings (not read by any function). Documented in the README's "Deploy" section. */
export const STACK_KNOBS = {
  /** CloudFormation stack name, so one account can hold e.g. a staging and a production stack. */
  STACK_NAME: withDefault('VoiceService', stackName),
  /** Use this existing secret (name or complete ARN) instead of creating one. */
  SECRET_NAME: optional(secretReference),
  /** Subscribe this address to the alarm topic. */
  ALARM_EMAIL: optional(email),
  /** How long API Gateway caches an authorizer decision, in seconds (0 turns caching off). */
  AUTHORIZER_CACHE_TTL: withDefault(300, integer(0, 3600)),
  /** The stage default steady-state request rate (requests per second), for any route without its own. */
  API_THROTTLE_RATE: withDefault(50, integer(1, 10_000)),
  /** The stage default burst (requests). */
  API_THROTTLE_BURST: withDefault(100, integer(1, 5_000)),
  // Per-route limits (ROUTE_THROTTLES): defaults there, never above the stage default.
  /** GET /api/v1/call_token: steady-state requests per second. */
  CALL_TOKEN_THROTTLE_RATE: optional(integer(1, 10_000)),
  /** GET /api/v1/call_token: burst (requests). */
  CALL_TOKEN_THROTTLE_BURST: optional(integer(1, 5_000)),
  /** POST /api/v1/make_call: steady-state requests per second. */
  MAKE_CALL_THROTTLE_RATE: optional(integer(1, 10_000)),
  /** POST /api/v1/make_call: burst (requests). */
  MAKE_CALL_THROTTLE_BURST: optional(integer(1, 5_000)),
  /** POST /api/v1/dial_status: steady-state requests per second. */
  DIAL_STATUS_THROTTLE_RATE: optional(integer(1, 10_000)),
  /** POST /api/v1/dial_status: burst (requests). */
  DIAL_STATUS_THROTTLE_BURST: optional(integer(1, 5_000)),
  /** POST /api/v1/call_status: steady-state requests per second. */
  CALL_STATUS_THROTTLE_RATE: optional(integer(1, 10_000)),
  /** POST /api/v1/call_status: burst (requests). */
  CALL_STATUS_THROTTLE_BURST: optional(integer(1, 5_000)),
  /** Retention of every log group the stack creates, in days. */
  LOG_RETENTION_DAYS: withDefault(RetentionDays.ONE_MONTH, retentionDays),
  /**
   * Per-caller call limits: `on` (the default) creates the DynamoDB table and gives makeCall
   * and callEvents its name (CALL_LIMITS_TABLE) and access to it; `off`: no table, no
   * CALL_LIMITS_TABLE, no DynamoDB permission, and makeCall dials without counting.
   */
  CALL_LIMITS: withDefault(true, onOff),
} as const satisfies Record<string, Parser<unknown>>;

export type StackKnob = keyof typeof STACK_KNOBS;
export const STACK_KNOB_NAMES = Object.keys(STACK_KNOBS) as StackKnob[];

export interface Throttle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

type RouteThrottleKnob = { readonly knob: StackKnob; readonly default: number };

/**
 * Each route's own throttle (a route setting on the `$default` stage), so that a flood on one
 * route is refused there and leaves the other its share. Every route in ROUTES has an entry.
 * A route's limit may not exceed the stage default (API_THROTTLE_RATE / API_THROTTLE_BURST):
 * given higher, it is a settings error; unset, it is the default here or the stage default,
 * whichever is lower.
 *
 * - call_token: the apps ask once per call and on app start, so 50/s, burst 100 (the stage
 *   default) is far above normal use.
 * - make_call: Twilio calls it once per outgoing call the apps place; 20/s, burst 40 is far
 *   above the rate people start calls, and a flood of forged webhooks is refused there
 *   instead of using up the stage (and the Lambda concurrency) the token requests need.
 * - dial_status: Twilio calls it once per dial that make_call answered with `<Dial action>`,
 *   so the same 20/s, burst 40 as make_call.
 * - call_status: Twilio posts up to four events per leg (initiated, ringing, answered,
 *   completed), so 50/s, burst 100: make_call's rate times the events of a leg, capped at
 *   the stage default.
 */
export const ROUTE_THROTTLES = {
  'GET /api/v1/call_token': {
    rate: { knob: 'CALL_TOKEN_THROTTLE_RATE', default: 50 },
    burst: { knob: 'CALL_TOKEN_THROTTLE_BURST', default: 100 },
  },
  'POST /api/v1/make_call': {
    rate: { knob: 'MAKE_CALL_THROTTLE_RATE', default: 20 },
    burst: { knob: 'MAKE_CALL_THROTTLE_BURST', default: 40 },
  },
  'POST /api/v1/dial_status': {
    rate: { knob: 'DIAL_STATUS_THROTTLE_RATE', default: 20 },
    burst: { knob: 'DIAL_STATUS_THROTTLE_BURST', default: 40 },
  },
  'POST /api/v1/call_status': {
    rate: { knob: 'CALL_STATUS_THROTTLE_RATE', default: 50 },
    burst: { knob: 'CALL_STATUS_THROTTLE_BURST', default: 100 },
  },
} as const satisfies Record<RouteKey, { readonly rate: RouteThrottleKnob; readonly burst: RouteThrottleKnob }>;

/**
 * Function settings the stack turns on although the code leaves them off: the code's defaults
 * keep make_call's TwiML the legacy controller's (the local gateway, the conformance tests),
 * while a deployed stack, which serves dial_status and call_status, uses them. A value the
 * operator gives (context or environment, not empty) wins and is validated like any other:
 * `-c DIAL_ACTION=false` turns the dial action off.
 */
export const STACK_DEFAULTS = {
  DIAL_ACTION: 'true',
  ANSWER_ON_BRIDGE: 'true',
  CALL_STATUS_CALLBACK: 'true',
} as const satisfies Partial<Record<FieldName, string>>;

/** The values synth works with: what the operator gave, else the stack's default for that setting. */
function withStackDefaults(values: Env): Env {
  const merged: Record<string, string | undefined> = { ...values };
  for (const [name, value] of Object.entries(STACK_DEFAULTS)) {
    if (!merged[name]?.trim()) merged[name] = value;
  }
  return merged;
}

export interface StackSettings {
  /**
   * Validated function settings, as the functions will read them (trimmed): those given, and
   * the STACK_DEFAULTS not given. Unset ones are absent: the functions' own defaults apply.
   */
  readonly functionSettings: Readonly<Partial<Record<FieldName, string>>>;
  /** PUBLIC_BASE_URL normalised (no trailing slash), when a custom domain URL is given. */
  readonly publicBaseUrl?: string;
  readonly stackName: string;
  readonly secret?: SecretReference;
  readonly alarmEmail?: string;
  readonly authorizerCacheTtlSeconds: number;
  /** The stage default, for any route without its own. */
  readonly throttle: Throttle;
  /** Each route's own limits, at most the stage default. */
  readonly routeThrottles: Readonly<Record<RouteKey, Throttle>>;
  readonly logRetention: RetentionDays;
  /** CALL_LIMITS: whether the stack creates the call-limits table and wires makeCall and callEvents to it. */
  readonly callLimits: boolean;
}

/** Validates everything synth needs; throws one ConfigError naming every bad or missing setting. */
export function parseStackSettings(given: Env): StackSettings {
  const values = withStackDefaults(given);
  const problems: string[] = [];
  let fields: Partial<Record<FieldName, unknown>> = {};
  try {
    fields = parseFields(FUNCTION_SETTING_NAMES, values);
    // make_call checks these against the phone metadata when it loads and then refuses every call: synth says it first.
    problems.push(...dialPolicyProblems(fields as DialPolicy));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  const knobs: Partial<Record<StackKnob, unknown>> = {};
  for (const name of STACK_KNOB_NAMES) {
    try {
      knobs[name] = STACK_KNOBS[name](values[name]);
    } catch (error) {
      if (!(error instanceof Problem)) throw error;
      problems.push(`${name} ${error.message}`);
    }
  }
  const stage = knobs as { API_THROTTLE_RATE?: number; API_THROTTLE_BURST?: number };
  const routeThrottles: Partial<Record<RouteKey, Throttle>> = {};
  for (const [key, { rate, burst }] of Object.entries(ROUTE_THROTTLES) as [
    RouteKey,
    (typeof ROUTE_THROTTLES)[RouteKey],
  ][]) {
    const limit = (knob: RouteThrottleKnob, stageKnob: 'API_THROTTLE_RATE' | 'API_THROTTLE_BURST') => {
      const given = knobs[knob.knob] as number | undefined;
      const stageLimit = stage[stageKnob];
      if (stageLimit === undefined) return knob.default; // the stage knob is malformed: already reported
      if (given === undefined) return Math.min(knob.default, stageLimit);
      if (given > stageLimit) problems.push(`${knob.knob} must not exceed ${stageKnob}, the stage default`);
      return given;
    };
    routeThrottles[key] = {
      rateLimit: limit(rate, 'API_THROTTLE_RATE'),
      burstLimit: limit(burst, 'API_THROTTLE_BURST'),
    };
  }
  // API Gateway serves HTTPS only; http:// is for the local gateway.
  if (typeof fields.PUBLIC_BASE_URL === 'string' && fields.PUBLIC_BASE_URL.startsWith('http:')) {
    problems.push('PUBLIC_BASE_URL must start with https:// in the stack (API Gateway serves HTTPS only)');
  }
  // make_call checks the same rule at its first request; synth says it first, naming the stack's knob.
  problems.push(
    ...callLimitProblems(
      knobs.CALL_LIMITS === true ? 'while CALL_LIMITS is on' : undefined,
      fields.CALL_STATUS_CALLBACK !== false,
    ),
  );
  if (problems.length > 0) throw new ConfigError(problems);

  const functionSettings: Partial<Record<FieldName, string>> = {};
  for (const name of FUNCTION_SETTING_NAMES) {
    const raw = values[name]?.trim();
    if (raw) functionSettings[name] = raw;
  }
  const publicBaseUrl = fields.PUBLIC_BASE_URL as string | undefined;
  if (publicBaseUrl !== undefined) functionSettings.PUBLIC_BASE_URL = publicBaseUrl;
  const k = knobs as { [K in StackKnob]: ReturnType<(typeof STACK_KNOBS)[K]> };
  return {
    functionSettings,
    ...(publicBaseUrl === undefined ? {} : { publicBaseUrl }),
    stackName: k.STACK_NAME,
    ...(k.SECRET_NAME === undefined ? {} : { secret: k.SECRET_NAME }),
    ...(k.ALARM_EMAIL === undefined ? {} : { alarmEmail: k.ALARM_EMAIL }),
    authorizerCacheTtlSeconds: k.AUTHORIZER_CACHE_TTL,
    throttle: { rateLimit: k.API_THROTTLE_RATE, burstLimit: k.API_THROTTLE_BURST },
    routeThrottles: routeThrottles as Record<RouteKey, Throttle>,
    logRetention: k.LOG_RETENTION_DAYS,
    callLimits: k.CALL_LIMITS,
  };
}

/** Anything that has CDK context (an App or any construct's `node`). */
export interface ContextSource {
  tryGetContext(key: string): unknown;
}

/** Each setting from `-c NAME=value` when given there, else from `env`. */
export function settingValues(context: ContextSource, env: Env): Env {
  const values: Record<string, string | undefined> = {};
  for (const name of [...FUNCTION_SETTING_NAMES, ...STACK_KNOB_NAMES]) {
    const fromContext = context.tryGetContext(name);
    values[name] = fromContext === undefined || fromContext === null ? env[name] : String(fromContext);
  }
  return values;
}
