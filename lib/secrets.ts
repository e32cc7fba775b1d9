/**
 * Where the secrets come from: one Secrets Manager secret (SECRET_ID set) or the
 * environment. Either way the result is a plain record of the secret names, validated
 * later by `parseFields` alongside the settings.
 */
import { ConfigError, type Env, SECRET_NAMES } from './config.js';

export type SecretValues = Env;
export type SecretSource = () => Promise<SecretValues>;

/** Thrown when the secret store itself fails: not the caller's fault, never cached. */
export class SecretStoreError extends Error {
  override readonly name = 'SecretStoreError';
}

export function secretsFromEnv(env: Env): SecretSource {
  const values = Object.fromEntries(SECRET_NAMES.map((name) => [name, env[name]]));
  return async () => values;
}

/**
 * Parses a SecretString: a JSON object whose keys are secret names and whose values
 * are strings. Unknown keys are refused (a typo would otherwise silently drop a
 * secret). Messages never quote the text: it is the secret.
 */
export function parseSecretString(secretString: string | undefined): SecretValues {
  if (secretString === undefined) throw new ConfigError(['SECRET_ID names a secret without a SecretString']);
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    throw new ConfigError(['SECRET_ID names a secret whose SecretString is not valid JSON']);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(['SECRET_ID names a secret whose SecretString is not a JSON object']);
  }
  const problems: string[] = [];
  const known: readonly string[] = SECRET_NAMES;
  for (const [key, value] of Object.entries(parsed)) {
    if (!known.includes(key)) problems.push(`the secret has an unknown key ${JSON.stringify(key.slice(0, 64))}`);
    else if (typeof value !== 'string') problems.push(`${key} in the secret must be a string`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return parsed as SecretValues;
}

export interface SecretsManagerOptions {
  /** Per-attempt limit; the SDK's own default is to wait forever. */
  requestTimeoutMs?: number;
}

/**
 * Reads the secret through the AWS SDK. The SDK is loaded on first use only: it costs
 * ~110 ms of cold start, and functions that never read a secret from AWS (tests, the
 * local gateway without SECRET_ID) should not pay it.
 */
export function secretsFromSecretsManager(secretId: string, options: SecretsManagerOptions = {}): SecretSource {
  const timeout = options.requestTimeoutMs ?? 2000;
  let clientPromise: Promise<(id: string) => Promise<string | undefined>> | undefined;
  const getClient = async () => {
    const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
    const client = new SecretsManagerClient({
      maxAttempts: 2,
      requestHandler: { connectionTimeout: timeout, requestTimeout: timeout, throwOnRequestTimeout: true },
    });
    return async (id: string) => (await client.send(new GetSecretValueCommand({ SecretId: id }))).SecretString;
  };
  return async () => {
    clientPromise ??= getClient();
    let secretString: string | undefined;
    try {
      secretString = await (await clientPromise)(secretId);
    } catch (error) {
      // The SDK's error names the failure (AccessDenied, ResourceNotFound, timeout); no secret is in it.
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
      throw new SecretStoreError(`Reading secret SECRET_ID failed: ${reason}`, { cause: error });
    }
    return parseSecretString(secretString);
  };
}

/**
 * Caches a successful read for `ttlMs`; concurrent callers share one read. Failures are
 * not cached, so the next request tries again.
 */
export function cachedSecrets(source: SecretSource, ttlMs: number, now: () => number = Date.now): SecretSource {
  let cached: { values: SecretValues; until: number } | undefined;
  let inFlight: Promise<SecretValues> | undefined;
  return async () => {
    if (cached && now() < cached.until) return cached.values;
    inFlight ??= source()
      .then((values) => {
        cached = { values, until: now() + ttlMs };
        return values;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
}

/** The source every function uses: Secrets Manager when SECRET_ID is set, else the environment. */
export function defaultSecretSource(env: Env, secretId: string | undefined, ttlSeconds: number): SecretSource {
  const source = secretId ? secretsFromSecretsManager(secretId) : secretsFromEnv(env);
  return cachedSecrets(source, ttlSeconds * 1000);
}
