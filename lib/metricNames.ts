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
  /** A request was served with secrets past SECRETS_CACHE_TTL because the store could not be read. */
  SecretStale: 'SecretStale',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** The WebhookRejected reason for a missing or wrong X-Twilio-Signature. */
export const SIGNATURE_REJECTION = 'signature';
