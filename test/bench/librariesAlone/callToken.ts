/**
 * call_token's libraries alone, none of our code: what issuing the benchmarked token costs in
 * Powertools Logger and Metrics and twilio's AccessToken at the least. One Logger at module
 * level; Powertools Metrics imported, and one `Metrics` made, at the first invocation (ours
 * loads it at its first flush); the API key secret as a KeyObject made once (jsonwebtoken
 * re-derives a key from a string on every sign); the same VoiceGrant, log line and metric
 * as ours, and ours' answer.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2WithLambdaAuthorizer } from 'aws-lambda';
import AccessToken from 'twilio/lib/jwt/AccessToken.js';
import type { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../../../lib/metricNames.js';

// The names are lib/metricNames.ts's (type-checked), written out: no module of ours is bundled.
const SERVICE = 'voice' satisfies typeof SERVICE_NAME;
const logger = new Logger({ serviceName: SERVICE });
let metrics: Promise<Metrics> | undefined;
let signingKey: KeyObject | undefined;
const setting = (name: string) => process.env[name] ?? '';
const TTL_SECONDS = 3600;

export async function handler(event: APIGatewayProxyEventV2WithLambdaAuthorizer<{ userId: string }>) {
  const userId = event.requestContext.authorizer.lambda.userId;
  const platform = event.queryStringParameters?.type === 'fcm' ? 'fcm' : 'apns';
  signingKey ??= createSecretKey(Buffer.from(setting('TWILIO_API_KEY_SECRET'), 'utf8'));
  const prefix = `${setting('TWILIO_ML_APP_SID')}_uid`;
  const accessToken = new AccessToken(
    setting('TWILIO_ACCOUNT_SID'),
    setting('TWILIO_API_KEY'),
    // jsonwebtoken takes a KeyObject where AccessToken's types say string.
    signingKey as unknown as string,
    { identity: prefix + userId, ttl: TTL_SECONDS },
  );
  accessToken.addGrant(
    new AccessToken.VoiceGrant({
      pushCredentialSid: platform === 'apns' ? setting('TWILIO_ML_APNS_CERT_SID') : setting('TWILIO_ML_FCM_CERT_SID'),
      outgoingApplicationSid: setting('TWILIO_ML_APP_SID'),
    }),
  );
  const token = accessToken.toJwt();
  logger.info('Token issued', { userId, platform });
  metrics ??= import('@aws-lambda-powertools/metrics').then(
    ({ Metrics }) =>
      new Metrics({ namespace: 'VoiceService' satisfies typeof METRICS_NAMESPACE, serviceName: SERVICE }),
  );
  const sink = await metrics;
  sink.addDimension('Platform', platform);
  sink.addMetric('TokenIssued' satisfies (typeof METRIC)['TokenIssued'], 'Count', 1);
  sink.publishStoredMetrics();
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify({ status: 'success', data: { token, identity_prefix: prefix, expires_in: TTL_SECONDS } }),
  };
}
