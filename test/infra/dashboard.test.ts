/**
 * The CloudWatch dashboard: it exists, its URL is an output, it draws every function and the
 * API, and every custom metric it (or an alarm) shows is one the code really emits. For the
 * last, the real handlers answer a spread of requests (signed with twilio's own helper) through
 * a recording metric sink that also feeds the real Powertools sink, whose embedded-metric-format
 * lines are read back: what CloudWatch would store, `service` dimension and namespace included.
 */

import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as authorizer from '../../functions/authorizer.js';
import * as callEvents from '../../functions/callEvents.js';
import * as callToken from '../../functions/callToken.js';
import * as makeCall from '../../functions/makeCall.js';
import { FUNCTION_NAMES } from '../../infra/settings.js';
import { INIT_DURATION_QUERY } from '../../infra/voiceStack.js';
import { makeCallConfig } from '../../lib/callWebhook.js';
import type { Env } from '../../lib/config.js';
import { configLoader } from '../../lib/functionConfig.js';
import { FUNCTION_FIELDS, type FunctionName } from '../../lib/functionFields.js';
import {
  DECISIONS,
  DIAL_STATUSES,
  LEG_STATUSES,
  LEGS,
  METRIC,
  METRICS_NAMESPACE,
  type MetricName,
  PLATFORMS,
  REJECTION_REASONS,
  SERVICE_DIMENSION,
} from '../../lib/metricNames.js';
import { type MetricSink, powertoolsMetrics } from '../../lib/metrics.js';
import {
  ACCOUNT_SID,
  AUTH_TOKEN,
  CALLER,
  type CallRequestOptions,
  callEvent,
  POLICY_ENV,
  ROUTE_URL,
  webhookEvent,
} from '../call/harness.js';
import { awsSdkEnvFor, createCallLimitsTable, startDynalite } from '../support/dynamoLocal.js';
import { emfDocuments, emfValues, stale } from '../support/metrics.js';
import { legacyPortalToken } from '../support/portalTokens.js';
import { recordingLog } from '../support/recordingLog.js';
import { authorizerRequest, callTokenEventWithQuery } from '../token/events.js';
import { SETTINGS as TOKEN_SETTINGS } from '../token/settings.js';
import { logicalId, removeOutdirs, type Synthesized, synth } from './stackFixture.js';

type Dimensions = Record<string, string>;
/** One metric as CloudWatch knows it: namespace, name and its whole set of dimensions. */
interface MetricId {
  namespace: string;
  name: string;
  dimensions: Dimensions;
}
interface Widget {
  type: string;
  width: number;
  properties: { title: string; metrics?: unknown[][]; query?: string; view?: string };
}

const key = (m: MetricId) =>
  `${m.namespace} ${m.name} ${JSON.stringify(Object.entries(m.dimensions).sort(([a], [b]) => a.localeCompare(b)))}`;
const shape = (name: string, dimensions: Dimensions) => `${name} [${Object.keys(dimensions).sort().join(',')}]`;
const withoutService = ({ service: _, ...rest }: Dimensions) => rest;

/** The DashboardBody is an Fn::Join around tokens; each token becomes a readable `<Ref:…>` inside its JSON string. */
function dashboardOf(s: Synthesized): { widgets: Widget[] } {
  const dashboards = Object.values(s.template.findResources('AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  const body = dashboards[0]?.Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] };
  const [separator, parts] = body['Fn::Join'];
  const text = parts
    .map((part) => (typeof part === 'string' ? part : `<${JSON.stringify(part).replace(/["{}[\]]/g, '')}>`))
    .join(separator);
  return JSON.parse(text);
}

/** Each metric line of a widget (expressions left out), e.g. `["VoiceService","TokenIssued","Platform","apns",…,{…}]`. */
function metricLines(widget: Widget): (MetricId & { options: Record<string, unknown> })[] {
  return (widget.properties.metrics ?? []).flatMap((line) => {
    const strings = line.filter((item): item is string => typeof item === 'string');
    const last = line[line.length - 1];
    const options = (typeof last === 'object' && last !== null ? last : {}) as Record<string, unknown>;
    if (strings.length === 0) return []; // a math expression: its metrics are lines of their own
    const [namespace, name, ...pairs] = strings;
    // CDK writes every line in full; "." would mean "as the line above", which this test does not read.
    if (namespace === '.' || name === '.' || pairs.length % 2 !== 0) throw new Error(`unexpected line ${line}`);
    const dimensions: Dimensions = {};
    for (let i = 0; i < pairs.length; i += 2) dimensions[pairs[i] as string] = pairs[i + 1] as string;
    return [{ namespace: namespace as string, name: name as string, dimensions, options }];
  });
}

/** Every metric the real handlers emit for a spread of requests: recorded, and as Powertools writes it. */
async function emittedMetrics() {
  const recorded: { name: MetricName; dimensions: Dimensions }[] = [];
  const written: string[] = [];
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
    written.push(String(chunk));
    return true;
  });
  try {
    const real = powertoolsMetrics();
    const metrics: MetricSink = {
      count: (name, dimensions = {}) => {
        recorded.push({ name, dimensions: { ...dimensions } });
        real.count(name, dimensions);
      },
      seconds: (name, value, dimensions = {}) => {
        recorded.push({ name, dimensions: { ...dimensions } });
        real.seconds(name, value, dimensions);
      },
      // Each handler flushes once per invocation (in a finally): the real sink writes its lines then.
      flush: () => real.flush(),
    };
    const deps = { log: recordingLog(), alert: async () => undefined, metrics };

    // call_token: both platforms, a bad type, a broken configuration.
    const tokens = callToken.createHandler({
      ...deps,
      config: configLoader(FUNCTION_FIELDS.callToken, TOKEN_SETTINGS),
    });
    for (const type of [...PLATFORMS, 'voip']) await tokens(callTokenEventWithQuery({ type }));
    await callToken.createHandler({ ...deps, config: configLoader(FUNCTION_FIELDS.callToken, {}) })(
      callTokenEventWithQuery({ type: 'apns' }),
    );

    // The authorizer, on stale secrets (its only metric).
    const authorize = authorizer.createHandler({
      ...deps,
      config: stale(configLoader(FUNCTION_FIELDS.authorizer, TOKEN_SETTINGS)),
    });
    await authorize(authorizerRequest(`Bearer ${legacyPortalToken(42, TOKEN_SETTINGS.JWT_SECRET)}`));

    // make_call: every routing decision, every kind of rejected request, a broken configuration.
    const callEnv: Env = { ...POLICY_ENV, SUPPORT_NUMBER: '+18005550100', DIAL_ACTION: 'true' };
    const call = makeCall.createHandler({ ...deps, config: makeCallConfig(callEnv), allowUnsignedRequests: false });
    // The caller not ours: unauthorised.
    await call(callEvent({ params: { to: '+14155552671', From: 'client:bob' } }));
    for (const to of ['', '911', '123', '+18765230123', '+14155552671', 'support', 'client:alice']) {
      await call(callEvent({ params: { to } }));
    }
    const rejected: CallRequestOptions[] = [
      { params: { to: '+14155552671' }, signature: 'none' },
      { params: { to: '+14155552671' }, signature: 'forged' },
      { encoding: 'json', rawBody: 'not json' },
      { params: { to: 'x'.repeat(20_000) } },
      { params: { to: '+14155552671' }, contentType: 'text/plain' },
      { params: { to: '+14155552671', AccountSid: `AC${'9'.repeat(32)}` } },
      { params: { to: '+14155552671', ApplicationSid: `AP${'8'.repeat(32)}` } },
    ];
    for (const options of rejected) await call(callEvent(options));
    // A parameter that must be single, twice (signed as Twilio signs a repeated name).
    const twice = { CallSid: 'CA1', AccountSid: ACCOUNT_SID, From: CALLER, to: ['+14155552671', '+19002345678'] };
    await call(
      callEvent({
        rawBody:
          'CallSid=CA1&AccountSid=' +
          ACCOUNT_SID +
          '&From=' +
          encodeURIComponent(CALLER) +
          '&to=%2B14155552671&to=%2B19002345678',
        signature: getExpectedTwilioSignature(AUTH_TOKEN, ROUTE_URL, twice),
      }),
    );
    const { TWILIO_FROM: _, ...withoutFrom } = callEnv;
    await makeCall.createHandler({ ...deps, config: makeCallConfig(withoutFrom), allowUnsignedRequests: false })(
      callEvent({ params: { to: '+14155552671' } }),
    );

    // make_call with call limits (dynalite under the real SDK): every limit refusing, and the table missing.
    const dynamo = await startDynalite();
    for (const [name, value] of Object.entries(awsSdkEnvFor(dynamo.endpoint))) vi.stubEnv(name, value);
    try {
      const limitCases: [Env, string[]][] = [
        [{}, ['+14155552671', '+14155552671']], // phone-concurrent
        [{ MAX_CONCURRENT_PHONE_CALLS: '5', MAX_PHONE_CALLS_PER_HOUR: '1' }, ['+14155552671', '+14155552671']],
        [{ MAX_CONCURRENT_PHONE_CALLS: '5', MAX_PHONE_CALLS_PER_DAY: '1' }, ['+14155552671', '+14155552671']],
        [{ MAX_CONCURRENT_PHONE_CALLS: '5', MAX_PHONE_CALLS_PER_MINUTE: '1' }, ['+14155552671', '+14155552671']],
        [{ MAX_CLIENT_CALLS_PER_HOUR: '1' }, ['client:alice', 'client:alice']],
      ];
      for (const [index, [limits, destinations]] of limitCases.entries()) {
        const table = `dashboard-limits-${index}`;
        await createCallLimitsTable(dynamo.endpoint, table);
        const limited = makeCall.createHandler({
          ...deps,
          config: makeCallConfig({ ...POLICY_ENV, CALL_LIMITS_TABLE: table, CALL_STATUS_CALLBACK: 'true', ...limits }),
          allowUnsignedRequests: false,
          // Which limit refuses is under test, not latency: the first check loads the SDK.
          callLimitsTimeoutMs: 20_000,
        });
        // Each a call of its own: a CallSid delivered again is the same call, counted once.
        for (const [n, to] of destinations.entries()) {
          await limited(callEvent({ params: { to, CallSid: `CA${String(n + 1).padStart(32, '0')}` } }));
        }
        // A call to dial without a CallSid cannot be counted: rejected, not dialed.
        if (index === 0) await limited(callEvent({ params: { to: destinations[0], CallSid: undefined } }));
      }
      await makeCall.createHandler({
        ...deps,
        config: makeCallConfig({ ...POLICY_ENV, CALL_LIMITS_TABLE: 'no-such-table', CALL_STATUS_CALLBACK: 'true' }),
        allowUnsignedRequests: false,
      })(callEvent({ params: { to: '+14155552671' } }));
    } finally {
      await dynamo.close();
    }

    // dial_status and call_status: every status on every dialed leg (a ParentCallSid: make_call's
    // call), Twilio's `To` for the leg, stale secrets.
    const events = callEvents.createHandler({
      ...deps,
      config: stale(configLoader(FUNCTION_FIELDS.callEvents, callEnv)),
      allowUnsignedRequests: false,
    });
    for (const query of ['leg=number', 'leg=client', '']) {
      for (const status of [...DIAL_STATUSES, 'something-new']) {
        await events(webhookEvent('/api/v1/dial_status', { query, params: { DialCallStatus: status } }));
      }
    }
    for (const to of ['+14155552671', 'client:alice', '']) {
      for (const status of ['initiated', 'ringing', 'answered', ...LEG_STATUSES]) {
        const params = {
          ParentCallSid: 'CA00000000000000000000000000000001',
          CallStatus: status,
          CallDuration: '42',
          ...(to ? { To: to } : {}),
        };
        await events(webhookEvent('/api/v1/call_status', { params }));
      }
    }
  } finally {
    write.mockRestore();
    vi.unstubAllEnvs();
  }
  const powertools: MetricId[] = emfDocuments(written).flatMap((emf) =>
    emf._aws.CloudWatchMetrics.flatMap((directive) =>
      directive.Metrics.flatMap((metric) =>
        // A name counted twice in one invocation is one metric with two values: two data points.
        emfValues(emf, metric.Name).flatMap(() =>
          directive.Dimensions.map((names) => ({
            namespace: directive.Namespace,
            name: metric.Name,
            dimensions: Object.fromEntries(names.map((n) => [n, String(emf[n])])),
          })),
        ),
      ),
    ),
  );
  return { recorded, powertools };
}

let base: Synthesized;
let widgets: Widget[];
let emitted: Awaited<ReturnType<typeof emittedMetrics>>;
const fnId = (name: FunctionName) => logicalId(base, base.stack.functions[name]);
const customLines = () =>
  widgets.flatMap((widget) =>
    metricLines(widget)
      .filter((line) => line.namespace === METRICS_NAMESPACE)
      .map((line) => ({ ...line, title: widget.properties.title })),
  );
const widget = (title: string) => {
  const found = widgets.find((w) => w.properties.title.startsWith(title));
  if (!found) throw new Error(`no widget ${title}`);
  return found;
};

beforeAll(async () => {
  base = synth();
  widgets = dashboardOf(base).widgets;
  emitted = await emittedMetrics();
}, 60_000);
afterAll(removeOutdirs);

describe('dashboard', () => {
  it('is one dashboard named <stack>-<region>, its URL the DashboardUrl output', () => {
    const [id, dashboard] = Object.entries(base.template.findResources('AWS::CloudWatch::Dashboard'))[0] ?? [];
    expect(dashboard?.Properties.DashboardName).toEqual({
      'Fn::Join': ['', ['VoiceService-', { Ref: 'AWS::Region' }]],
    });
    base.template.hasOutput('DashboardUrl', {
      Value: {
        'Fn::Join': [
          '',
          [
            'https://',
            { Ref: 'AWS::Region' },
            '.console.aws.amazon.com/cloudwatch/home?region=',
            { Ref: 'AWS::Region' },
            '#dashboards:name=',
            { Ref: id },
          ],
        ],
      },
    });
    expect(widgets.reduce((sum, w) => sum + w.width, 0) % 24).toBe(0); // full rows
  });

  it('draws one line per dimension value for the service’s own metrics', () => {
    const valuesOf = (name: MetricName, dimension: string) =>
      customLines()
        .filter((line) => line.name === name)
        .map((line) => line.dimensions[dimension]);
    expect(valuesOf(METRIC.TokenIssued, 'Platform')).toEqual([...PLATFORMS]);
    expect(valuesOf(METRIC.CallRouted, 'Decision')).toEqual([...DECISIONS]);
    expect(valuesOf(METRIC.CallsCompleted, 'Status')).toEqual([...LEG_STATUSES]);
    expect(valuesOf(METRIC.WebhookRejected, 'Reason')).toEqual([...REJECTION_REASONS]);
    // Dial outcomes: every status × leg, summed per status by an expression labelled with the status.
    expect(
      new Set(
        customLines()
          .filter((l) => l.name === METRIC.DialOutcome)
          .map((l) => key(l)),
      ).size,
    ).toBe(DIAL_STATUSES.length * LEGS.length);
    const expressions = (widget('Dial outcomes').properties.metrics ?? [])
      .map((line) => line[0] as { label?: string; expression?: string })
      .filter((first) => typeof first === 'object' && first.expression !== undefined);
    expect(expressions.map((e) => e.label)).toEqual([...DIAL_STATUSES]);
    // Each leg filled with 0: in metric math `a + b` has no value where either has none.
    for (const e of expressions)
      expect(e.expression?.split(' + ').every((term) => /^FILL\(\w+, 0\)$/.test(term))).toBe(true);
    // Call duration: p50, p90 and max of each leg's completed calls.
    const durations = customLines().filter((l) => l.name === METRIC.CallDuration);
    expect(durations.map((l) => `${l.dimensions.Leg} ${l.dimensions.Status} ${l.options.stat}`)).toEqual(
      LEGS.flatMap((leg) => ['p50', 'p90', 'Maximum'].map((stat) => `${leg} completed ${stat}`)),
    );
    for (const line of customLines()) expect(line.dimensions.service, line.name).toBe(SERVICE_DIMENSION.service);
  });

  it('shows only metrics the code emits: each custom line’s name and dimension names are among those the handlers emitted', () => {
    const emittedShapes = new Set(emitted.recorded.map((m) => shape(m.name, m.dimensions)));
    // Every name of lib/metricNames.ts was emitted by the requests above, so the check below is not vacuous.
    expect(new Set(emitted.recorded.map((m) => m.name))).toEqual(new Set(Object.values(METRIC)));
    for (const line of customLines()) {
      expect(emittedShapes, `${line.title}: ${key(line)}`).toContain(shape(line.name, withoutService(line.dimensions)));
    }
  });

  it('is what CloudWatch stores: Powertools writes exactly the recorded metrics, in VoiceService, with service=voice', () => {
    expect(emitted.powertools.map(key).sort()).toEqual(
      emitted.recorded
        .map((m) =>
          key({ namespace: METRICS_NAMESPACE, name: m.name, dimensions: { ...m.dimensions, ...SERVICE_DIMENSION } }),
        )
        .sort(),
    );
    // And each custom line is one of those metrics, dimension values included, where the requests produced it.
    const stored = new Set(emitted.powertools.map(key));
    const drawn = new Set(customLines().map(key));
    for (const metric of emitted.powertools) {
      // Call durations are drawn for completed legs only (percentiles cannot be added up across statuses).
      if (metric.name === METRIC.CallDuration && metric.dimensions.Status !== 'completed') continue;
      expect(drawn, `emitted but not drawn: ${key(metric)}`).toContain(key(metric));
    }
    expect(
      [...drawn].filter((line) => !stored.has(line)),
      [...drawn].filter((line) => !stored.has(line)).join(),
    ).toEqual([]);
  });

  it('the alarms watch only metrics the code emits, too', () => {
    const stored = new Set(emitted.powertools.map(key));
    const alarms = Object.values(base.template.findResources('AWS::CloudWatch::Alarm'))
      .map(
        (a) =>
          a.Properties as { Namespace?: string; MetricName: string; Dimensions?: { Name: string; Value: string }[] },
      )
      .filter((a) => a.Namespace === METRICS_NAMESPACE);
    expect(alarms).toHaveLength(4);
    for (const alarm of alarms) {
      const dimensions = Object.fromEntries((alarm.Dimensions ?? []).map((d) => [d.Name, d.Value]));
      expect(stored).toContain(key({ namespace: METRICS_NAMESPACE, name: alarm.MetricName, dimensions }));
    }
  });

  it('draws each function’s errors, throttles and p99 duration, one line per function', () => {
    const lambdaLines = (title: string) =>
      metricLines(widget(title)).map((l) => `${l.namespace} ${l.name} ${l.dimensions.FunctionName} ${l.options.stat}`);
    const each = (metric: string, stat: string) =>
      FUNCTION_NAMES.map((name) => `AWS/Lambda ${metric} <Ref:${fnId(name)}> ${stat}`);
    expect(lambdaLines('Function errors')).toEqual(each('Errors', 'Sum'));
    expect(lambdaLines('Function throttles')).toEqual(each('Throttles', 'Sum'));
    expect(lambdaLines('Function duration p99')).toEqual(each('Duration', 'p99'));
  });

  it('shows cold-start init durations from every function log group (Lambda has no InitDuration metric)', () => {
    const query = widgets.find((w) => w.type === 'log');
    const source = query?.properties.query ?? '';
    const groups = FUNCTION_NAMES.map((name) => {
      const props = base.template.findResources('AWS::Lambda::Function')[fnId(name)]?.Properties as {
        LoggingConfig: { LogGroup: { Ref: string } };
      };
      return `<Ref:${props.LoggingConfig.LogGroup.Ref}>`;
    });
    expect(source.startsWith(groups.map((g) => `SOURCE '${g}'`).join(' | '))).toBe(true);
    for (const line of INIT_DURATION_QUERY) expect(source).toContain(line);
    expect(source).toContain('record.metrics.initDurationMs');
    expect(query?.properties.view).toBe('table');
  });

  it('draws the API’s 4xx, 5xx and latency', () => {
    const apiId = logicalId(base, base.stack.api);
    const apiLines = (title: string) =>
      metricLines(widget(title)).map((l) => `${l.namespace} ${l.name} ${l.dimensions.ApiId} ${l.options.stat}`);
    expect(apiLines('API requests')).toEqual(
      ['4xx Sum', '5xx Sum', 'Count SampleCount'].map(
        (m) => `AWS/ApiGateway ${m.split(' ')[0]} <Ref:${apiId}> ${m.split(' ')[1]}`,
      ),
    );
    expect(apiLines('API latency')).toEqual(
      ['Latency p50', 'Latency p99', 'IntegrationLatency p99'].map(
        (m) => `AWS/ApiGateway ${m.split(' ')[0]} <Ref:${apiId}> ${m.split(' ')[1]}`,
      ),
    );
  });
});
