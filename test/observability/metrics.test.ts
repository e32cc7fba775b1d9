/**
 * Powertools Metrics, one instance per container, written once per invocation: the real
 * Powertools sink's embedded-metric-format lines are captured from stdout and read back as
 * CloudWatch would: which metrics each line holds, with which dimensions, how many values.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as authorizer from '../../functions/authorizer.js';
import * as callEvents from '../../functions/callEvents.js';
import * as callToken from '../../functions/callToken.js';
import * as makeCall from '../../functions/makeCall.js';
import { makeCallConfig } from '../../lib/callWebhook.js';
import { configLoader } from '../../lib/functionConfig.js';
import { FUNCTION_FIELDS } from '../../lib/functionFields.js';
import { METRIC, METRICS_NAMESPACE } from '../../lib/metricNames.js';
import { type MetricSink, powertoolsMetrics } from '../../lib/metrics.js';
import { createReporter } from '../../lib/reporter.js';
import { callEvent, POLICY_ENV, webhookEvent } from '../call/harness.js';
import { emfDocuments, emfValues, stale } from '../support/metrics.js';
import { legacyPortalToken } from '../support/portalTokens.js';
import { recordingLog } from '../support/recordingLog.js';
import { authorizerRequest, callTokenEventWithQuery } from '../token/events.js';
import { SETTINGS as TOKEN_SETTINGS } from '../token/settings.js';

interface EmfLine {
  dimensionSets: string[][];
  /** Each metric of the line: its dimensions (values included) and its values. */
  metrics: { name: string; unit: string; dimensions: Record<string, string>; values: number[] }[];
}

let written: string[];

beforeEach(() => {
  written = [];
  // The suite's default (vitest.config.ts) keeps metric lines out of the report; here they are the subject.
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
    written.push(String(chunk));
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

/** Every EMF line written so far, as CloudWatch reads it. */
function emfLines(): EmfLine[] {
  return emfDocuments(written).map((emf) => {
    const [directive] = emf._aws.CloudWatchMetrics;
    if (!directive || emf._aws.CloudWatchMetrics.length !== 1) throw new Error(`unexpected EMF ${JSON.stringify(emf)}`);
    expect(directive.Namespace).toBe(METRICS_NAMESPACE);
    const [names = [], ...others] = directive.Dimensions;
    expect(others).toEqual([]); // one dimension set a line: each metric has exactly these dimensions
    const dimensions = Object.fromEntries(names.map((name) => [name, String(emf[name])]));
    return {
      dimensionSets: directive.Dimensions,
      metrics: directive.Metrics.map((metric) => ({
        name: metric.Name,
        unit: metric.Unit,
        dimensions,
        values: emfValues(emf, metric.Name) as number[],
      })),
    };
  });
}

/** The metrics written, one entry per data point: `Name{dimensions} = value`. */
const dataPoints = () =>
  emfLines()
    .flatMap((line) => line.metrics)
    .flatMap((m) => m.values.map((value) => `${m.name}${JSON.stringify(m.dimensions)}=${value}`))
    .sort();

/** The real sink, with its flushes counted. */
function countedFlushes() {
  const real = powertoolsMetrics();
  const sink = { ...real, flushes: 0 };
  sink.flush = () => {
    sink.flushes += 1;
    return real.flush();
  };
  return sink satisfies MetricSink;
}

const quiet = () => ({ log: recordingLog(), alert: async () => undefined });

describe('powertoolsMetrics', () => {
  it('writes nothing before the flush, then one line per dimension set', async () => {
    const metrics = powertoolsMetrics();
    metrics.count(METRIC.SecretStale);
    metrics.count(METRIC.CallRouted, { Decision: 'number' });
    metrics.seconds(METRIC.CallDuration, 42, { Leg: 'number', Status: 'completed' });
    expect(written).toEqual([]);

    await metrics.flush();

    expect(emfLines().map((line) => line.dimensionSets)).toEqual([
      [['service']],
      [['service', 'Decision']],
      [['service', 'Leg', 'Status']],
    ]);
    expect(dataPoints()).toEqual([
      'CallDuration{"service":"voice","Leg":"number","Status":"completed"}=42',
      'CallRouted{"service":"voice","Decision":"number"}=1',
      'SecretStale{"service":"voice"}=1',
    ]);
    expect(emfLines().flatMap((line) => line.metrics.map((m) => `${m.name} ${m.unit}`))).toEqual([
      'SecretStale Count',
      'CallRouted Count',
      'CallDuration Seconds',
    ]);
  });

  it('keeps both counts of a name counted twice with the same dimensions: two data points, a Sum of 2', async () => {
    const metrics = powertoolsMetrics();
    metrics.count(METRIC.WebhookRejected, { Reason: 'signature' });
    metrics.count(METRIC.WebhookRejected, { Reason: 'signature' });
    metrics.count(METRIC.WebhookRejected, { Reason: 'body' });
    await metrics.flush();

    const lines = emfLines();
    expect(lines).toHaveLength(2);
    expect(lines[0]?.metrics).toEqual([
      { name: 'WebhookRejected', unit: 'Count', dimensions: { service: 'voice', Reason: 'signature' }, values: [1, 1] },
    ]);
    expect(lines[1]?.metrics).toEqual([
      { name: 'WebhookRejected', unit: 'Count', dimensions: { service: 'voice', Reason: 'body' }, values: [1] },
    ]);
  });

  it('groups by the set of dimensions, whatever their order', async () => {
    const metrics = powertoolsMetrics();
    metrics.count(METRIC.DialOutcome, { Status: 'busy', Leg: 'number' });
    metrics.count(METRIC.DialOutcome, { Leg: 'number', Status: 'busy' });
    await metrics.flush();
    expect(dataPoints()).toEqual([
      'DialOutcome{"service":"voice","Status":"busy","Leg":"number"}=1',
      'DialOutcome{"service":"voice","Status":"busy","Leg":"number"}=1',
    ]);
    expect(emfLines()).toHaveLength(1);
  });

  it('writes nothing (and warns of nothing) for an invocation that counted nothing', async () => {
    const warn = vi.spyOn(console, 'warn');
    const errors = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const metrics = powertoolsMetrics();
    await metrics.flush();
    await metrics.flush();
    expect(written).toEqual([]);
    expect(warn).not.toHaveBeenCalled();
    expect(errors).not.toHaveBeenCalled();
  });

  it('writes each metric once: a second flush writes only what was counted since', async () => {
    const metrics = powertoolsMetrics();
    metrics.count(METRIC.TokenIssued, { Platform: 'apns' });
    await metrics.flush();
    metrics.count(METRIC.TokenIssued, { Platform: 'fcm' });
    await metrics.flush();
    await metrics.flush();
    expect(dataPoints()).toEqual([
      'TokenIssued{"service":"voice","Platform":"apns"}=1',
      'TokenIssued{"service":"voice","Platform":"fcm"}=1',
    ]);
  });

  it('never writes a metric without its dimensions, even past the 100 values Powertools keeps per line', async () => {
    const metrics = powertoolsMetrics();
    for (let i = 0; i < 250; i += 1) metrics.count(METRIC.CallRouted, { Decision: 'client' });
    metrics.count(METRIC.SecretStale);
    await metrics.flush();
    const points = dataPoints();
    expect(points.filter((p) => p === 'CallRouted{"service":"voice","Decision":"client"}=1')).toHaveLength(250);
    expect(points.filter((p) => p.startsWith('SecretStale'))).toEqual(['SecretStale{"service":"voice"}=1']);
    expect(points).toHaveLength(251);
  });
});

describe('handlers write their metrics once per invocation, each metric with exactly its own dimensions', () => {
  it('dial_status on stale secrets: SecretStale without Status or Leg, DialOutcome with them, in separate lines', async () => {
    const metrics = countedFlushes();
    const handler = callEvents.createHandler({
      ...quiet(),
      metrics,
      config: stale(configLoader(FUNCTION_FIELDS.callEvents, POLICY_ENV)),
      allowUnsignedRequests: false,
    });
    const event = webhookEvent('/api/v1/dial_status', { query: 'leg=number', params: { DialCallStatus: 'busy' } });

    const response = await handler(event);

    expect(response.statusCode).toBe(200);
    expect(metrics.flushes).toBe(1);
    expect(dataPoints()).toEqual([
      'DialOutcome{"service":"voice","Status":"busy","Leg":"number"}=1',
      'SecretStale{"service":"voice"}=1',
    ]);
  });

  it('make_call on stale secrets: CallRouted{Decision} and SecretStale{} apart; two calls, two flushes', async () => {
    const metrics = countedFlushes();
    const handler = makeCall.createHandler({
      ...quiet(),
      metrics,
      config: stale(makeCallConfig(POLICY_ENV)),
      allowUnsignedRequests: false,
    });

    await handler(callEvent({ params: { to: '+14155552671' } }));
    expect(metrics.flushes).toBe(1);
    expect(dataPoints()).toEqual([
      'CallRouted{"service":"voice","Decision":"number"}=1',
      'SecretStale{"service":"voice"}=1',
    ]);
    await handler(callEvent({ params: { to: '911' } }));

    expect(metrics.flushes).toBe(2);
    expect(emfLines()).toHaveLength(4);
    expect(dataPoints()).toEqual([
      'CallRouted{"service":"voice","Decision":"emergency"}=1',
      'CallRouted{"service":"voice","Decision":"number"}=1',
      'SecretStale{"service":"voice"}=1',
      'SecretStale{"service":"voice"}=1',
    ]);
  });

  it('call_token: a token issued, a bad type, a broken configuration: a flush each', async () => {
    const metrics = countedFlushes();
    const tokens = callToken.createHandler({
      ...quiet(),
      metrics,
      config: configLoader(FUNCTION_FIELDS.callToken, TOKEN_SETTINGS),
    });
    await tokens(callTokenEventWithQuery({ type: 'fcm' }));
    await tokens(callTokenEventWithQuery({ type: 'voip' }));
    await callToken.createHandler({ ...quiet(), metrics, config: configLoader(FUNCTION_FIELDS.callToken, {}) })(
      callTokenEventWithQuery({ type: 'apns' }),
    );
    expect(metrics.flushes).toBe(3);
    expect(dataPoints()).toEqual([
      'InvalidParameters{"service":"voice"}=1',
      'TokenFailed{"service":"voice"}=1',
      'TokenIssued{"service":"voice","Platform":"fcm"}=1',
    ]);
  });

  it('the authorizer flushes on an allowed request and on one it throws for (configuration unavailable)', async () => {
    const metrics = countedFlushes();
    const token = `Bearer ${legacyPortalToken(42, TOKEN_SETTINGS.JWT_SECRET)}`;
    const authorize = authorizer.createHandler({
      ...quiet(),
      metrics,
      config: stale(configLoader(FUNCTION_FIELDS.authorizer, TOKEN_SETTINGS)),
    });
    expect(await authorize(authorizerRequest(token))).toMatchObject({ isAuthorized: true });
    expect(metrics.flushes).toBe(1);
    expect(dataPoints()).toEqual(['SecretStale{"service":"voice"}=1']);

    const log = recordingLog();
    const broken = authorizer.createHandler({
      log,
      alert: async () => undefined,
      metrics,
      config: configLoader(FUNCTION_FIELDS.authorizer, {}),
    });
    await expect(broken(authorizerRequest(token))).rejects.toThrow('Authorizer configuration unavailable');

    expect(metrics.flushes).toBe(2);
    // Its own failure line, once: the rethrown error is not logged again.
    expect(log.entries.filter((e) => e.level === 'error').map((e) => e.message)).toEqual(['Configuration invalid']);
  });

  it('what an invocation counted before it threw is still written, after it threw', async () => {
    const metrics = countedFlushes();
    const log = recordingLog();
    const report = createReporter(
      { log, alert: async () => undefined, metrics },
      { vendorApi: 'test', originApi: 'test' },
    );
    const handle = report.invocation(async (to: string) => {
      report.metrics.count(METRIC.CallRouted, { Decision: 'number' });
      expect(written).toEqual([]);
      throw new TypeError(`cannot dial ${to}`);
    });

    await expect(handle('+14155552671')).rejects.toThrow(TypeError);

    expect(metrics.flushes).toBe(1);
    expect(dataPoints()).toEqual(['CallRouted{"service":"voice","Decision":"number"}=1']);
    expect(log.entries.map((e) => [e.level, e.message, e.attributes?.reason])).toEqual([
      ['error', 'Invocation failed', 'TypeError'],
    ]);
    expect(log.text()).not.toContain('+14155552671');
  });
});
