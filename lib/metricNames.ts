/**
 * The service's metric names, namespace and dimensions: one list, read by the code that
 * emits the metrics and by the CDK stack whose alarms (and dashboard) watch them, so the
 * two cannot drift. No imports: the stack reads it without loading Powertools.
 */

/** Powertools' `serviceName`: the `service` field of every log line and a dimension of every metric. */
export const SERVICE_NAME = 'voice';

export const METRICS_NAMESPACE = 'VoiceService';

/** Powertools adds `service` to every metric's dimensions; an alarm must name it too. */
export const SERVICE_DIMENSION = { service: SERVICE_NAME } as const;

export const METRIC = {
  /** A voice token issued; dimension Platform (apns, fcm). */
  TokenIssued: 'TokenIssued',
  /** call_token with a missing or unknown `type`. */
  InvalidParameters: 'InvalidParameters',
  /** call_token could not issue a token (configuration or secret store). */
  TokenFailed: 'TokenFailed',
  /** make_call routed a signed request; dimension Decision. */
  CallRouted: 'CallRouted',
  /** A Twilio webhook refused; dimension Reason (signature, body 400, …). */
  WebhookRejected: 'WebhookRejected',
  /** make_call could not decide (configuration or secret store); the caller heard "try again later". */
  WebhookFailed: 'WebhookFailed',
  /** How a `<Dial>` ended (dial_status); dimensions Status and Leg. */
  DialOutcome: 'DialOutcome',
  /** A leg's length in seconds when it completed (call_status); dimensions Leg and Status. */
  CallDuration: 'CallDuration',
  /** Legs that ended (call_status); dimension Status. */
  CallsCompleted: 'CallsCompleted',
  /** A call a per-caller limit (or the service-wide breaker) refused; dimension Limit. */
  CallLimited: 'CallLimited',
  /** The call-limits table could not be read in time: the call went ahead unchecked (or was refused, fail-closed). */
  CallLimitsUnavailable: 'CallLimitsUnavailable',
  /** A request was served with secrets past SECRETS_CACHE_TTL because the store could not be read. */
  SecretStale: 'SecretStale',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** The WebhookRejected reason for a wrong X-Twilio-Signature: Twilio signs, so our URL or token is wrong, or a forger. */
export const SIGNATURE_REJECTION = 'signature';
/** The WebhookRejected reason for a request with no X-Twilio-Signature at all: not Twilio (scanners). */
export const UNSIGNED_REJECTION = 'unsigned';
/** The WebhookRejected reason for a signed request from another account or TwiML app. */
export const ACCOUNT_REJECTION = 'account';
/** The WebhookRejected reason for a parameter that must be single and came more than once. */
export const REPEATED_REJECTION = 'repeated';
/** The WebhookRejected reason for a signed request without a parameter the service must act on (make_call's CallSid with the call limits on). */
export const MISSING_REJECTION = 'missing';

/*
 * The values each dimension takes: the code emits only these (a signed request still decides
 * nothing unbounded), and the stack's dashboard draws one line per value. A CloudWatch metric
 * is its name plus its whole set of dimensions, so a value missing here is a line missing there.
 */

/** TokenIssued's Platform. */
export const PLATFORMS = ['apns', 'fcm'] as const;
/** CallRouted's Decision: make_call's routing outcomes. */
export const DECISIONS = [
  'unauthorised',
  'greeting',
  'emergency',
  'invalid',
  'blocked',
  'number',
  'support',
  'client',
] as const;
/** DialOutcome's and CallDuration's Leg: whom the dial called. */
export const LEGS = ['number', 'client', 'unknown'] as const;
/** DialOutcome's Status: Twilio's DialCallStatus, anything else `other`. */
export const DIAL_STATUSES = ['completed', 'answered', 'busy', 'no-answer', 'failed', 'canceled', 'other'] as const;
/** CallDuration's and CallsCompleted's Status: the final CallStatus of a leg. */
export const LEG_STATUSES = ['completed', 'busy', 'no-answer', 'failed', 'canceled'] as const;
/** WebhookRejected's Reason: a wrong or missing signature, or a body refused with that HTTP status. */
export const REJECTION_REASONS = [
  SIGNATURE_REJECTION,
  UNSIGNED_REJECTION,
  ACCOUNT_REJECTION,
  REPEATED_REJECTION,
  MISSING_REJECTION,
  'body 400',
  'body 413',
  'body 415',
] as const;
/** CallLimited's Limit: which per-caller limit, or the service-wide breaker (phone-minute), refused a call. */
export const LIMIT_NAMES = ['phone-concurrent', 'phone-hour', 'phone-day', 'phone-minute', 'client-hour'] as const;
