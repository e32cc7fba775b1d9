/**
 * make_call's libraries alone, none of our code: what answering the benchmarked webhook (a
 * signed call to a US number) costs in Powertools Logger and Metrics, twilio's signature check
 * and VoiceResponse, and libphonenumber-js at the least. One Logger at module level; Powertools
 * Metrics imported, and one `Metrics` made, at the first invocation (ours loads it at its first
 * flush); the form parsed, `validateRequest`, the dialing countries checked once per container
 * (ours checks its settings once), the number parsed and typed once, the TwiML rendered, one
 * log line, one metric, ours' answer.
 *
 * The `<Dial>` and `<Number>` attributes are ours' (from our handler's answer to the same
 * request, test/bench/cases.ts), given at build time (esbuild `define`): the settings that
 * make them are our code.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { isSupportedCountry, parsePhoneNumberWithError } from 'libphonenumber-js/max';
import VoiceResponse from 'twilio/lib/twiml/VoiceResponse.js';
import { validateRequest } from 'twilio/lib/webhooks/webhooks.js';
import type { DECISIONS, METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../../../lib/metricNames.js';

declare const LIBRARIES_ALONE_DIAL: Record<string, string>;
declare const LIBRARIES_ALONE_NUMBER: Record<string, string>;
const DIAL = LIBRARIES_ALONE_DIAL;
const NUMBER = LIBRARIES_ALONE_NUMBER;

// The names are lib/metricNames.ts's (type-checked), written out: no module of ours is bundled.
const SERVICE = 'voice' satisfies typeof SERVICE_NAME;
const logger = new Logger({ serviceName: SERVICE });
let metrics: Promise<Metrics> | undefined;
/** Ours checks its dialing settings against the metadata once per container (the default countries). */
let countriesSupported: boolean | undefined;
const setting = (name: string) => process.env[name] ?? '';
const TWIML_HEADERS = { 'content-type': 'text/xml', 'cache-control': 'no-store' };

export async function handler(event: APIGatewayProxyEventV2) {
  const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8').toString('utf8');
  const params = Object.fromEntries(new URLSearchParams(body));
  const url = `${setting('PUBLIC_BASE_URL')}${event.rawPath}`;
  if (!validateRequest(setting('TWILIO_AUTH_TOKEN'), event.headers['x-twilio-signature'] ?? '', url, params)) {
    return { statusCode: 403, headers: { 'content-type': 'text/plain' }, body: 'Forbidden' };
  }
  countriesSupported ??= ['US', 'CA'].every((country) => isSupportedCountry(country));
  const number = parsePhoneNumberWithError(params.to ?? '', 'US');
  const response = new VoiceResponse();
  if (!countriesSupported || number.getType() === undefined) {
    // Not the benchmarked request.
    response.say('The number you dialed is not valid. Good bye.');
    return { statusCode: 200, headers: TWIML_HEADERS, body: response.toString() };
  }
  response.dial(DIAL).number(NUMBER, number.number);
  const twiml = response.toString();
  logger.info('Call routed', {
    callSid: params.CallSid,
    decision: 'dial number',
    to: number.number,
    callerId: DIAL.callerId,
  });
  metrics ??= import('@aws-lambda-powertools/metrics').then(
    ({ Metrics }) =>
      new Metrics({ namespace: 'VoiceService' satisfies typeof METRICS_NAMESPACE, serviceName: SERVICE }),
  );
  const sink = await metrics;
  sink.addDimension('Decision', 'number' satisfies (typeof DECISIONS)[number]);
  sink.addMetric('CallRouted' satisfies (typeof METRIC)['CallRouted'], 'Count', 1);
  sink.publishStoredMetrics();
  return { statusCode: 200, headers: TWIML_HEADERS, body: twiml };
}
