/** Settings, tokens and events the benchmarks feed the functions: valid, fake, offline. */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { authorizerEvent, proxyEvent } from '../../infra/local/apiGatewayEvent.js';
import { DEVELOPMENT_SETTINGS } from '../../infra/local/localEnv.js';
import { portalToken } from '../../infra/local/portalToken.js';

export const BENCH_ENV = {
  ...DEVELOPMENT_SETTINGS,
  TWILIO_AUTH_TOKEN: 'bench-auth-token-0123456789abcdef',
  PUBLIC_BASE_URL: 'https://voice.example.com',
  POWERTOOLS_LOG_LEVEL: 'WARN',
  POWERTOOLS_METRICS_DISABLED: 'true',
} as Record<string, string>;

export async function benchEvents() {
  const token = await portalToken('42', BENCH_ENV.JWT_SECRET as string);
  const request = (method: string, url: string, headers: Record<string, string>, body = '') => ({
    method,
    url,
    headers: { host: 'voice.example.com', ...headers },
    body: Buffer.from(body),
    sourceIp: '127.0.0.1',
  });
  const callToken = proxyEvent(
    request('GET', '/api/v1/call_token?type=apns', { authorization: `Bearer ${token}` }),
    'GET /api/v1/call_token',
  );
  const authorizer = authorizerEvent(callToken);
  const withContext = {
    ...callToken,
    requestContext: { ...callToken.requestContext, authorizer: { lambda: { userId: '42' } } },
  } as APIGatewayProxyEventV2;
  // A call from user 7 of the (development) account and app: dialed, as most calls are.
  const caller = `client:${BENCH_ENV.TWILIO_ML_APP_SID}_uid7`;
  const params = {
    CallSid: `CA${'1'.repeat(32)}`,
    AccountSid: BENCH_ENV.TWILIO_ACCOUNT_SID as string,
    From: caller,
    to: '+14155550123',
    from: caller,
  };
  const signature = getExpectedTwilioSignature(
    BENCH_ENV.TWILIO_AUTH_TOKEN as string,
    'https://voice.example.com/api/v1/make_call',
    params,
  );
  const makeCall = proxyEvent(
    request(
      'POST',
      '/api/v1/make_call',
      { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
      new URLSearchParams(params).toString(),
    ),
    'POST /api/v1/make_call',
  );
  return { authorizer, callToken: withContext, makeCall };
}
