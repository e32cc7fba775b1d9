/**
 * Business metrics as CloudWatch embedded-metric-format log lines (Powertools Metrics):
 * tokens issued per platform, calls per routing decision, rejected webhooks. Each count
 * is written at once, so nothing is lost if an invocation ends early.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, type MetricName, SERVICE_NAME } from './metricNames.js';

export interface MetricSink {
  count(name: MetricName, dimensions?: Record<string, string>): void;
  seconds(name: MetricName, value: number, dimensions?: Record<string, string>): void;
}

export const noMetrics: MetricSink = { count: () => undefined, seconds: () => undefined };

export function powertoolsMetrics(): MetricSink {
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
  const add = (
    name: MetricName,
    unit: (typeof MetricUnit)[keyof typeof MetricUnit],
    value: number,
    dimensions: Record<string, string>,
  ) => {
    const metric = metrics.singleMetric();
    for (const [dimension, dimensionValue] of Object.entries(dimensions))
      metric.addDimension(dimension, dimensionValue);
    metric.addMetric(name, unit, value);
  };
  return {
    count: (name, dimensions = {}) => add(name, MetricUnit.Count, 1, dimensions),
    seconds: (name, value, dimensions = {}) => add(name, MetricUnit.Seconds, value, dimensions),
  };
}
