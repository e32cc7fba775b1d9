/**
 * The Secrets Manager client alone: create it and make the one GetSecretValue call a cold
 * function makes, against the loopback endpoint (AWS_ENDPOINT_URL_SECRETS_MANAGER). Its cold
 * start minus a bare node is what reading the secret can cost at the least.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export async function handler() {
  const client = new SecretsManagerClient({});
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: process.env.SECRET_ID }));
  return { statusCode: SecretString ? 200 : 500 };
}
