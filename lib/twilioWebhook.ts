/**
 * What every Twilio webhook does before its own decision, as pure functions: read the body,
 * verify the signature (one verifier for make_call, dial_status and call_status), and
 * answer for a failure of ours. Each answer is data — the response, the log line, the
 * metric, the alert — that the handler performs.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { shown, withoutQuery } from './alerts.js';
import type { Config } from './config.js';
import { type HttpResponse, plainText } from './httpResponses.js';
import {
  ACCOUNT_REJECTION,
  METRIC,
  type MetricName,
  MISSING_REJECTION,
  type REJECTION_REASONS,
  REPEATED_REJECTION,
  SIGNATURE_REJECTION,
  UNSIGNED_REJECTION,
} from './metricNames.js';
import { type AlertSpec, configFailure, type LogLine } from './secretHealth.js';
import { isSignedByTwilio, type SignedRequest, signedUrl, signedUrls } from './twilioSignature.js';
import { type BodyRejection, param, parseWebhookBody, type RawBody, type WebhookParams } from './webhookBody.js';

export type WebhookConfig = Pick<
  Config,
  'PUBLIC_BASE_URL' | 'TWILIO_AUTH_TOKEN' | 'TWILIO_SECONDARY_AUTH_TOKEN' | 'TWILIO_ACCOUNT_SID' | 'TWILIO_ML_APP_SID'
>;

export interface WebhookRequest extends SignedRequest, RawBody {
  sourceIp: string;
}

export interface WebhookOptions {
  /** Only the local gateway sets this: without TWILIO_AUTH_TOKEN, skip the signature check. */
  allowUnsignedRequests: boolean;
}

export interface WebhookAnswer {
  response: HttpResponse;
  log: LogLine;
  /** Set where a caller decides how many such lines there are: the kind whose lines are capped. */
  logCap?: string;
  /** The counts this request adds. */
  metrics: {
    name: MetricName;
    dimensions: Record<string, string> /** A duration; else a count of 1. */;
    seconds?: number;
  }[];
  /** An alert for the on-call engineer, with the key that de-duplicates it. */
  alert?: AlertSpec;
}

export const rejectedMetric = (reason: string): WebhookAnswer['metrics'][number] => ({
  name: METRIC.WebhookRejected,
  dimensions: { Reason: reason },
});

const forbidden = () => plainText(403, 'Forbidden');

function bodyRejected(body: BodyRejection): WebhookAnswer {
  return {
    response: plainText(body.status, body.message),
    log: { level: 'warn', message: 'Rejected body', attributes: { status: body.status } },
    logCap: 'body',
    metrics: [rejectedMetric(`body ${body.status}` satisfies (typeof REJECTION_REASONS)[number])],
  };
}

const PARAMS_REJECTED = { [REPEATED_REJECTION]: 'Repeated parameter', [MISSING_REJECTION]: 'Missing parameter' };

/** A parameter that must come once came more than once, or not at all: answered, never acted on. */
export function paramsRejected(
  reason: keyof typeof PARAMS_REJECTED,
  names: readonly string[],
  response: HttpResponse,
): WebhookAnswer {
  return {
    response,
    log: { level: 'warn', message: PARAMS_REJECTED[reason], attributes: { parameters: names } },
    logCap: reason,
    metrics: [rejectedMetric(reason)],
  };
}

/**
 * One kind of alert for every unsigned request, whatever its source, URL or parameters. The
 * metric tells a wrong signature (our URL or token, or a forger: alarmed) from none at all
 * (not Twilio: scanners, the background of any public URL).
 */
function signatureRejected(request: WebhookRequest, url: string): WebhookAnswer {
  const meta = {
    // Without PUBLIC_BASE_URL the host is the request's own Host header: a caller chose it.
    url: shown(withoutQuery(url), 200),
    sourceIp: request.sourceIp,
    hasSignature: !!request.headers['x-twilio-signature'],
  };
  return {
    response: forbidden(),
    log: { level: 'warn', message: 'Request not signed by Twilio', attributes: meta },
    logCap: SIGNATURE_REJECTION,
    metrics: [rejectedMetric(meta.hasSignature ? SIGNATURE_REJECTION : UNSIGNED_REJECTION)],
    alert: { key: SIGNATURE_REJECTION, errorMsg: 'Request not signed by Twilio', meta },
  };
}

/**
 * A failure of ours (the configuration or the secret store) gets the route's own answer
 * (`ourFailure`) and changes nothing; a request that verifiably carries no signature still
 * gets 403.
 */
function failedOurs(
  request: WebhookRequest,
  failure: { log: LogLine; alert: AlertSpec },
  options: WebhookOptions,
  ourFailure: HttpResponse,
): WebhookAnswer {
  const body = parseWebhookBody(request);
  if ('status' in body) return bodyRejected(body);
  if (!options.allowUnsignedRequests && !request.headers['x-twilio-signature']) {
    return signatureRejected(request, signedUrl(request, undefined));
  }
  return {
    response: ourFailure,
    log: failure.log,
    logCap: 'failure',
    metrics: [{ name: METRIC.WebhookFailed, dimensions: {} }],
    alert: failure.alert,
  };
}

/** A webhook's answer when its configuration could not be loaded (`error` from the loader). */
export function answerWithoutConfig(
  request: WebhookRequest,
  error: unknown,
  options: WebhookOptions,
  ourFailure: HttpResponse,
): WebhookAnswer {
  return failedOurs(request, configFailure(error), options, ourFailure);
}

export type Verified = { verified: true; params: WebhookParams } | { verified: false; answer: WebhookAnswer };

/** The names among `names` that the request carries more than once. */
export function repeatedParams(params: WebhookParams, names: readonly string[]): string[] {
  return names.filter((name) => Array.isArray(params[name]));
}

/**
 * What each route answers where a rule refuses a signed request (`repeated`) or our side
 * fails: made only when needed (the first of each message costs a VoiceResponse render).
 */
export interface RouteAnswers {
  ourFailure: () => HttpResponse;
  /** A parameter that must be single came twice: the signature covers a sorted, merged form. */
  repeated: () => HttpResponse;
  /** The parameters this route acts on, each of which must come once (checked once the account is). */
  single: readonly string[];
}

/**
 * A signed request from another account, or from another TwiML app of ours (a signed
 * request is Twilio's word, not ours to act on): 403, one alert kind.
 */
function foreignAccount(params: WebhookParams, config: WebhookConfig): WebhookAnswer | undefined {
  const accountSid = param(params, 'AccountSid');
  const applicationSid = param(params, 'ApplicationSid');
  const which =
    accountSid !== config.TWILIO_ACCOUNT_SID
      ? 'AccountSid'
      : applicationSid !== undefined && applicationSid !== config.TWILIO_ML_APP_SID
        ? 'ApplicationSid'
        : undefined;
  if (!which) return undefined;
  const meta = { parameter: which, [which]: shown(param(params, which), 40) ?? null };
  return {
    response: forbidden(),
    log: { level: 'warn', message: 'Signed request for another account or app', attributes: meta },
    logCap: ACCOUNT_REJECTION,
    metrics: [rejectedMetric(ACCOUNT_REJECTION)],
    alert: { key: ACCOUNT_REJECTION, errorMsg: `Signed request with another ${which}`, meta },
  };
}

const SINGLE_ACCOUNT_PARAMS = ['AccountSid', 'ApplicationSid'] as const;

/**
 * The request's parameters once its body reads and its signature holds (for the auth token
 * or, during a rotation, the secondary one); otherwise the answer to send instead.
 */
export function verifyWebhook(
  request: WebhookRequest,
  config: WebhookConfig,
  options: WebhookOptions,
  answers: RouteAnswers,
): Verified {
  const { ourFailure } = answers;
  if (!config.TWILIO_AUTH_TOKEN && !options.allowUnsignedRequests) {
    const errorMsg = 'TWILIO_AUTH_TOKEN is not set: no request can be verified';
    const failure = {
      log: { level: 'error' as const, message: errorMsg, attributes: { setting: 'TWILIO_AUTH_TOKEN' } },
      alert: { key: 'no-auth-token', errorMsg, meta: { setting: 'TWILIO_AUTH_TOKEN' } },
    };
    return { verified: false, answer: failedOurs(request, failure, options, ourFailure()) };
  }
  const body = parseWebhookBody(request);
  if ('status' in body) return { verified: false, answer: bodyRejected(body) };
  if (config.TWILIO_AUTH_TOKEN) {
    const urls = signedUrls(request, config.PUBLIC_BASE_URL);
    const signature = request.headers['x-twilio-signature'];
    const authTokens = [config.TWILIO_AUTH_TOKEN, config.TWILIO_SECONDARY_AUTH_TOKEN].filter((t): t is string => !!t);
    const signed = authTokens.some((authToken) =>
      urls.some((url) => isSignedByTwilio(authToken, signature, url, body)),
    );
    if (!signed) return { verified: false, answer: signatureRejected(request, urls[0]) };
  }
  const repeated = repeatedParams(body.params, SINGLE_ACCOUNT_PARAMS);
  if (repeated.length > 0)
    return { verified: false, answer: paramsRejected(REPEATED_REJECTION, repeated, answers.repeated()) };
  // Only a signed request says which account sent it; unchecked (locally) there is nothing to hold it to.
  const foreign = config.TWILIO_AUTH_TOKEN ? foreignAccount(body.params, config) : undefined;
  if (foreign) return { verified: false, answer: foreign };
  const repeatedHere = repeatedParams(body.params, answers.single);
  if (repeatedHere.length > 0)
    return { verified: false, answer: paramsRejected(REPEATED_REJECTION, repeatedHere, answers.repeated()) };
  return { verified: true, params: body.params };
}

/**
 * The base of the URLs we hand Twilio (the dial action, status callbacks): PUBLIC_BASE_URL
 * when set, else the scheme and host this request came to, as the signed URL is built.
 */
export function publicBaseUrl(request: SignedRequest, configured: string | undefined): string {
  if (configured) return configured;
  const url = signedUrl({ ...request, rawPath: '', rawQueryString: '' }, undefined);
  return url.replace(/\/+$/, '');
}

/** A webhook request as API Gateway (HTTP API, payload 2.0) delivers it. */
export function webhookRequest(event: APIGatewayProxyEventV2): WebhookRequest {
  return {
    routePath: event.routeKey.split(' ')[1] ?? event.rawPath,
    rawPath: event.rawPath,
    rawQueryString: event.rawQueryString,
    headers: event.headers,
    domainName: event.requestContext.domainName,
    sourceIp: event.requestContext.http.sourceIp,
    body: event.body,
    isBase64Encoded: event.isBase64Encoded,
    contentType: event.headers['content-type'],
  };
}
