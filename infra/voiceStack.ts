/**
 * The voice service on AWS: one HTTP API whose routes come from `infra/routes.ts`, a Lambda
 * authorizer for the portal's JWTs, one function per route, the Secrets Manager secret they
 * read, alarms. Settings arrive validated (`parseStackSettings`); nothing here reads the
 * environment.
 */
import { join } from 'node:path';
import { CfnOutput, Duration, RemovalPolicy, SecretValue, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { type CfnStage, HttpApi, HttpMethod, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Alarm, ComparisonOperator, type IMetric, Metric, Stats, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import type { FunctionName } from '../lib/functionFields.js';
import { METRIC, METRICS_NAMESPACE, SERVICE_DIMENSION, SIGNATURE_REJECTION } from '../lib/metricNames.js';
import { FUNCTION_ENTRIES, LAMBDA_BUNDLING, SOURCE_MAP_ENV } from './bundling.js';
import { ROUTES, routeKey } from './routes.js';
import { environmentFields, FUNCTION_NAMES, type StackSettings } from './settings.js';

const PROJECT_ROOT = join(import.meta.dirname, '..');

export const RUNTIME = Runtime.NODEJS_24_X;
export const ARCHITECTURE = Architecture.ARM_64;

/**
 * Timeouts: makeCall answers Twilio, which gives a webhook 15 s; the authorizer sits in front
 * of every token request. Both cover a cold start plus the secret read (at most 4 s, lib/secrets.ts)
 * plus the ≤ 1 s alert wait, and no more.
 */
export const FUNCTION_SPECS = {
  authorizer: { id: 'AuthorizerFunction', timeout: Duration.seconds(5), description: 'Portal JWT authorizer' },
  callToken: {
    id: 'CallTokenFunction',
    timeout: Duration.seconds(10),
    description: 'GET /api/v1/call_token: Twilio Voice access tokens',
  },
  makeCall: {
    id: 'MakeCallFunction',
    timeout: Duration.seconds(8),
    description: 'POST /api/v1/make_call: Twilio voice webhook',
  },
} as const satisfies Record<FunctionName, { id: string; timeout: Duration; description: string }>;

/** 512 MB: Lambda's CPU share grows with memory, and cold starts are CPU-bound module loading. */
const MEMORY_MB = 512;

/**
 * Every route without the authorizer must say here why that is safe; the reason becomes the
 * cdk-nag acknowledgement (AwsSolutions-APIG4) on that route alone.
 */
const UNAUTHORIZED_ROUTE_REASONS: Readonly<Record<string, string>> = {
  'POST /api/v1/make_call':
    "Twilio's voice webhook cannot send a bearer token; the makeCall function verifies every request's " +
    'X-Twilio-Signature (HMAC with the account auth token) and answers 403 without dialing when it is missing or wrong.',
};

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
 * - WebhookRejected (signature) ≥ 5: Twilio signs every webhook, so a few rejections already
 *   mean a wrong PUBLIC_BASE_URL or TWILIO_AUTH_TOKEN (every call fails), or an attacker.
 * - SecretStale ≥ 1: a function served secrets past SECRETS_CACHE_TTL because Secrets Manager
 *   could not be read; a rotation put in now would not be seen.
 */
export const ALARM_THRESHOLDS = {
  api4xx: 100,
  signatureRejected: 5,
  secretStale: 1,
} as const;

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
  readonly functions: Readonly<Record<FunctionName, NodejsFunction>>;
  readonly alarmTopic: Topic;

  constructor(scope: Construct, id: string, props: VoiceStackProps) {
    super(scope, id, props);
    const { settings } = props;

    this.secret = this.secretStore(settings);
    const secretId = settings.secret?.name ?? this.secret.secretArn;

    this.api = new HttpApi(this, 'Api', {
      apiName: this.stackName,
      description: 'Voice service: call tokens for the apps, the Twilio voice webhook',
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

    const functions = {} as Record<FunctionName, NodejsFunction>;
    for (const name of FUNCTION_NAMES) {
      const environment: Record<string, string> = { ...SOURCE_MAP_ENV };
      for (const field of environmentFields(name)) {
        const value =
          field === 'SECRET_ID' ? secretId : field === 'PUBLIC_BASE_URL' ? baseUrl : settings.functionSettings[field];
        if (value !== undefined) environment[field] = value;
      }
      functions[name] = this.lambda(name, environment, settings);
    }
    this.functions = functions;

    const authorizer = new HttpLambdaAuthorizer('PortalJwtAuthorizer', functions.authorizer, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: ['$request.header.Authorization'],
      resultsCacheTtl: Duration.seconds(settings.authorizerCacheTtlSeconds),
    });
    const routeSettings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};
    for (const route of ROUTES) {
      const key = routeKey(route);
      const reason = UNAUTHORIZED_ROUTE_REASONS[key];
      if (!route.authorized && reason === undefined) {
        throw new Error(`Route ${key} has no authorizer and no reason why that is safe (UNAUTHORIZED_ROUTE_REASONS)`);
      }
      const [httpRoute] = this.api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: new HttpLambdaIntegration(
          `${FUNCTION_SPECS[route.function].id}Integration`,
          functions[route.function],
        ),
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

    new CfnOutput(this, 'ApiUrl', { description: 'The HTTP API endpoint', value: this.api.apiEndpoint });
    new CfnOutput(this, 'CallTokenUrl', {
      description: 'What the apps call for a voice access token',
      value: `${baseUrl}${routePath('callToken')}`,
    });
    new CfnOutput(this, 'MakeCallUrl', {
      description: "Paste as the TwiML App's Voice URL (HTTP POST)",
      value: `${baseUrl}${routePath('makeCall')}`,
    });
    new CfnOutput(this, 'SecretArn', {
      description: 'Fill with aws secretsmanager put-secret-value --secret-id <this>',
      value: this.secret.secretArn,
    });
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

  private lambda(name: FunctionName, environment: Record<string, string>, settings: StackSettings): NodejsFunction {
    const spec = FUNCTION_SPECS[name];
    const logGroup = new LogGroup(this, `${spec.id}Logs`, {
      retention: settings.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Our own role instead of AWSLambdaBasicExecutionRole (logs:* on every log group):
    // write to this function's log group, read this secret, nothing else.
    const role = new Role(this, `${spec.id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `${spec.description}: its log group and the voice secret`,
    });
    logGroup.grantWrite(role);
    this.secret.grantRead(role);
    return new NodejsFunction(this, spec.id, {
      description: spec.description,
      entry: join(PROJECT_ROOT, FUNCTION_ENTRIES[name]),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      runtime: RUNTIME,
      architecture: ARCHITECTURE,
      memorySize: MEMORY_MB,
      timeout: spec.timeout,
      role,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      environment,
      bundling: LAMBDA_BUNDLING,
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
    const period = Duration.minutes(5);
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
    // Powertools adds the `service` dimension to every metric: the alarm must name it too.
    const custom = (metricName: string, dimensionsMap: Record<string, string>) =>
      new Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap, statistic: Stats.SUM, period });
    alarm(
      'WebhookSignatureRejected',
      'makeCall refused Twilio webhooks for a missing or wrong X-Twilio-Signature: Twilio always signs, so a wrong ' +
        'PUBLIC_BASE_URL or TWILIO_AUTH_TOKEN (every call fails), or an attacker',
      custom(METRIC.WebhookRejected, { ...SERVICE_DIMENSION, Reason: SIGNATURE_REJECTION }),
      ALARM_THRESHOLDS.signatureRejected,
    );
    alarm(
      'SecretStale',
      'A function served secrets past SECRETS_CACHE_TTL because Secrets Manager could not be read',
      custom(METRIC.SecretStale, { ...SERVICE_DIMENSION }),
      ALARM_THRESHOLDS.secretStale,
    );
    return topic;
  }
}
