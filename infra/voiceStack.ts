/**
 * The voice service on AWS: one HTTP API whose routes come from `infra/routes.ts`, a Lambda
 * authorizer for the portal's JWTs, the functions that serve the routes, the Secrets Manager
 * secret they read, alarms and a dashboard. Settings arrive validated (`parseStackSettings`);
 * nothing here reads the environment.
 */
import { Aws, CfnOutput, Duration, RemovalPolicy, SecretValue, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { type CfnStage, HttpApi, HttpMethod, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  LogQueryVisualizationType,
  LogQueryWidget,
  MathExpression,
  Metric,
  type MetricOptions,
  SingleValueWidget,
  Stats,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Function as LambdaFunction, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { CALL_LIMITS_ACTIONS, CALL_LIMITS_TABLE_SCHEMA } from '../lib/callLimitsTable.js';
import type { FieldName } from '../lib/config.js';
import type { FunctionName } from '../lib/functionFields.js';
import {
  DECISIONS,
  DIAL_STATUSES,
  LEG_STATUSES,
  LEGS,
  LIMIT_NAMES,
  METRIC,
  METRICS_NAMESPACE,
  type MetricName,
  PLATFORMS,
  REJECTION_REASONS,
  SERVICE_DIMENSION,
  SIGNATURE_REJECTION,
} from '../lib/metricNames.js';
import { ROUTE_PATHS } from '../lib/routePaths.js';
import { LAMBDA_HANDLER } from './bundling.js';
import { functionCode } from './functionCode.js';
import { ROUTES, type Route, type RouteKey, routeKey } from './routes.js';
import { environmentFields, FUNCTION_NAMES, type StackSettings } from './settings.js';

export const RUNTIME = Runtime.NODEJS_24_X;
export const ARCHITECTURE = Architecture.ARM_64;

/**
 * Timeouts: each covers the longest a request can wait by design, plus a second for the
 * cold start and the work itself, and stays inside its caller's own limit. The waits: a
 * secret read (≤ 4 s, lib/secrets.ts), each alert (≤ 1 s, lib/alerts.ts; at most two a
 * request), and in makeCall the limits (0.5 s) with a fail-closed give-back (2 s), in
 * callEvents a slot's release (0.5 s). So authorizer 5 + 1 s (API Gateway waits 10 s for
 * an authorizer), callToken 6 + 1 s, makeCall 8.5 + 1 s and callEvents 6.5 + 1 s (Twilio
 * waits 15 s for a webhook).
 */
export const FUNCTION_SPECS = {
  authorizer: { id: 'AuthorizerFunction', timeout: Duration.seconds(7), description: 'Portal JWT authorizer' },
  callToken: {
    id: 'CallTokenFunction',
    timeout: Duration.seconds(10),
    description: 'GET /api/v1/call_token: Twilio Voice access tokens',
  },
  makeCall: {
    id: 'MakeCallFunction',
    timeout: Duration.seconds(10),
    description: 'POST /api/v1/make_call: Twilio voice webhook',
  },
  callEvents: {
    id: 'CallEventsFunction',
    timeout: Duration.seconds(8),
    description: 'POST /api/v1/dial_status and /api/v1/call_status: Twilio dial and call status webhooks',
  },
} as const satisfies Record<FunctionName, { id: string; timeout: Duration; description: string }>;

/** 512 MB: Lambda's CPU share grows with memory, and cold starts are CPU-bound module loading. */
const MEMORY_MB = 512;

/**
 * Every route without the authorizer must say here why that is safe; the reason becomes the
 * cdk-nag acknowledgement (AwsSolutions-APIG4) on that route alone. Today each is a Twilio
 * webhook: what Twilio calls it, and what its function refuses to do for an unsigned request.
 */
const TWILIO_SIGNED_ROUTES: Readonly<Partial<Record<RouteKey, { webhook: string; refused: string }>>> = {
  'POST /api/v1/make_call': { webhook: 'voice webhook', refused: 'without dialing' },
  'POST /api/v1/dial_status': { webhook: 'dial action callback (<Dial action>)', refused: 'without acting on it' },
  'POST /api/v1/call_status': { webhook: 'call status callback (statusCallback)', refused: 'without acting on it' },
};

/** The acknowledgement's reason for a route without the authorizer, in one wording; undefined: none given. */
export function unauthorizedRouteReason(route: Route): string | undefined {
  const signed = TWILIO_SIGNED_ROUTES[routeKey(route) as RouteKey];
  if (!signed) return undefined;
  return (
    `Twilio's ${signed.webhook} cannot send a bearer token; the ${route.function} function verifies every request's ` +
    `X-Twilio-Signature (HMAC with the account auth token) and answers 403 ${signed.refused} when it is missing or wrong.`
  );
}

/** One JSON object per request; no header values (the bearer token travels in one). */
const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
});

/**
 * The stack-created secret's initial SecretString. Frozen, byte for byte what deployed
 * templates held when it was frozen (built from that day's keys): CloudFormation rewrites the stored secret whenever this
 * string changes, which would wipe the values an operator put in. So it must NEVER change,
 * not even when a secret key is added to or removed from lib/config.ts: it is deliberately a
 * literal, not built from the list of secret keys. The functions name any key missing from
 * the stored JSON at run time ("… is required but not set"), so a new key needs only a
 * put-secret-value by the operator. The other way round, a key dropped from lib/config.ts
 * stays in this placeholder (and in every filled secret), and the functions refuse unknown
 * keys: a dropped key must stay known to them, at least as ignored.
 */
export const SECRET_PLACEHOLDER =
  '{"TWILIO_API_KEY":"","TWILIO_API_KEY_SECRET":"","TWILIO_AUTH_TOKEN":"","TWILIO_SECONDARY_AUTH_TOKEN":"",' +
  '"JWT_SECRET":"","JWT_PREVIOUS_SECRET":"","SLACK_WEBHOOK_URL":""}';

/**
 * Alarm thresholds, each a count in one five-minute period (≥ threshold alarms).
 *
 * - API 4xx ≥ 100: a few 401s (expired app tokens), 403s (scanners on make_call) and 429s
 *   (route throttles) are background; 100 in five minutes (one every three seconds) is a
 *   flood, or a fault such as a portal JWT secret mismatch that turns every token request
 *   away.
 * - WebhookRejected (signature) ≥ 5: Twilio signs every webhook, so a few wrong signatures
 *   already mean a wrong PUBLIC_BASE_URL or TWILIO_AUTH_TOKEN (every call fails), or a forger.
 *   Requests with no signature at all (Reason unsigned: scanners) are drawn, not alarmed.
 * - WebhookFailed ≥ 1: a webhook failed on our side (a bad setting, the secret unreadable or
 *   unfilled): the caller heard "try again later" and nothing was dialed. Twilio's webhooks
 *   get HTTP 200 then, so neither the API's 5xx nor the functions' errors see it.
 * - SecretStale ≥ 1: a function served secrets past SECRETS_CACHE_TTL because Secrets Manager
 *   could not be read; a rotation put in now would not be seen.
 * - CallLimitsUnavailable ≥ 1 (with the call limits on): make_call could not read the limits
 *   table in time, so calls went ahead unchecked (or, fail-closed, were refused); could not
 *   give back what a call a later limit refused had taken; or a status webhook could not free
 *   an ended call's slot (in both, the caller waits for another webhook or for the slot to expire).
 */
export const ALARM_THRESHOLDS = {
  api4xx: 100,
  signatureRejected: 5,
  webhookFailed: 1,
  secretStale: 1,
  callLimitsUnavailable: 1,
} as const;

/** The period of every graph and alarm: five minutes. */
const PERIOD = Duration.minutes(5);

/**
 * One of the functions' own metrics (lib/metricNames.ts), a Sum over five minutes unless told
 * otherwise. Powertools adds the `service` dimension to every metric it writes, and a CloudWatch
 * metric is its name plus all its dimensions, so `service` is always named here too.
 */
function serviceMetric(
  metricName: MetricName,
  dimensions: Readonly<Record<string, string>> = {},
  options: MetricOptions = {},
): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { ...SERVICE_DIMENSION, ...dimensions },
    statistic: Stats.SUM,
    period: PERIOD,
    ...options,
  });
}

/** A math-expression id (lowercase letter, then letters, digits, _) for any dimension value. */
const expressionId = (...parts: string[]) =>
  parts
    .join('_')
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_');

/**
 * The Logs Insights query behind the cold-start widget. Lambda publishes no InitDuration
 * metric in AWS/Lambda; the init duration is only in each cold start's report line. With JSON
 * logs (as here) that line is `platform.report` with `record.metrics.initDurationMs`; plain-text
 * logs give `@initDuration` instead, so either is read.
 */
export const INIT_DURATION_QUERY = [
  'fields coalesce(record.metrics.initDurationMs, @initDuration) as initMs',
  'filter (type = "platform.report" or @type = "REPORT") and ispresent(initMs)',
  'stats count(*) as coldStarts, pct(initMs, 50) as p50Ms, pct(initMs, 99) as p99Ms, max(initMs) as maxMs by @log',
] as const;

/** The functions that read CALL_LIMITS_TABLE (lib/functionFields.ts): they alone get the table and its actions. */
export const CALL_LIMITS_FUNCTIONS: readonly FunctionName[] = FUNCTION_NAMES.filter((name) =>
  environmentFields(name).includes('CALL_LIMITS_TABLE'),
);

/**
 * Why the call-limits table has no point-in-time recovery (the cdk-nag AwsSolutions-DDB3
 * acknowledgement on the table).
 */
export const CALL_LIMITS_PITR_REASON =
  'The table holds only short-lived call-limit counters and concurrent-call slots: each expires ' +
  'within a day or two (TTL) and is rebuilt by the next calls. Restoring a point in time would bring back stale ' +
  'counts and slots of calls long ended, refusing callers wrongly; losing the table only resets the limits.';

function routePath(fn: FunctionName): string {
  const route = ROUTES.find((r) => r.function === fn);
  if (!route) throw new Error(`No route serves ${fn}`);
  return route.path;
}

export interface VoiceStackProps extends StackProps {
  /** From `parseStackSettings`: validated before the stack is built. */
  readonly settings: StackSettings;
}

export class VoiceStack extends Stack {
  readonly api: HttpApi;
  readonly secret: ISecret;
  readonly functions: Readonly<Record<FunctionName, LambdaFunction>>;
  readonly alarmTopic: Topic;
  readonly dashboard: Dashboard;
  /** The call-limits table; undefined with CALL_LIMITS=off. */
  readonly callLimitsTable?: Table;

  constructor(scope: Construct, id: string, props: VoiceStackProps) {
    super(scope, id, props);
    const { settings } = props;

    this.secret = this.secretStore(settings);
    const secretId = settings.secret?.name ?? this.secret.secretArn;

    this.api = new HttpApi(this, 'Api', {
      apiName: this.stackName,
      description: 'Voice service: call tokens for the apps, the Twilio voice and status webhooks',
      createDefaultStage: false,
    });
    const accessLogs = new LogGroup(this, 'ApiAccessLogs', {
      retention: settings.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // `$default`: request paths carry no stage prefix, so the routes are exactly /api/v1/….
    // `throttle` is the stage default; each route gets its own limits below (routeSettings).
    const stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: settings.throttle,
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(ACCESS_LOG_FORMAT),
      },
    });
    const baseUrl = settings.publicBaseUrl ?? this.api.apiEndpoint;
    const table = settings.callLimits ? this.callLimitsTableOf() : undefined;
    if (table) this.callLimitsTable = table;

    // What the stack provides (STACK_PROVIDED in infra/settings.ts, and PUBLIC_BASE_URL's default).
    const provided: Partial<Record<FieldName, string>> = {
      SECRET_ID: secretId,
      PUBLIC_BASE_URL: baseUrl,
      ...(table ? { CALL_LIMITS_TABLE: table.tableName } : {}),
    };
    const functions = {} as Record<FunctionName, LambdaFunction>;
    for (const name of FUNCTION_NAMES) {
      const environment: Record<string, string> = {};
      for (const field of environmentFields(name)) {
        const value = field in provided ? provided[field] : settings.functionSettings[field];
        if (value !== undefined) environment[field] = value;
      }
      functions[name] = this.lambda(name, environment, settings, table);
    }
    this.functions = functions;

    const authorizer = new HttpLambdaAuthorizer('PortalJwtAuthorizer', functions.authorizer, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: ['$request.header.Authorization'],
      resultsCacheTtl: Duration.seconds(settings.authorizerCacheTtlSeconds),
    });
    // One integration per function, shared by its routes (callEvents serves two).
    const integrations = new Map<FunctionName, HttpLambdaIntegration>();
    const integrationOf = (fn: Route['function']) => {
      let integration = integrations.get(fn);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${FUNCTION_SPECS[fn].id}Integration`, functions[fn]);
        integrations.set(fn, integration);
      }
      return integration;
    };
    const routeSettings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};
    for (const route of ROUTES) {
      const key = routeKey(route);
      const reason = route.authorized ? undefined : unauthorizedRouteReason(route);
      if (!route.authorized && reason === undefined) {
        throw new Error(`Route ${key} has no authorizer and no reason why that is safe (TWILIO_SIGNED_ROUTES)`);
      }
      const [httpRoute] = this.api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: integrationOf(route.function),
        ...(route.authorized ? { authorizer } : {}),
      });
      if (!route.authorized && httpRoute && reason) {
        Validations.of(httpRoute).acknowledge({ id: 'AwsSolutions-APIG4', reason });
      }
      const throttle = settings.routeThrottles[key];
      // The L1 property is untyped JSON passed as is: CloudFormation's own casing.
      routeSettings[key] = { ThrottlingRateLimit: throttle.rateLimit, ThrottlingBurstLimit: throttle.burstLimit };
      // API Gateway refuses route settings for a route that does not exist yet.
      if (httpRoute) stage.node.addDependency(httpRoute);
    }
    (stage.node.defaultChild as CfnStage).routeSettings = routeSettings;

    this.alarmTopic = this.alarms(settings);
    this.dashboard = this.dashboardOf();

    new CfnOutput(this, 'ApiUrl', { description: 'The HTTP API endpoint', value: this.api.apiEndpoint });
    new CfnOutput(this, 'CallTokenUrl', {
      description: 'What the apps call for a voice access token',
      value: `${baseUrl}${routePath('callToken')}`,
    });
    new CfnOutput(this, 'MakeCallUrl', {
      description: "Paste as the TwiML App's Voice URL (HTTP POST)",
      value: `${baseUrl}${routePath('makeCall')}`,
    });
    new CfnOutput(this, 'CallStatusUrl', {
      description: "Paste as the TwiML App's Status Callback URL (HTTP POST): a call's end frees its call-limit slot",
      value: `${baseUrl}${ROUTE_PATHS.callStatus}`,
    });
    new CfnOutput(this, 'SecretArn', {
      description: 'Fill with aws secretsmanager put-secret-value --secret-id <this>',
      value: this.secret.secretArn,
    });
    new CfnOutput(this, 'DashboardUrl', {
      description: "The service's CloudWatch dashboard",
      value:
        `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}` +
        `#dashboards:name=${this.dashboard.dashboardName}`,
    });
  }

  /**
   * The per-caller call-limits table (lib/callLimitsTable.ts): one string partition key, no sort
   * key, items deleted by TTL. On demand: a few writes per call, bursty, nothing to provision.
   * AWS-owned encryption: the items are counters and call SIDs keyed by caller id, and an
   * AWS-managed (aws/dynamodb) or customer key would add a KMS call and a key policy to every
   * read and write on make_call's path for no one else to hold a key to. DESTROY: the counters
   * live an hour or a day, so a table left behind by `cdk destroy` (or a replaced one) would
   * only hold stale counts under a name nothing reads again.
   */
  private callLimitsTableOf(): Table {
    const table = new Table(this, 'CallLimitsTable', {
      partitionKey: { name: CALL_LIMITS_TABLE_SCHEMA.partitionKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: CALL_LIMITS_TABLE_SCHEMA.ttlAttribute,
      encryption: TableEncryption.DEFAULT,
      deletionProtection: false,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(table).acknowledge({ id: 'AwsSolutions-DDB3', reason: CALL_LIMITS_PITR_REASON });
    return table;
  }

  /** The stack's own secret with placeholders, or the operator's existing one. */
  private secretStore(settings: StackSettings): ISecret {
    if (settings.secret?.arn) return Secret.fromSecretCompleteArn(this, 'Secrets', settings.secret.arn);
    if (settings.secret?.name) return Secret.fromSecretNameV2(this, 'Secrets', settings.secret.name);
    // Empty strings: no value in the template, and the functions refuse to run on them
    // ("JWT_SECRET is required but not set") until an operator puts the real ones in.
    // A constant (SECRET_PLACEHOLDER), so no deploy ever rewrites what the operator put.
    const secret = new Secret(this, 'Secrets', {
      description:
        'Voice service secrets (JSON). Placeholders until filled with put-secret-value; see the README, "Deploy".',
      secretStringValue: SecretValue.unsafePlainText(SECRET_PLACEHOLDER),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The values are issued by third parties (Twilio API key and auth token, the portal JWT secret, the Slack ' +
        'webhook), so no rotation Lambda can create new ones; they are rotated by hand without downtime as ' +
        'the README\'s "Deploy" section describes (JWT_PREVIOUS_SECRET, two overlapping Twilio API keys).',
    });
    return secret;
  }

  private lambda(
    name: FunctionName,
    environment: Record<string, string>,
    settings: StackSettings,
    callLimitsTable: Table | undefined,
  ): LambdaFunction {
    const spec = FUNCTION_SPECS[name];
    const logGroup = new LogGroup(this, `${spec.id}Logs`, {
      retention: settings.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Our own role instead of AWSLambdaBasicExecutionRole (logs:* on every log group):
    // write to this function's log group, read this secret, and for the functions that keep
    // call limits the store's own actions on that table (exactly CALL_LIMITS_ACTIONS), nothing else.
    const table = CALL_LIMITS_FUNCTIONS.includes(name) ? callLimitsTable : undefined;
    const role = new Role(this, `${spec.id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `${spec.description}: its log group${table ? ', the voice secret and the call-limits table' : ' and the voice secret'}`,
    });
    logGroup.grantWrite(role);
    this.secret.grantRead(role);
    if (table) {
      role.addToPrincipalPolicy(
        new PolicyStatement({ effect: Effect.ALLOW, actions: [...CALL_LIMITS_ACTIONS], resources: [table.tableArn] }),
      );
    }
    return new LambdaFunction(this, spec.id, {
      description: spec.description,
      code: functionCode(name),
      handler: LAMBDA_HANDLER,
      runtime: RUNTIME,
      architecture: ARCHITECTURE,
      memorySize: MEMORY_MB,
      timeout: spec.timeout,
      role,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      environment,
    });
  }

  private alarms(settings: StackSettings): Topic {
    const topic = new Topic(this, 'AlarmTopic', { displayName: 'Voice service alarms', enforceSSL: true });
    if (settings.alarmEmail) topic.addSubscription(new EmailSubscription(settings.alarmEmail));
    const action = new SnsAction(topic);
    const alarm = (id: string, description: string, metric: IMetric, threshold: number) => {
      const created = new Alarm(this, id, {
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(action);
      created.addOkAction(action);
    };
    const period = PERIOD;
    for (const name of FUNCTION_NAMES) {
      const { id } = FUNCTION_SPECS[name];
      const fn = this.functions[name];
      alarm(`${id}Errors`, `${name}: invocations failed (threw or timed out)`, fn.metricErrors({ period }), 1);
      alarm(`${id}Throttles`, `${name}: invocations throttled`, fn.metricThrottles({ period }), 1);
    }
    alarm('Api5xx', 'HTTP API answered 5xx', this.api.metricServerError({ period }), 1);
    alarm(
      'Api4xx',
      `HTTP API answered ${ALARM_THRESHOLDS.api4xx}+ 4xx in 5 minutes (401/403/429): a flood, or every request refused`,
      this.api.metricClientError({ period }),
      ALARM_THRESHOLDS.api4xx,
    );
    alarm(
      'WebhookSignatureRejected',
      'Twilio webhooks (make_call, dial_status, call_status) refused for a wrong X-Twilio-Signature: Twilio always ' +
        'signs, so a wrong PUBLIC_BASE_URL or TWILIO_AUTH_TOKEN (every call fails), or a forger',
      serviceMetric(METRIC.WebhookRejected, { Reason: SIGNATURE_REJECTION }),
      ALARM_THRESHOLDS.signatureRejected,
    );
    alarm(
      'WebhookFailed',
      'A Twilio webhook failed on our side (a setting, or the secret unreadable or unfilled): callers heard ' +
        '"try again later" and nothing was dialed; answered 200, so Api5xx does not see it',
      serviceMetric(METRIC.WebhookFailed),
      ALARM_THRESHOLDS.webhookFailed,
    );
    alarm(
      'SecretStale',
      'A function served secrets past SECRETS_CACHE_TTL because Secrets Manager could not be read',
      serviceMetric(METRIC.SecretStale),
      ALARM_THRESHOLDS.secretStale,
    );
    if (this.callLimitsTable) {
      alarm(
        'CallLimitsUnavailable',
        'The call-limits table failed: make_call could not read it in time (calls went ahead unchecked, refused when fail-closed), could not give back what a refused call took, or a status webhook could not free an ended call’s slot (its caller waits for another webhook or for it to expire)',
        serviceMetric(METRIC.CallLimitsUnavailable),
        ALARM_THRESHOLDS.callLimitsUnavailable,
      );
    }
    return topic;
  }

  /**
   * One CloudWatch dashboard: what the service does (tokens, calls, dials, call lengths), what
   * it refuses and what fails, then the API and each function. The custom metrics are exactly
   * the names and dimensions the code emits (lib/metricNames.ts), one line per dimension value.
   * Named `<stack>-<region>`: dashboard names are global to the account, not per region.
   */
  private dashboardOf(): Dashboard {
    const dashboard = new Dashboard(this, 'Dashboard', { dashboardName: `${this.stackName}-${Aws.REGION}` });
    const graph = (title: string, left: IMetric[], more: Partial<ConstructorParameters<typeof GraphWidget>[0]> = {}) =>
      new GraphWidget({ title, left, width: 8, height: 6, ...more });
    /** One line per value of the metric's one dimension, labelled with the value. */
    const perValue = (metricName: MetricName, dimension: string, values: readonly string[]) =>
      values.map((value) => serviceMetric(metricName, { [dimension]: value }, { label: value }));

    // A dial's outcome is counted per Status and Leg; the graph sums the legs of each status. In
    // metric math `a + b` has no value where either has none, and a leg rarely has data in every
    // period (unknown almost never): each is filled with 0 first.
    const dialOutcomes = DIAL_STATUSES.map(
      (status) =>
        new MathExpression({
          label: status,
          period: PERIOD,
          expression: LEGS.map((leg) => `FILL(${expressionId('dial', status, leg)}, 0)`).join(' + '),
          usingMetrics: Object.fromEntries(
            LEGS.map((leg) => [
              expressionId('dial', status, leg),
              serviceMetric(METRIC.DialOutcome, { Status: status, Leg: leg }),
            ]),
          ),
        }),
    );
    // Percentiles cannot be added up across metrics, so call lengths are those of legs that
    // completed (the other statuses last 0 s): p50, p90 and max per leg.
    const durations = LEGS.flatMap((leg) =>
      ['p50', 'p90', Stats.MAXIMUM].map((statistic) =>
        serviceMetric(
          METRIC.CallDuration,
          { Leg: leg, Status: 'completed' },
          { statistic, label: `${leg} ${statistic === Stats.MAXIMUM ? 'max' : statistic}` },
        ),
      ),
    );
    const perFunction = (metric: (fn: LambdaFunction, label: string) => IMetric) =>
      FUNCTION_NAMES.map((name) => metric(this.functions[name], name));

    dashboard.addWidgets(
      graph('Tokens issued by platform', perValue(METRIC.TokenIssued, 'Platform', PLATFORMS)),
      graph('Calls routed by decision (make_call)', perValue(METRIC.CallRouted, 'Decision', DECISIONS)),
      graph('Dial outcomes by status (dial_status)', dialOutcomes),
    );
    dashboard.addWidgets(
      graph('Call duration of completed legs, seconds (call_status)', durations, { leftYAxis: { min: 0 }, width: 6 }),
      graph('Legs ended by status (call_status)', perValue(METRIC.CallsCompleted, 'Status', LEG_STATUSES), {
        width: 6,
      }),
      graph('Webhooks rejected by reason', perValue(METRIC.WebhookRejected, 'Reason', REJECTION_REASONS), { width: 6 }),
      graph('Calls refused by a call limit (make_call)', perValue(METRIC.CallLimited, 'Limit', LIMIT_NAMES), {
        width: 6,
      }),
    );
    dashboard.addWidgets(
      new SingleValueWidget({
        title: 'Refused and failed, over the time range',
        width: 8,
        height: 6,
        setPeriodToTimeRange: true,
        metrics: [
          serviceMetric(METRIC.InvalidParameters, {}, { label: 'call_token: invalid type' }),
          serviceMetric(METRIC.TokenFailed, {}, { label: 'call_token: failed' }),
          serviceMetric(METRIC.WebhookFailed, {}, { label: 'webhooks: failed on our side' }),
          serviceMetric(METRIC.SecretStale, {}, { label: 'served stale secrets' }),
          serviceMetric(METRIC.CallLimitsUnavailable, {}, { label: 'call limits unavailable' }),
        ],
      }),
      graph(
        'API requests and errors',
        [
          this.api.metricClientError({ period: PERIOD, label: '4xx' }),
          this.api.metricServerError({ period: PERIOD, label: '5xx' }),
        ],
        { right: [this.api.metricCount({ period: PERIOD, label: 'requests' })] },
      ),
      graph('API latency, ms', [
        this.api.metricLatency({ period: PERIOD, statistic: 'p50', label: 'p50' }),
        this.api.metricLatency({ period: PERIOD, statistic: 'p99', label: 'p99' }),
        this.api.metricIntegrationLatency({ period: PERIOD, statistic: 'p99', label: 'integration p99' }),
      ]),
    );
    dashboard.addWidgets(
      graph(
        'Function errors',
        perFunction((fn, label) => fn.metricErrors({ period: PERIOD, label })),
      ),
      graph(
        'Function throttles',
        perFunction((fn, label) => fn.metricThrottles({ period: PERIOD, label })),
      ),
      graph(
        'Function duration p99, ms',
        perFunction((fn, label) => fn.metricDuration({ period: PERIOD, statistic: 'p99', label })),
      ),
    );
    dashboard.addWidgets(
      new LogQueryWidget({
        title: 'Cold starts: init duration by function, ms (Logs Insights over the function log groups)',
        width: 24,
        height: 6,
        logGroupNames: FUNCTION_NAMES.map((name) => this.functions[name].logGroup.logGroupName),
        queryLines: [...INIT_DURATION_QUERY],
        view: LogQueryVisualizationType.TABLE,
      }),
    );
    return dashboard;
  }
}
