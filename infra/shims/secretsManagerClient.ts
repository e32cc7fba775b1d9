/**
 * The on-demand build's entry for the Secrets Manager client (infra/bundling.ts): only what
 * lib/secrets.ts takes from it, so that esbuild drops the package's other commands.
 */
export { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
