/**
 * The naive make_call, as Twilio's quickstart servers answer the voice webhook: the `twilio`
 * package root, `twilio.validateRequest` on the form parameters, then a VoiceResponse that
 * dials the number asked for from the configured caller id.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import twilio from 'twilio';

/** A quickstart reads its settings straight from the environment. */
const setting = (name: string) => process.env[name] ?? '';

export async function handler(event: APIGatewayProxyEventV2) {
  const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8').toString();
  const params = Object.fromEntries(new URLSearchParams(body));
  const url = `${setting('PUBLIC_BASE_URL')}${event.rawPath}`;
  if (!twilio.validateRequest(setting('TWILIO_AUTH_TOKEN'), event.headers['x-twilio-signature'] ?? '', url, params)) {
    return { statusCode: 403, body: 'Forbidden' };
  }
  const response = new twilio.twiml.VoiceResponse();
  response.dial({ callerId: setting('TWILIO_FROM') }).number(params.to ?? '');
  return { statusCode: 200, headers: { 'content-type': 'text/xml' }, body: response.toString() };
}
