/**
 * The voice service on AWS: one HTTP API whose routes come from `infra/routes.ts`, a Lambda
 * authorizer for the portal's JWTs, one function per route, the Secrets Manager secret they
 * read, alarms. Settings arrive validated (`parseStackSettings`); nothing here reads the
 * environment.
 */
import { join } from 'node:path';
import { CfnOutput, Duration, RemovalPolicy, SecretValue, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Alarm, ComparisonOperator, type IMetric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { SECRET_NAMES } from '../lib/config.js';
import type { FunctionName } from '../lib/functionFields.js';
import { FUNCTION_ENTRIES, LAMBDA_BUNDLING, SOURCE_MAP_ENV } from './bundling.js';
import { ROUTES, routeKey } from './routes.js';
import { environmentFields, FUNCTION_NAMES, type StackSettings } from './settings.js';

const PROJECT_ROOT = join(import.meta.dirname, '..');

export const RUNTIME = Runtime.NODEJS_24_X;
export const ARCHITECTURE = Architecture.ARM_64;

/**
 * Timeouts: makeCall answers Twilio, which gives a webhook 15 s; the authorizer sits in front
 * of every token request. Both cover a cold start plus the secret read (two 2 s attempts)
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
    new HttpStage(this, 'DefaultStage', {
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
    }

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
    const secret = new Secret(this, 'Secrets', {
      description: 'Voice service secrets (JSON). Placeholders until filled with put-secret-value; see docs/deploy.md.',
      secretObjectValue: Object.fromEntries(SECRET_NAMES.map((name) => [name, SecretValue.unsafePlainText('')])),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The values are issued by third parties (Twilio API key and auth token, the portal JWT secret, the Slack ' +
        'webhook), so no rotation Lambda can create new ones; they are rotated by hand without downtime as ' +
        'docs/deploy.md describes (JWT_PREVIOUS_SECRET, two overlapping Twilio API keys).',
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
    return topic;
  }
}
