/**
 * What every handler does with its decisions' side effects: logs (capped where a caller
 * decides their number), metrics, and de-duplicated alerts. One per function container.
 */
import { type AlertOrigin, type AlertSender, alertGate, routeAlerts } from './alerts.js';
import { ConfigError } from './config.js';
import { type CappedLog, cappedLog, describeError, type Log, logGate } from './log.js';
import { METRIC } from './metricNames.js';
import { type MetricSink, noMetrics } from './metrics.js';
import type { Gate } from './rateLimits.js';
import { type AlertSpec, type ConfigFailure, configFailure, type LogLine, secretNoticeReport } from './secretHealth.js';
import { type SecretNotice, SecretStoreError } from './secrets.js';
import type { WebhookAnswer } from './twilioWebhook.js';

/** The dependencies a handler reports through; the gates default to the documented caps. */
export interface ReportingDeps {
  log: Log;
  alert: AlertSender;
  /** Which alerts may go out now (default: each key once a minute, 30 a minute in all). */
  alertGate?: Gate;
  /** Which capped log lines may be written now (default: 10 a minute per kind). */
  logGate?: Gate;
  metrics?: MetricSink;
}

export interface Reporter {
  log: Log;
  capped: CappedLog;
  metrics: MetricSink;
  write(line: LogLine, cap?: string): void;
  /** A webhook's answer: its log line, its metrics and its alert. */
  perform(answer: WebhookAnswer, webhookUrl: string | undefined): Promise<void>;
  alert(spec: AlertSpec | undefined, webhookUrl: string | undefined): Promise<void>;
  /**
   * Settings or secrets that could not be read: logged once (with where it was thrown when it
   * is a bug) with `attributes`, alerted, and what kind of failure it was.
   */
  configFailure(error: unknown, attributes?: Record<string, unknown>): Promise<ConfigFailure['kind']>;
  /** The secret cache's notices, and SecretStale for a request served with stale secrets. */
  secretHealth(
    loaded: { stale: boolean; notices: readonly SecretNotice[] },
    webhookUrl: string | undefined,
  ): Promise<void>;
  /**
   * The handler for one invocation: the metrics are flushed once at its end, thrown or not;
   * an error it lets escape is logged once with its TypeScript location (the runtime would
   * print minified positions), unless marked `alreadyReported`, and rethrown.
   */
  invocation<E, R>(handle: (event: E) => Promise<R>): (event: E) => Promise<R>;
}

const reported = new WeakSet<object>();

/** An error the handler has logged (and alerted) itself: `invocation` rethrows it without another line. */
export function alreadyReported<E extends Error>(error: E): E {
  reported.add(error);
  return error;
}

/** A bad setting or an unreadable secret store, not a bug: its message says all (lib/secretHealth.ts). */
const isConfigFailure = (error: unknown) => error instanceof ConfigError || error instanceof SecretStoreError;

/** A failure's log line, with where the error was thrown when it is unexpected (a bug, not a setting). */
export function locateUnexpected(line: LogLine, error: unknown): LogLine {
  if (isConfigFailure(error)) return line;
  return { ...line, attributes: { ...line.attributes, location: describeError(error).location } };
}

/** A webhook's answer to a failure of ours (WebhookFailed) on an unexpected error, with where it was thrown. */
export function locateFailedAnswer(answer: WebhookAnswer, error: unknown): WebhookAnswer {
  const failed = answer.metrics.some((metric) => metric.name === METRIC.WebhookFailed);
  return failed ? { ...answer, log: locateUnexpected(answer.log, error) } : answer;
}

export function createReporter(deps: ReportingDeps, origin: AlertOrigin): Reporter {
  const metrics = deps.metrics ?? noMetrics;
  const capped = cappedLog(deps.log, deps.logGate ?? logGate());
  const alertOnce = routeAlerts(deps.alert, deps.alertGate ?? alertGate(), origin);
  const write = (line: LogLine, cap?: string) => {
    if (cap) capped(cap, line.level, line.message, line.attributes);
    else deps.log[line.level](line.message, line.attributes);
  };
  // The last webhook URL a good configuration gave: an outage of the secret store, which takes
  // the URL away, is the alert the on-call engineer most needs to see in Slack.
  let lastWebhookUrl: string | undefined;
  const alert = async (spec: AlertSpec | undefined, webhookUrl: string | undefined) => {
    if (webhookUrl) lastWebhookUrl = webhookUrl;
    if (spec) await alertOnce(spec.key, spec.errorMsg, spec.meta, webhookUrl ?? lastWebhookUrl);
  };
  return {
    log: deps.log,
    capped,
    metrics,
    write,
    alert,
    async perform(answer, webhookUrl) {
      write(answer.log, answer.logCap);
      for (const metric of answer.metrics) {
        if (metric.seconds === undefined) metrics.count(metric.name, metric.dimensions);
        else metrics.seconds(metric.name, metric.seconds, metric.dimensions);
      }
      await alert(answer.alert, webhookUrl).catch(() => undefined);
    },
    async configFailure(error, attributes = {}) {
      const failure = configFailure(error);
      const line = locateUnexpected(failure.log, error);
      write({ ...line, attributes: { ...line.attributes, ...attributes } }, 'failure');
      await alert(failure.alert, undefined);
      return failure.kind;
    },
    async secretHealth(loaded, webhookUrl) {
      if (webhookUrl) lastWebhookUrl = webhookUrl;
      if (loaded.stale) metrics.count(METRIC.SecretStale);
      if (loaded.notices.length === 0) return;
      const report = secretNoticeReport(loaded.notices);
      for (const line of report.logs) write(line);
      await alert(report.alert, webhookUrl);
    },
    invocation(handle) {
      return async (event) => {
        try {
          return await handle(event);
        } catch (error) {
          if (!(typeof error === 'object' && error !== null && reported.has(error))) {
            const { name, location } = describeError(error);
            capped('unhandled', 'error', 'Invocation failed', { reason: name, location });
          }
          throw error;
        } finally {
          await metrics.flush();
        }
      };
    },
  };
}
