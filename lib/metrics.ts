/**
 * Business metrics as CloudWatch embedded-metric-format log lines (Powertools Metrics):
 * tokens issued per platform, calls per routing decision, rejected webhooks. Each count
 * is written at once, so nothing is lost if an invocation ends early.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, type MetricName, SERVICE_NAME } from './metricNames.js';

export interface MetricSink {
  count(name: MetricName, dimensions?: Record<string, string>): void;
}

export const noMetrics: MetricSink = { count: () => undefined };

export function powertoolsMetrics(): MetricSink {
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
  return {
    count(name, dimensions = {}) {
      const metric = metrics.singleMetric();
      for (const [dimension, value] of Object.entries(dimensions)) metric.addDimension(dimension, value);
      metric.addMetric(name, MetricUnit.Count, 1);
    },
  };
}
