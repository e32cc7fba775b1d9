/**
 * Structured logging. Handlers take a `Log`; on Lambda it is Powertools' Logger (JSON
 * lines with the request id), in tests anything that records. Callers pass only
 * non-secret attributes: no token, header or secret value is ever handed to a logger.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { SERVICE_NAME } from './metricNames.js';

export type LogAttributes = Record<string, unknown>;

export interface Log {
  info(message: string, attributes?: LogAttributes): void;
  warn(message: string, attributes?: LogAttributes): void;
  error(message: string, attributes?: LogAttributes): void;
}

export function powertoolsLogger(): Log {
  const logger = new Logger({ serviceName: SERVICE_NAME });
  return {
    info: (message, attributes = {}) => logger.info(message, attributes),
    warn: (message, attributes = {}) => logger.warn(message, attributes),
    error: (message, attributes = {}) => logger.error(message, attributes),
  };
}

/** What is safe to log of an error: its name and message, not its cause chain or payloads. */
export function describeError(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'NonError', message: typeof error };
}
