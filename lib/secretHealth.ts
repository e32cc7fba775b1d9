/**
 * What a function says about its configuration's health, as data: the secret cache's
 * notices (stale, recovered) and a failure to load at all. Pure; each handler performs
 * the logs, the alert and the metric.
 */
import { ConfigError } from './config.js';
import type { SecretNotice } from './secrets.js';
import { SecretStoreError } from './secrets.js';

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  message: string;
  attributes: Record<string, unknown>;
}

export interface AlertSpec {
  /** De-duplicates the alert: never built from request values. */
  key: string;
  /** Once an hour per key rather than once a minute (a limited caller's alert). */
  hourly?: true;
  errorMsg: string;
  meta: Record<string, unknown>;
}

export interface HealthReport {
  logs: LogLine[];
  alert?: AlertSpec;
}

/** One alert per outage (its first failed refresh); every failed refresh and the recovery are logged. */
export function secretNoticeReport(notices: readonly SecretNotice[]): HealthReport {
  const report: HealthReport = { logs: [] };
  for (const notice of notices) {
    if (notice.kind === 'recovered') {
      report.logs.push({
        level: 'info',
        message: 'Secrets read again after failures',
        attributes: { failedForSeconds: notice.failedForSeconds },
      });
      continue;
    }
    const attributes = { reason: notice.reason, staleForSeconds: notice.staleForSeconds };
    report.logs.push({ level: 'warn', message: 'Secret refresh failed: serving the last good secrets', attributes });
    if (notice.first) {
      report.alert = {
        // One key an outage: the de-duplication of one outage's alert never holds back the next one's.
        key: `secrets-stale:${notice.outageSince}`,
        errorMsg: 'Secret store cannot be read: serving the last good secrets',
        meta: attributes,
      };
    }
  }
  return report;
}

export interface ConfigFailure {
  /** `unavailable`: the store could not be read and no good value is left; `invalid`: a setting or secret is wrong. */
  kind: 'unavailable' | 'invalid';
  log: LogLine;
  alert: AlertSpec;
}

/**
 * A failure to load the configuration. Messages are safe to show: a ConfigError names
 * settings, never values, and a SecretStoreError names the SDK error and its status only.
 */
export function configFailure(error: unknown): ConfigFailure {
  if (error instanceof SecretStoreError) {
    const reason = error.message;
    return {
      kind: 'unavailable',
      log: { level: 'error', message: 'Secrets unavailable', attributes: { reason } },
      alert: {
        key: 'secrets-unavailable',
        errorMsg: 'Secret store cannot be read and no good secrets are left',
        meta: { reason },
      },
    };
  }
  const reason =
    error instanceof ConfigError ? error.message : `${error instanceof Error ? error.name : 'NonError'} (unexpected)`;
  return {
    kind: 'invalid',
    log: { level: 'error', message: 'Configuration invalid', attributes: { reason } },
    alert: { key: 'config', errorMsg: 'Configuration invalid', meta: { reason } },
  };
}
