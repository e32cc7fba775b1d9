/**
 * Business metrics as CloudWatch embedded-metric-format log lines (Powertools Metrics):
 * tokens issued per platform, calls per routing decision, rejected webhooks. Counts are
 * kept during an invocation and written once at its end by `flush()`, which every handler
 * calls in a `finally` (lib/reporter.ts `invocation`), so they are written even when the
 * invocation throws.
 */
import type { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, type MetricName, SERVICE_NAME } from './metricNames.js';

export interface MetricSink {
  count(name: MetricName, dimensions?: Record<string, string>): void;
  seconds(name: MetricName, value: number, dimensions?: Record<string, string>): void;
  /** Writes what the invocation counted; called once at the end of each invocation. */
  flush(): Promise<void> | void;
}

export const noMetrics: MetricSink = { count: () => undefined, seconds: () => undefined, flush: () => undefined };

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];
const COUNT: Unit = 'Count';
const SECONDS: Unit = 'Seconds';

/** Metrics that share one set of dimensions: one EMF line (every dimension of a line applies to all its metrics). */
interface Group {
  dimensions: Record<string, string>;
  metrics: { name: MetricName; unit: Unit; value: number }[];
}

/**
 * Powertools writes a line by itself at 100 values of one name (or at 100 names: there are
 * fewer in METRIC) and then forgets the dimensions; a line is ended before that, so none is
 * written without its dimensions.
 */
const MAX_VALUES_PER_NAME = 99;

/**
 * One Powertools `Metrics` per container. At `flush()` the invocation's metrics are written
 * one EMF line per distinct dimension set, through the same instance: its `service`
 * dimension stays, the others are cleared by each `publishStoredMetrics()`. A name counted
 * twice with the same dimensions is one metric with the values `[1, 1]`: CloudWatch stores
 * two data points, a Sum of 2. Nothing is written for an invocation that counted nothing.
 *
 * Powertools Metrics is imported, and the instance made, at the first flush that has
 * something to write: most authorizer invocations count nothing, and there (a file of its
 * own, infra/bundling.ts) it costs no cold start (≈ 16 KB parsed and a `Metrics`
 * constructed); the other functions, which count on every invocation, have it in their
 * entry and run it at their first flush.
 */
export function powertoolsMetrics(): MetricSink {
  let instance: Promise<Metrics> | undefined;
  const load = () => {
    instance ??= import('@aws-lambda-powertools/metrics').then(
      ({ Metrics }) => new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME }),
    );
    return instance;
  };
  let groups = new Map<string, Group>();
  const add = (name: MetricName, unit: Unit, value: number, dimensions: Record<string, string>) => {
    const key = JSON.stringify(Object.entries(dimensions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    let group = groups.get(key);
    if (!group) {
      group = { dimensions: { ...dimensions }, metrics: [] };
      groups.set(key, group);
    }
    group.metrics.push({ name, unit, value });
  };
  const publish = (metrics: Metrics, group: Group) => {
    let values = new Map<string, number>();
    const startLine = () => {
      for (const [dimension, value] of Object.entries(group.dimensions)) metrics.addDimension(dimension, value);
    };
    startLine();
    for (const metric of group.metrics) {
      let count = values.get(metric.name) ?? 0;
      if (count === MAX_VALUES_PER_NAME) {
        metrics.publishStoredMetrics();
        values = new Map();
        startLine();
        count = 0;
      }
      values.set(metric.name, count + 1);
      metrics.addMetric(metric.name, metric.unit, metric.value);
    }
    metrics.publishStoredMetrics();
  };
  return {
    count: (name, dimensions = {}) => add(name, COUNT, 1, dimensions),
    seconds: (name, value, dimensions = {}) => add(name, SECONDS, value, dimensions),
    async flush() {
      const pending = groups;
      groups = new Map();
      if (pending.size === 0) return;
      const metrics = await load();
      let failure: unknown;
      for (const group of pending.values()) {
        try {
          publish(metrics, group);
        } catch (error) {
          // A metric Powertools refuses (a programming error): the other lines are still written.
          failure ??= error;
          metrics.clearMetrics();
          metrics.clearDimensions();
        }
      }
      if (failure !== undefined) throw failure;
    },
  };
}
