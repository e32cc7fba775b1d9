/**
 * The authorizer's libraries alone, none of our code: what the benchmarked request (a valid
 * portal token) costs in Powertools Logger and jose at the least. One Logger per container,
 * made at its first line, as ours (an allowed request writes no line, and counts no metric,
 * so Powertools Metrics is not loaded, as in ours); the HMAC key imported once per container;
 * jose's `jwtVerify` with the options ours passes; the answer ours gives.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { jwtVerify } from 'jose';
import type { SERVICE_NAME } from '../../../lib/metricNames.js';

let logger: Logger | undefined;

const importKey = (secret: string) =>
  crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'verify',
  ]);
let key: ReturnType<typeof importKey> | undefined;

export async function handler(event: APIGatewayRequestAuthorizerEventV2) {
  key ??= importKey(process.env.JWT_SECRET ?? '');
  const token = (event.headers?.authorization ?? '').slice('Bearer '.length);
  try {
    const { payload } = await jwtVerify(token, await key, {
      algorithms: ['HS256'],
      requiredClaims: ['exp'],
      clockTolerance: 30,
      currentDate: new Date(),
    });
    return { isAuthorized: true, context: { userId: String((payload.user as { id: unknown }).id) } };
  } catch {
    // Not the benchmarked request: ours logs a denial (capped), so this does too.
    logger ??= new Logger({ serviceName: 'voice' satisfies typeof SERVICE_NAME });
    logger.info('Denied', { routeKey: event.routeKey });
    return { isAuthorized: false };
  }
}
