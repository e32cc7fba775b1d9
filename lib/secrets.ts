/**
 * Where the secrets come from — one Secrets Manager secret (SECRET_ID set) or the
 * environment — and how a container keeps them: a changed secret live within the TTL, and
 * an outage of the store costing at most one request one bounded wait (`secretCache`).
 */
import { ConfigError, type Env, SECRET_NAMES } from './config.js';
import { withDeadline } from './deadline.js';
import { STALE_CONNECTION_RETRY } from './staleConnectionRetry.js';

export type SecretValues = Env;
export type SecretSource = () => Promise<SecretValues>;

/** The secret store itself failed: not the caller's fault and not a bad value. */
export class SecretStoreError extends Error {
  override readonly name = 'SecretStoreError';
}

export function secretsFromEnv(env: Env): SecretSource {
  const values = Object.fromEntries(SECRET_NAMES.map((name) => [name, env[name]]));
  return async () => values;
}

/**
 * Parses a SecretString: a JSON object whose keys are secret names and whose values are
 * strings. Unknown keys are refused (a typo would otherwise silently drop a secret) and
 * counted, never quoted: an operator who pastes a value where a key belongs has pasted a
 * secret. Messages never quote the text either.
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
  let unknown = 0;
  for (const [key, value] of Object.entries(parsed)) {
    if (!known.includes(key)) unknown += 1;
    else if (typeof value !== 'string') problems.push(`${key} in the secret must be a string`);
  }
  if (unknown > 0) {
    problems.push(
      `the secret has ${unknown} unknown key${unknown === 1 ? '' : 's'} (not shown; the known keys are ${known.join(', ')})`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return parsed as SecretValues;
}

/**
 * What may be said of an SDK error: its name and HTTP status. Its message may quote the
 * answer (the SDK's parser quotes the start of a body that is not JSON).
 */
export function describeStoreError(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown error';
  const status = (error as { $metadata?: { httpStatusCode?: unknown } }).$metadata?.httpStatusCode;
  return typeof status === 'number' ? `${error.name} (HTTP ${status})` : error.name;
}

export interface SecretsManagerOptions {
  /** Limit for connecting; the SDK's own default waits forever. */
  connectionTimeoutMs?: number;
  /** Limit for the answer once connected. */
  requestTimeoutMs?: number;
  /** Limit for the whole read, SDK loading and credentials included. */
  deadlineMs?: number;
}

/** No request may wait more than 5 s for the store: one attempt, bounded, and retries left to `secretCache`. */
export const STORE_DEADLINE_MS = 4000;

/**
 * Reads the secret through the AWS SDK, loaded on first use only: it costs ~110 ms of
 * cold start, and functions that never read a secret from AWS should not pay it. One HTTP
 * request per read, a second only when its kept-alive connection was found closed
 * (lib/staleConnectionRetry.ts): `secretCache` decides when to try again, so the store
 * sees a bounded number of attempts whatever the traffic.
 */
export function secretsFromSecretsManager(secretId: string, options: SecretsManagerOptions = {}): SecretSource {
  const connectionTimeout = options.connectionTimeoutMs ?? 1000;
  const requestTimeout = options.requestTimeoutMs ?? 3000;
  const deadlineMs = options.deadlineMs ?? STORE_DEADLINE_MS;
  let clientPromise: Promise<(id: string) => Promise<string | undefined>> | undefined;
  const getClient = async () => {
    const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
    const client = new SecretsManagerClient({
      maxAttempts: 2,
      retryStrategy: STALE_CONNECTION_RETRY,
      requestHandler: { connectionTimeout, requestTimeout, throwOnRequestTimeout: true },
    });
    return async (id: string) => (await client.send(new GetSecretValueCommand({ SecretId: id }))).SecretString;
  };
  const read = async () => {
    clientPromise ??= getClient().catch((error: unknown) => {
      clientPromise = undefined;
      throw error;
    });
    return (await clientPromise)(secretId);
  };
  return async () => {
    let secretString: string | undefined;
    try {
      secretString = await withDeadline(
        read(),
        deadlineMs,
        () => new SecretStoreError(`Reading the secret took longer than ${deadlineMs} ms`),
      );
    } catch (error) {
      if (error instanceof SecretStoreError) throw error;
      throw new SecretStoreError(`Reading the secret named by SECRET_ID failed: ${describeStoreError(error)}`);
    }
    return parseSecretString(secretString);
  };
}

/** Something the cache has to tell; the next request to read the cache passes it on (log, alert, metric). */
export type SecretNotice =
  /**
   * A refresh failed; the last good value is served. `first`: the first failure of this
   * outage; `outageSince`: when its first failure was (the clock's ms), which tells outages apart.
   */
  | { kind: 'stale'; first: boolean; reason: string; staleForSeconds: number; outageSince: number }
  /** A read succeeded after failures. */
  | { kind: 'recovered'; failedForSeconds: number };

export interface CacheRead<T> {
  value: T;
  /** Served past its TTL because the store could not be read. */
  stale: boolean;
  /** Notices since the last read that took them. */
  notices: readonly SecretNotice[];
}

export interface SecretCacheOptions {
  /** SECRETS_CACHE_TTL: how long a value is fresh. */
  ttlMs: number;
  /** SECRETS_MAX_STALE: how long past its TTL a value may be served while the store fails. */
  maxStaleMs: number;
  /** Holding a value: the least time between two failed refreshes. */
  staleRetryMs?: number;
  /** Holding none: the least time between two attempts; requests in between fail at once. */
  coldRetryMs?: number;
  /** A read under way for longer than this is abandoned (see ABANDON_READ_AFTER_MS). */
  abandonAfterMs?: number;
  now?: () => number;
}

export const STALE_RETRY_MS = 30_000;
export const COLD_RETRY_MS = 5_000;
/**
 * A read is bounded by the store's deadline (STORE_DEADLINE_MS), so one under way for twice
 * that was frozen with the container (Lambda freezes it between invocations, a read started
 * behind a request included). After the thaw its overdue deadline would fail it at once, and
 * a request that waited for it would fail and hold back the next read by a retry interval
 * while the store is healthy: it is abandoned instead, its answer ignored, and a new read made.
 */
export const ABANDON_READ_AFTER_MS = 2 * STORE_DEADLINE_MS;

/**
 * The secret cache. A fresh value is served as is. Past its TTL the request waits for a
 * refresh (concurrent requests share one read, bounded by the source like a cold read),
 * so a changed secret is live within the TTL. When that refresh fails, the value is
 * served stale, and while failures continue it is served at once for `maxStaleMs` past
 * its TTL, with one retry at most every `staleRetryMs` behind the requests: during an
 * outage only the first request past the TTL waits. With no value to serve, a request
 * waits for one read, and a failure is answered to every request for `coldRetryMs`
 * without asking the store again. `read` is the whole fetch, validation included: a value
 * that does not validate is a failed read, so a bad edit of the secret never replaces a
 * good value.
 */
export function secretCache<T>(read: () => Promise<T>, options: SecretCacheOptions) {
  const now = options.now ?? Date.now;
  const staleRetryMs = options.staleRetryMs ?? STALE_RETRY_MS;
  const coldRetryMs = options.coldRetryMs ?? COLD_RETRY_MS;
  const abandonAfterMs = options.abandonAfterMs ?? ABANDON_READ_AFTER_MS;
  let good: { value: T; fetchedAt: number } | undefined;
  let inFlight: { promise: Promise<void>; since: number } | undefined;
  let lastFailure: { at: number; error: unknown } | undefined;
  /** When the current run of failures began. */
  let failingSince: number | undefined;
  let notices: SecretNotice[] = [];

  const usable = (time: number) => good !== undefined && time - good.fetchedAt < options.ttlMs + options.maxStaleMs;

  /** The read under way, unless it is so old it was frozen with the container (ABANDON_READ_AFTER_MS). */
  const underWay = (time: number) =>
    inFlight !== undefined && time - inFlight.since <= abandonAfterMs ? inFlight.promise : undefined;

  const attempt = (): Promise<void> => {
    const time = now();
    const running = underWay(time);
    if (running) return running;
    const started = { since: time, promise: Promise.resolve() };
    // An abandoned read's answer changes nothing: a newer read has taken its place.
    const current = () => inFlight === started;
    started.promise = read()
      .then(
        (value) => {
          if (!current()) return;
          const time = now();
          if (failingSince !== undefined) {
            notices.push({ kind: 'recovered', failedForSeconds: Math.round((time - failingSince) / 1000) });
          }
          good = { value, fetchedAt: time };
          lastFailure = undefined;
          failingSince = undefined;
        },
        (error: unknown) => {
          if (!current()) return;
          const time = now();
          lastFailure = { at: time, error };
          // A value usable now was usable at each earlier failure of this run: the first failure gives the first notice.
          const first = failingSince === undefined;
          failingSince ??= time;
          const reason = error instanceof Error ? error.message : 'unknown error';
          // With no value to serve, the request that waited for this read reports the failure itself.
          if (good && usable(time)) {
            const staleForSeconds = Math.max(0, Math.round((time - good.fetchedAt - options.ttlMs) / 1000));
            notices.push({ kind: 'stale', first, reason, staleForSeconds, outageSince: failingSince });
          }
        },
      )
      .finally(() => {
        if (current()) inFlight = undefined;
      });
    inFlight = started;
    return started.promise;
  };

  const take = (): readonly SecretNotice[] => {
    if (notices.length === 0) return [];
    const taken = notices;
    notices = [];
    return taken;
  };

  const serve = (value: T): CacheRead<T> => ({ value, stale: lastFailure !== undefined, notices: take() });

  return async (): Promise<CacheRead<T>> => {
    const time = now();
    if (good && time - good.fetchedAt < options.ttlMs) return serve(good.value);
    if (good && usable(time) && lastFailure) {
      if (!underWay(time) && time - lastFailure.at >= staleRetryMs) void attempt();
      return serve(good.value);
    }
    // Past the TTL with the store healthy, or nothing to serve: wait for one read (shared).
    if (underWay(time) || !lastFailure || time - lastFailure.at >= coldRetryMs) await attempt();
    if (good && usable(now())) return serve(good.value);
    throw lastFailure?.error ?? new SecretStoreError('No secret value');
  };
}
