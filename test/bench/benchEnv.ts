/**
 * What the bench feeds the functions besides the stack's own environment: the values a
 * deployed template leaves to CloudFormation or to the secret, what Lambda itself sets in
 * every function's environment, and the requests (valid, signed, fake, offline).
 */
import { dirname } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { authorizerEvent, proxyEvent } from '../../infra/local/apiGatewayEvent.js';
import { DEVELOPMENT_SETTINGS } from '../../infra/local/localEnv.js';
import { portalToken } from '../../infra/local/portalToken.js';
import { type FieldName, SECRET_NAMES } from '../../lib/config.js';
import { SLOT_HOLDER_PARAM } from '../../lib/routePaths.js';

/**
 * The secret's JSON: every key the functions know, fake values for those they need, empty
 * strings for the optional ones (a previous JWT secret, a secondary auth token, Slack), as a
 * freshly filled secret holds them.
 */
export const BENCH_SECRETS: Record<string, string> = {
  ...Object.fromEntries(SECRET_NAMES.map((name) => [name, ''])),
  TWILIO_API_KEY: DEVELOPMENT_SETTINGS.TWILIO_API_KEY as string,
  TWILIO_API_KEY_SECRET: DEVELOPMENT_SETTINGS.TWILIO_API_KEY_SECRET as string,
  JWT_SECRET: DEVELOPMENT_SETTINGS.JWT_SECRET as string,
  TWILIO_AUTH_TOKEN: 'bench-auth-token-0123456789abcdef',
};

/** The name the bench's Secrets Manager endpoint answers for; the template's SECRET_ID is a CloudFormation Ref. */
export const BENCH_SECRET_ID = 'voice/bench';
export const BENCH_TABLE = 'voice-call-limits-bench';
/** A table of its own for the warm run with the limits on, so its service-wide counter starts at zero. */
export const BENCH_WARM_TABLE = 'voice-call-limits-bench-warm';
const API_HOST = 'bench0api0.execute-api.us-east-1.amazonaws.com';

/**
 * What the template's CloudFormation references stand for here. A reference to anything else
 * stops the bench: running a function with a value it would never get proves nothing.
 */
export const STACK_REFERENCES: Partial<Record<FieldName, string>> = {
  SECRET_ID: BENCH_SECRET_ID,
  // The HTTP API's endpoint (Fn::GetAtt ApiEndpoint): what Twilio signs make_call's URL with.
  PUBLIC_BASE_URL: `https://${API_HOST}`,
  CALL_LIMITS_TABLE: BENCH_TABLE,
};

/** The dummy credentials Lambda's role would provide; the loopback endpoints accept any. */
export const DUMMY_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: 'AKIDBENCHBENCHBENCH0',
  AWS_SECRET_ACCESS_KEY: 'bench-secret-access-key',
  AWS_SESSION_TOKEN: 'bench-session-token',
};

/** Lambda's PATH has the runtime's directory first; here that is this Node's. */
export const BENCH_PATH = `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`;

export interface FunctionProps {
  /** The CloudFormation function name stand-in, e.g. `VoiceService-makeCall`. */
  functionName: string;
  memorySize: number;
  runtime: string;
  handler: string;
  logFormat: string | undefined;
  applicationLogLevel: string | undefined;
}

/**
 * What the Lambda runtime puts in every function's environment that code (Powertools, the AWS
 * SDK) reads offline too: region, function name and memory, init type, log format and level
 * (JSON logs get an application log level, INFO unless the stack sets one), the execution
 * environment (the SDK's user agent), a trace header, credentials.
 */
export function lambdaProvidedEnv(props: FunctionProps): Record<string, string> {
  return {
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_LAMBDA_FUNCTION_NAME: props.functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(props.memorySize),
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${props.functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: '2025/01/01/[$LATEST]00000000000000000000000000000000',
    ...(props.logFormat ? { AWS_LAMBDA_LOG_FORMAT: props.logFormat } : {}),
    ...(props.logFormat === 'JSON' ? { AWS_LAMBDA_LOG_LEVEL: props.applicationLogLevel ?? 'INFO' } : {}),
    AWS_EXECUTION_ENV: `AWS_Lambda_${props.runtime}`,
    _HANDLER: props.handler,
    _X_AMZN_TRACE_ID: 'Root=1-67890abc-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=0',
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
    PATH: BENCH_PATH,
    ...DUMMY_CREDENTIALS,
  };
}

/** The settings the requests are built from: the deployed environment's, resolved. */
export interface EventSettings {
  TWILIO_ACCOUNT_SID: string;
  TWILIO_ML_APP_SID: string;
  PUBLIC_BASE_URL: string;
}

/** The number every call dials: valid, in the US, not premium (FACTS.md). */
export const DIALED_NUMBER = '+14155550123';

/** A signed Twilio webhook, as API Gateway (HTTP API, payload 2.0) hands it to Lambda. */
function twilioWebhook(settings: EventSettings, path: string, params: Record<string, string>, query = '') {
  const url = `${settings.PUBLIC_BASE_URL}${path}${query ? `?${query}` : ''}`;
  const signature = getExpectedTwilioSignature(BENCH_SECRETS.TWILIO_AUTH_TOKEN as string, url, params);
  return proxyEvent(
    {
      method: 'POST',
      url: `${path}${query ? `?${query}` : ''}`,
      headers: {
        host: new URL(settings.PUBLIC_BASE_URL).host,
        'content-type': 'application/x-www-form-urlencoded',
        'user-agent': 'TwilioProxy/1.1',
        'x-twilio-signature': signature,
      },
      body: Buffer.from(new URLSearchParams(params).toString()),
      sourceIp: '54.172.60.1',
    },
    `POST ${path}`,
  );
}

const sid = (prefix: string, n: number) => `${prefix}${n.toString(16).padStart(32, '0')}`;
/** The CallSid of make_call's call `n` (and the ParentCallSid of its dialed leg's status events). */
export const callSidOf = (n: number) => sid('CA', n + 1);

/**
 * make_call for call `n`: app user `1000 + n` of our account and app dials DIALED_NUMBER. A
 * caller and a CallSid of its own per call, so that with the limits on no caller reaches
 * theirs (10 phone calls an hour by default) and every call takes the full path.
 */
export function makeCallEvent(settings: EventSettings, n = 0): APIGatewayProxyEventV2 {
  const caller = `client:${settings.TWILIO_ML_APP_SID}_uid${1000 + n}`;
  return twilioWebhook(settings, '/api/v1/make_call', {
    CallSid: callSidOf(n),
    AccountSid: settings.TWILIO_ACCOUNT_SID,
    From: caller,
    Caller: caller,
    Direction: 'inbound',
    CallStatus: 'ringing',
    to: DIALED_NUMBER,
    from: caller,
  });
}

/** The caller `makeCallEvent(settings, n)` counts against: `u#<user id>` keys in the limits table. */
export const callerUserId = (n: number) => String(1000 + n);

/** The query of call `n`'s statusCallback URL as make_call writes it with the limits on: whose slot it holds. */
export const callStatusQuery = (n: number) => `${SLOT_HOLDER_PARAM}=${callerUserId(n)}`;

/**
 * call_status for the dialed leg of call `n` ending `completed`, at the URL make_call gave it:
 * logged, counted (duration and outcome) and, with the limits on, it frees the concurrent-call
 * slot call `n` took.
 */
export function callStatusEvent(settings: EventSettings, n = 0): APIGatewayProxyEventV2 {
  return twilioWebhook(
    settings,
    '/api/v1/call_status',
    {
      CallSid: sid('CB', n + 1),
      ParentCallSid: callSidOf(n),
      AccountSid: settings.TWILIO_ACCOUNT_SID,
      To: DIALED_NUMBER,
      Direction: 'outbound-dial',
      CallStatus: 'completed',
      CallDuration: '42',
      SequenceNumber: '3',
    },
    callStatusQuery(n),
  );
}

/** The portal's bearer token (user 42), the authorizer's request for it, and call_token's after it. */
export async function appEvents(settings: EventSettings) {
  const token = await portalToken('42', BENCH_SECRETS.JWT_SECRET as string);
  const host = new URL(settings.PUBLIC_BASE_URL).host;
  const callToken = proxyEvent(
    {
      method: 'GET',
      url: '/api/v1/call_token?type=apns',
      headers: { host, authorization: `Bearer ${token}`, 'user-agent': 'VoiceApp/1.0' },
      body: Buffer.alloc(0),
      sourceIp: '203.0.113.7',
    },
    'GET /api/v1/call_token',
  );
  // API Gateway hands call_token the authorizer's context.
  const authorized = {
    ...callToken,
    requestContext: { ...callToken.requestContext, authorizer: { lambda: { userId: '42' } } },
  };
  return { token, authorizer: authorizerEvent(callToken), callToken: authorized };
}
