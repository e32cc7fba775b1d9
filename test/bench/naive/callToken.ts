/**
 * The naive call_token, as Twilio's quickstart servers issue tokens: the `twilio` package root,
 * `new twilio.jwt.AccessToken(accountSid, keySid, secret, { identity })` with the API key
 * secret as a string (jsonwebtoken re-derives the key on every sign) and a VoiceGrant.
 */
import type { APIGatewayProxyEventV2WithLambdaAuthorizer } from 'aws-lambda';
import twilio from 'twilio';

const { AccessToken } = twilio.jwt;
const { VoiceGrant } = AccessToken;

/** A quickstart reads its settings straight from the environment. */
const setting = (name: string) => process.env[name] ?? '';

export async function handler(event: APIGatewayProxyEventV2WithLambdaAuthorizer<{ userId: string }>) {
  const userId = event.requestContext.authorizer.lambda.userId;
  const type = event.queryStringParameters?.type;
  const prefix = `${setting('TWILIO_ML_APP_SID')}_uid`;
  const token = new AccessToken(
    setting('TWILIO_ACCOUNT_SID'),
    setting('TWILIO_API_KEY'),
    setting('TWILIO_API_KEY_SECRET'),
    {
      identity: prefix + userId,
    },
  );
  token.addGrant(
    new VoiceGrant({
      outgoingApplicationSid: setting('TWILIO_ML_APP_SID'),
      pushCredentialSid: type === 'apns' ? setting('TWILIO_ML_APNS_CERT_SID') : setting('TWILIO_ML_FCM_CERT_SID'),
    }),
  );
  const data = { token: token.toJwt(), identity_prefix: prefix };
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ status: 'success', data }),
  };
}
