/**
 * make_call requests as API Gateway (HTTP API, payload 2.0) delivers them, signed with
 * twilio's own signing helpers (not our verifier), and the handler built with recording
 * dependencies. Expected texts are issue 3's words, not imports from lib/.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { getExpectedBodyHash, getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { createHandler, type MakeCallDeps } from '../../functions/makeCall.js';
import type { AlertSender, VendorAlert } from '../../lib/alerts.js';
import { makeCallConfig } from '../../lib/callWebhook.js';
import type { Env } from '../../lib/config.js';
import type { HttpResponse } from '../../lib/httpResponses.js';
import { openGate } from '../support/gates.js';
import { recordingLog } from '../support/recordingLog.js';

export const AUTH_TOKEN = 'test-auth-token-7c1e5a9f3b2d4e60';
export const HOST = 'abc123defg.execute-api.us-east-1.amazonaws.com';
export const ROUTE_PATH = '/api/v1/make_call';
export const ROUTE_URL = `https://${HOST}${ROUTE_PATH}`;
export const TWILIO_FROM = '+14155550100';
export const CALLER_IDS = ['+14155550101', '+12125550199'] as const;

export const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
export const APP_SID = `AP${'00112233445566778899aabbccddeeff'}`;
/** Twilio's From for a call placed by app user 42 with a token this service issued. */
export const CALLER = `client:${APP_SID}_uid42`;
/** Another app user of ours. */
export const CALLER_7 = `client:${APP_SID}_uid7`;

export const POLICY_ENV: Env = {
  TWILIO_ACCOUNT_SID: ACCOUNT_SID,
  TWILIO_ML_APP_SID: APP_SID,
  TWILIO_FROM,
  TWILIO_CALLER_IDS: CALLER_IDS.join(','),
  TWILIO_CALL_TIME_LIMIT: '3600',
  TWILIO_AUTH_TOKEN: AUTH_TOKEN,
};

/** The issues' messages, word for word. */
export const SAY = {
  greeting: 'Congratulations! You have just made your first call! Good bye.',
  emergency:
    'This app cannot place emergency calls. Please hang up and dial emergency services from your phone. Good bye.',
  invalid: 'The number you dialed is not valid. Good bye.',
  blocked: 'Calls to this number are not allowed. Good bye.',
  tryLater: 'We cannot place your call right now. Please try again later. Good bye.',
  unauthorised: 'This call could not be authorised. Good bye.',
  limited: 'You have reached the limit of calls for now. Please try again later. Good bye.',
  busy: 'The person you called is busy. Please try again later. Good bye.',
  noAnswer: 'The person you called is not answering. Please try again later. Good bye.',
  notConnected: 'The call could not be connected. Please try again later. Good bye.',
} as const;

export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

export type Params = Record<string, string | undefined>;

function withoutUndefined(params: Params): Record<string, string> {
  return Object.fromEntries(
    Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

export interface CallRequestOptions {
  /** Body parameters; `CallSid` is added unless given. */
  params?: Params;
  encoding?: 'form' | 'json';
  /** Default: form bodies base64 (as HTTP API delivers them), JSON plain. */
  base64?: boolean;
  /** A raw body instead of one built from `params` (then `sign` signs nothing meaningful). */
  rawBody?: string;
  contentType?: string;
  /** 'sign' (default): a correct signature; 'none': no header; or the header's value. */
  signature?: 'sign' | 'none' | string;
  token?: string;
  /** The URL to sign; default the URL as received. */
  signUrl?: string;
  /** Sign this base + `?` + the query as sent (bodySHA256 included) instead. */
  signBase?: string;
  host?: string | null;
  proto?: string | null;
  rawPath?: string;
  routeKey?: string;
  /** Extra query (JSON bodies add bodySHA256 after it). */
  query?: string;
  sourceIp?: string;
  headers?: Record<string, string>;
}

export const CALL_SID = 'CA0123456789abcdef0123456789abcdef';

export function formBody(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

/** An event as API Gateway hands it to Lambda, signed the way Twilio signs. */
export function callEvent(options: CallRequestOptions = {}): APIGatewayProxyEventV2 {
  const encoding = options.encoding ?? 'form';
  // As Twilio sends them for a call from one of our app users; `params` override (undefined removes).
  const params = withoutUndefined({ CallSid: CALL_SID, AccountSid: ACCOUNT_SID, From: CALLER, ...options.params });
  const body = options.rawBody ?? (encoding === 'form' ? formBody(params) : JSON.stringify(params));
  const base64 = options.base64 ?? encoding === 'form';
  const host = options.host === undefined ? HOST : options.host;
  const proto = options.proto === undefined ? 'https' : options.proto;
  const rawPath = options.rawPath ?? ROUTE_PATH;
  const queryParts = [options.query, encoding === 'json' ? `bodySHA256=${getExpectedBodyHash(body)}` : undefined];
  const rawQueryString = queryParts.filter((part) => part).join('&');
  const receivedUrl = `${proto ?? 'https'}://${host ?? HOST}${rawPath}${rawQueryString ? `?${rawQueryString}` : ''}`;
  const signUrl =
    options.signUrl ??
    (options.signBase ? `${options.signBase}${rawQueryString ? `?${rawQueryString}` : ''}` : receivedUrl);
  const token = options.token ?? AUTH_TOKEN;
  const signature =
    options.signature === undefined || options.signature === 'sign'
      ? getExpectedTwilioSignature(token, signUrl, encoding === 'form' ? params : {})
      : options.signature;
  const headers: Record<string, string> = {
    'content-type':
      options.contentType ?? (encoding === 'form' ? 'application/x-www-form-urlencoded' : 'application/json'),
    'user-agent': 'TwilioProxy/1.1',
    ...(host === null ? {} : { host }),
    ...(proto === null ? {} : { 'x-forwarded-proto': proto }),
    ...(signature === 'none' ? {} : { 'x-twilio-signature': signature }),
    ...options.headers,
  };
  const routeKey = options.routeKey ?? `POST ${ROUTE_PATH}`;
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    headers,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123defg',
      domainName: HOST,
      domainPrefix: 'abc123defg',
      http: {
        method: 'POST',
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: options.sourceIp ?? '54.172.60.1',
        userAgent: 'TwilioProxy/1.1',
      },
      requestId: 'test-request',
      routeKey,
      stage: '$default',
      time: '12/Jan/2025:19:04:11 +0000',
      timeEpoch: 1736708651123,
    },
    body: base64 ? Buffer.from(body, 'utf8').toString('base64') : body,
    isBase64Encoded: base64,
  };
}

/** The same for a POST to another webhook route (`/api/v1/dial_status`, `/api/v1/call_status`): its path and route key. */
export function webhookEvent(path: string, options: CallRequestOptions = {}): APIGatewayProxyEventV2 {
  return callEvent({ rawPath: path, routeKey: `POST ${path}`, ...options });
}

export interface SentAlert {
  alert: VendorAlert;
  webhookUrl: string | undefined;
}

/** The handler with the real config loader, a recording log and (by default) a recording alert sender. */
export function callHandler(env: Env = POLICY_ENV, overrides: Partial<MakeCallDeps> = {}) {
  const log = recordingLog();
  const alerts: SentAlert[] = [];
  const recordAlert: AlertSender = async (alert, webhookUrl) => {
    alerts.push({ alert, webhookUrl });
  };
  const handler = createHandler({
    config: makeCallConfig(env),
    log,
    alert: recordAlert,
    alertGate: openGate,
    logGate: openGate,
    allowUnsignedRequests: false,
    ...overrides,
  });
  return { handler, log, alerts };
}

/** The body of a 200 TwiML response; fails on anything else. */
export function twimlBody(response: HttpResponse): string {
  if (response.statusCode !== 200 || response.headers?.['content-type'] !== 'text/xml') {
    throw new Error(`expected 200 text/xml, got ${response.statusCode} ${JSON.stringify(response.body).slice(0, 200)}`);
  }
  return response.body;
}

/** The exact TwiML issue 3 gives for a spoken message. */
export function sayTwiml(text: string): string {
  return `${XML_DECLARATION}<Response><Say>${text}</Say></Response>`;
}
