/**
 * Structured logging. Handlers take a `Log`; on Lambda it is Powertools' Logger (JSON
 * lines with the request id), in tests anything that records. Callers pass only
 * non-secret attributes: no token, header or secret value is ever handed to a logger.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { errorLocation } from './errorLocation.js';
import { SERVICE_NAME } from './metricNames.js';
import { type Gate, windowedGate } from './rateLimits.js';

export type LogAttributes = Record<string, unknown>;

export interface Log {
  info(message: string, attributes?: LogAttributes): void;
  warn(message: string, attributes?: LogAttributes): void;
  error(message: string, attributes?: LogAttributes): void;
}

/**
 * One Powertools Logger per container, made at its first line: an allowed authorizer
 * request writes none, and there making it (its Console, its settings read from the
 * environment) was ≈ 3.5 ms of every cold start. The other functions log on every
 * request, so theirs is made at the first, as before.
 */
export function powertoolsLogger(): Log {
  let made: Logger | undefined;
  const logger = () => {
    made ??= new Logger({ serviceName: SERVICE_NAME });
    return made;
  };
  return {
    info: (message, attributes = {}) => logger().info(message, attributes),
    warn: (message, attributes = {}) => logger().warn(message, attributes),
    error: (message, attributes = {}) => logger().error(message, attributes),
  };
}

/** An error's name, for a line that says only what kind of failure it was. */
export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'NonError';
}

/**
 * What is safe to log of an error: its name and message, not its cause chain or payloads,
 * and where it was thrown in the TypeScript source (lib/errorLocation.ts; `unknown` when
 * no stack says). The location holds no message or value.
 */
export function describeError(error: unknown): { name: string; message: string; location: string } {
  const location = errorLocation(error) ?? 'unknown';
  const message = error instanceof Error ? error.message : typeof error;
  return { name: errorName(error), message, location };
}

export const LOG_WINDOW_MS = 60_000;
/** Log lines of one rejection or failure kind per minute per container; the metrics count every one. */
export const LOG_LINES_PER_KIND = 10;

export type CappedLog = (kind: string, level: keyof Log, message: string, attributes?: LogAttributes) => void;

/**
 * Lines whose number a caller decides (rejections, failures every request hits) go through
 * here: at most `LOG_LINES_PER_KIND` a minute per kind, then one line saying so; the next
 * line let through carries how many were held back (`suppressedSinceLast`).
 */
export function cappedLog(log: Log, gate: Gate = logGate()): CappedLog {
  return (kind, level, message, attributes = {}) => {
    const verdict = gate(kind);
    if (verdict.pass) {
      log[level](
        message,
        verdict.suppressed > 0 ? { ...attributes, suppressedSinceLast: verdict.suppressed } : attributes,
      );
    } else if (verdict.firstHeld) {
      log.warn('Log lines capped', { kind, linesPerMinute: LOG_LINES_PER_KIND });
    }
  };
}

export function logGate(now: () => number = Date.now): Gate {
  return windowedGate({ windowMs: LOG_WINDOW_MS, perKey: LOG_LINES_PER_KIND, now });
}
