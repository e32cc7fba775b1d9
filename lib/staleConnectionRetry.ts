/**
 * One rule for every client that keeps connections alive between invocations (the AWS SDK
 * clients, Slack's): a request whose connection was closed or reset before any answer is
 * sent once more, at once; nothing else is retried here.
 *
 * Most often that is a kept-alive connection the other side closed while the container was
 * frozen: it still looks open when the container thaws, and the first request on it fails
 * at once (ECONNRESET or EPIPE from Node's http, "other side closed" from fetch;
 * aws/aws-sdk-js-v3#1196, and Node's `request.reusedSocket` documents the same race). The
 * SDK's own strategy would retry it, but also throttling, 5xx and timeouts, with backoff:
 * past the 400 ms a call limit may take, and a write that timed out or was answered may
 * have landed (the counters are not idempotent). So one attempt, as before, plus one for a
 * connection that never answered: a refresh after an idle spell does not become a false
 * "secret store unreachable", a call limit is not left unchecked, an alert is not lost.
 */

/** What the SDK asks of a retry token: how many retries so far, and how long to wait before the next. */
interface RetryToken {
  getRetryCount(): number;
  getRetryDelay(): number;
}

/**
 * The codes of a connection the other side had closed: Node's http (the SDK renames the
 * error, not its code) and fetch's undici, which gives it as the cause of "fetch failed".
 */
const CLOSED_CONNECTION_CODES: readonly unknown[] = ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET'];

const codeOf = (error: unknown): unknown => (error as { code?: unknown } | undefined)?.code;

export const isClosedConnection = (error: unknown): boolean =>
  CLOSED_CONNECTION_CODES.includes(codeOf(error)) ||
  CLOSED_CONNECTION_CODES.includes(codeOf((error as { cause?: unknown } | undefined)?.cause));

/**
 * The SDK's error carries the HTTP answer when one came (`$response`, and its status in
 * `$metadata`): a connection reset partway through an answer's body is not retried, since
 * the store has acted on the request.
 */
function answered(error: unknown): boolean {
  const sdkError = error as { $response?: unknown; $metadata?: { httpStatusCode?: unknown } } | undefined;
  return sdkError?.$response !== undefined || sdkError?.$metadata?.httpStatusCode !== undefined;
}

const firstAttempt: RetryToken = { getRetryCount: () => 0, getRetryDelay: () => 0 };
const secondAttempt: RetryToken = { getRetryCount: () => 1, getRetryDelay: () => 0 };

/** The AWS SDK clients' `retryStrategy` (its RetryStrategyV2), with `maxAttempts: 2` beside it for the SDK's request header. */
export const STALE_CONNECTION_RETRY = {
  acquireInitialRetryToken: async (_scope: string): Promise<RetryToken> => firstAttempt,
  refreshRetryTokenForRetry: async (token: RetryToken, { error }: { error?: unknown }): Promise<RetryToken> => {
    // Throwing ends the retries; the SDK then throws the request's own error.
    if (token.getRetryCount() > 0 || !isClosedConnection(error) || answered(error)) throw error;
    return secondAttempt;
  },
  recordSuccess: (_token: RetryToken): void => undefined,
};
