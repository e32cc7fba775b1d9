/**
 * The voice stack's template, property by property (bundling skipped; see bundling.test.ts
 * for the real bundles).
 */
import { Validations } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, routeKey } from '../../infra/routes.js';
import { FUNCTION_NAMES } from '../../infra/settings.js';
import {
  ALARM_THRESHOLDS,
  CALL_LIMITS_FUNCTIONS,
  CALL_LIMITS_PITR_REASON,
  SECRET_PLACEHOLDER,
  unauthorizedRouteReason,
} from '../../infra/voiceStack.js';
import { ALERT_TIMEOUT_MS } from '../../lib/alerts.js';
import { CALL_LIMITS_TIMEOUT_MS, GIVE_BACK_WAIT_MS } from '../../lib/callLimitStore.js';
import { CALL_LIMITS_ACTIONS, CALL_LIMITS_TABLE_SCHEMA } from '../../lib/callLimitsTable.js';
import { SECRET_NAMES } from '../../lib/config.js';
import { FUNCTION_FIELDS, type FunctionName } from '../../lib/functionFields.js';
import { METRIC, METRICS_NAMESPACE, SERVICE_DIMENSION, SIGNATURE_REJECTION } from '../../lib/metricNames.js';
import { STORE_DEADLINE_MS } from '../../lib/secrets.js';
import { logicalId, removeOutdirs, SETTINGS, type Synthesized, synth } from './stackFixture.js';

type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: unknown };
type Resources = Record<string, Resource>;

let base: Synthesized;
let apiId: string;
let secretId: string;
let tableId: string;
/** The same logical ids in every synth: the construct paths do not change. */
const apiEndpoint = () => ({ 'Fn::GetAtt': [apiId, 'ApiEndpoint'] });
const fnId = (name: FunctionName, s: Synthesized = base) => logicalId(s, s.stack.functions[name]);
const resources = (type: string, s: Synthesized = base) => s.template.findResources(type) as Resources;
const fnProps = (name: FunctionName, s: Synthesized = base) => {
  const fn = resources('AWS::Lambda::Function', s)[fnId(name, s)];
  if (!fn) throw new Error(`no function ${name}`);
  return fn.Properties as {
    Environment: { Variables: Record<string, unknown> };
    Role: unknown;
    LoggingConfig: { LogGroup: { Ref: string }; LogFormat: string };
    [key: string]: unknown;
  };
};

// A synth takes a second or two, much longer on a busy machine.
beforeAll(() => {
  base = synth();
  apiId = logicalId(base, base.stack.api);
  secretId = logicalId(base, base.stack.secret);
  if (!base.stack.callLimitsTable) throw new Error('no call-limits table by default');
  tableId = logicalId(base, base.stack.callLimitsTable);
}, 60_000);
afterAll(removeOutdirs);

describe('routes', () => {
  it('are exactly the routes table, each integrated with its function', () => {
    const routes = Object.values(resources('AWS::ApiGatewayV2::Route'));
    expect(routes.map((route) => route.Properties.RouteKey).sort()).toEqual(ROUTES.map(routeKey).sort());
    const integrations = resources('AWS::ApiGatewayV2::Integration');
    for (const route of ROUTES) {
      const resource = routes.find((r) => r.Properties.RouteKey === routeKey(route));
      const target = JSON.stringify(resource?.Properties.Target);
      const [integrationId] = Object.keys(integrations).filter((id) => target.includes(id));
      expect(integrationId, routeKey(route)).toBeDefined();
      const integration = integrations[integrationId as string]?.Properties;
      expect(integration).toMatchObject({
        IntegrationType: 'AWS_PROXY',
        PayloadFormatVersion: '2.0',
        IntegrationUri: { 'Fn::GetAtt': [fnId(route.function), 'Arn'] },
      });
    }
  });

  it('put the authorizer on GET /api/v1/call_token and nothing on the three Twilio webhooks', () => {
    const [authorizerId] = Object.keys(resources('AWS::ApiGatewayV2::Authorizer'));
    base.template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'GET /api/v1/call_token',
      AuthorizationType: 'CUSTOM',
      AuthorizerId: { Ref: authorizerId },
    });
    for (const routeKey of ['POST /api/v1/make_call', 'POST /api/v1/dial_status', 'POST /api/v1/call_status']) {
      base.template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: routeKey,
        AuthorizationType: 'NONE',
        AuthorizerId: Match.absent(),
      });
    }
  });

  it('serve dial_status and call_status with the one callEvents function', () => {
    const integrations = Object.values(resources('AWS::ApiGatewayV2::Integration')).filter(
      (i) =>
        JSON.stringify(i.Properties.IntegrationUri) === JSON.stringify({ 'Fn::GetAtt': [fnId('callEvents'), 'Arn'] }),
    );
    expect(integrations).toHaveLength(1);
    // Still one invoke permission per route, each for its own path.
    const permissions = Object.values(resources('AWS::Lambda::Permission')).filter(
      (p) =>
        JSON.stringify(p.Properties.FunctionName) === JSON.stringify({ 'Fn::GetAtt': [fnId('callEvents'), 'Arn'] }),
    );
    expect(permissions.map((p) => JSON.stringify(p.Properties.SourceArn).match(/\/api\/v1\/\w+/)?.[0]).sort()).toEqual([
      '/api/v1/call_status',
      '/api/v1/dial_status',
    ]);
    expect(ROUTES.filter((r) => r.function === 'callEvents').map(routeKey)).toEqual([
      'POST /api/v1/dial_status',
      'POST /api/v1/call_status',
    ]);
  });

  it('give each route without the authorizer the one signature reason, naming its function', () => {
    for (const route of ROUTES.filter((r) => !r.authorized)) {
      const reason = unauthorizedRouteReason(route) ?? '';
      expect(reason, routeKey(route)).toMatch(
        new RegExp(
          `^Twilio's .+ cannot send a bearer token; the ${route.function} function verifies every request's X-Twilio-Signature .+ answers 403 .+ when it is missing or wrong\\.$`,
        ),
      );
    }
    expect(
      unauthorizedRouteReason({ method: 'GET', path: '/api/v1/other', function: 'callToken', authorized: false }),
    ).toBeUndefined();
  });
});

describe('authorizer', () => {
  it('is a REQUEST authorizer on the authorizer function: payload 2.0, simple responses, Authorization header, 300 s cache', () => {
    const authorizers = Object.values(resources('AWS::ApiGatewayV2::Authorizer'));
    expect(authorizers).toHaveLength(1);
    expect(authorizers[0]?.Properties).toMatchObject({
      ApiId: { Ref: apiId },
      AuthorizerType: 'REQUEST',
      AuthorizerPayloadFormatVersion: '2.0',
      EnableSimpleResponses: true,
      IdentitySource: ['$request.header.Authorization'],
      AuthorizerResultTtlInSeconds: 300,
    });
    expect(JSON.stringify(authorizers[0]?.Properties.AuthorizerUri)).toContain(`"${fnId('authorizer')}","Arn"`);
  });

  it('caches for AUTHORIZER_CACHE_TTL seconds, 0 included', () => {
    for (const ttl of [0, 30]) {
      synth({ ...SETTINGS, AUTHORIZER_CACHE_TTL: String(ttl) }).template.hasResourceProperties(
        'AWS::ApiGatewayV2::Authorizer',
        { AuthorizerResultTtlInSeconds: ttl },
      );
    }
  });
});

describe('functions', () => {
  it('all run nodejs24.x on arm64, ES-module handler, JSON logs', () => {
    expect(Object.keys(resources('AWS::Lambda::Function')).sort()).toEqual(FUNCTION_NAMES.map((n) => fnId(n)).sort());
    for (const name of FUNCTION_NAMES) {
      expect(fnProps(name), name).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        LoggingConfig: { LogFormat: 'JSON' },
      });
    }
  });

  it('time out past their longest designed wait plus a second, and inside their callers’ own limits', () => {
    // Each wait named from its own module; a request sends at most two alerts (a secret notice, its answer's).
    // A request waits for one read of the secret at most: a cold read, or the refresh past the
    // TTL (shared, and not tried again within the request when it fails), each within the store deadline.
    const secret = STORE_DEADLINE_MS;
    const alerts = 2 * ALERT_TIMEOUT_MS;
    const longest: Record<FunctionName, number> = {
      authorizer: secret + ALERT_TIMEOUT_MS, // a failed read's alert, or a recovered one's: never both
      callToken: secret + alerts,
      makeCall: secret + alerts + CALL_LIMITS_TIMEOUT_MS + GIVE_BACK_WAIT_MS,
      callEvents: secret + alerts + CALL_LIMITS_TIMEOUT_MS,
    };
    // API Gateway waits 10 s for an authorizer and 30 s for an integration; Twilio 15 s for a webhook.
    const caller: Record<FunctionName, number> = {
      authorizer: 10_000,
      callToken: 30_000,
      makeCall: 15_000,
      callEvents: 15_000,
    };
    for (const name of FUNCTION_NAMES) {
      const timeoutMs = Number(fnProps(name).Timeout) * 1000;
      expect(timeoutMs, name).toBeGreaterThanOrEqual(longest[name] + 1000);
      expect(timeoutMs, name).toBeLessThan(caller[name]);
    }
  });

  it('each get only the settings they read, SECRET_ID, CALL_LIMITS_TABLE where read, and source maps on', () => {
    const expected: Record<FunctionName, Record<string, unknown>> = {
      authorizer: { SECRET_ID: { Ref: secretId } },
      callToken: {
        TWILIO_ACCOUNT_SID: SETTINGS.TWILIO_ACCOUNT_SID,
        TWILIO_ML_APP_SID: SETTINGS.TWILIO_ML_APP_SID,
        TWILIO_ML_APNS_CERT_SID: SETTINGS.TWILIO_ML_APNS_CERT_SID,
        TWILIO_ML_FCM_CERT_SID: SETTINGS.TWILIO_ML_FCM_CERT_SID,
        SECRET_ID: { Ref: secretId },
      },
      // The stack turns on what the code leaves off (STACK_DEFAULTS).
      makeCall: {
        TWILIO_ACCOUNT_SID: SETTINGS.TWILIO_ACCOUNT_SID,
        TWILIO_ML_APP_SID: SETTINGS.TWILIO_ML_APP_SID,
        TWILIO_FROM: SETTINGS.TWILIO_FROM,
        PUBLIC_BASE_URL: expect.anything(),
        DIAL_ACTION: 'true',
        ANSWER_ON_BRIDGE: 'true',
        CALL_STATUS_CALLBACK: 'true',
        CALL_LIMITS_TABLE: { Ref: tableId },
        SECRET_ID: { Ref: secretId },
      },
      callEvents: {
        TWILIO_ACCOUNT_SID: SETTINGS.TWILIO_ACCOUNT_SID,
        TWILIO_ML_APP_SID: SETTINGS.TWILIO_ML_APP_SID,
        PUBLIC_BASE_URL: expect.anything(),
        CALL_LIMITS_TABLE: { Ref: tableId },
        SECRET_ID: { Ref: secretId },
      },
    };
    for (const name of FUNCTION_NAMES) {
      // Exactly these: in particular no NODE_OPTIONS=--enable-source-maps, which costs 12–21 ms
      // of every cold start (errors are mapped to the TypeScript source when logged instead).
      expect(fnProps(name).Environment.Variables, name).toEqual(expected[name]);
    }
  });

  it('pass optional settings only to the functions that read them', () => {
    const optional = {
      TWILIO_TOKEN_TTL: '600',
      TWILIO_CALLER_IDS: '+15005550007, +15005550008',
      TWILIO_CALL_TIME_LIMIT: '120',
      DEFAULT_COUNTRY: 'CA',
      ALLOWED_DIAL_COUNTRIES: 'US',
      EMERGENCY_NUMBERS: '911,112',
      DIAL_TIMEOUT: '20',
      SUPPORT_NUMBER: '+18005550100',
      MAX_PHONE_CALLS_PER_HOUR: '5',
      MAX_PHONE_CALLS_PER_DAY: '12',
      MAX_CLIENT_CALLS_PER_HOUR: '40',
      MAX_CONCURRENT_PHONE_CALLS: '2',
      MAX_PHONE_CALLS_PER_MINUTE: '50',
      CALL_LIMITS_FAIL_CLOSED: 'true',
      SECRETS_CACHE_TTL: '60',
    };
    const s = synth({ ...SETTINGS, ...optional });
    for (const name of FUNCTION_NAMES) {
      const variables = fnProps(name, s).Environment.Variables;
      for (const [setting, value] of Object.entries(optional)) {
        const reads = (FUNCTION_FIELDS[name] as readonly string[]).includes(setting) || setting === 'SECRETS_CACHE_TTL';
        expect(variables[setting], `${name} ${setting}`).toEqual(reads ? value : undefined);
      }
    }
  });

  it('give makeCall and callEvents the API’s own URL as PUBLIC_BASE_URL, or the custom domain URL when one is given', () => {
    const custom = synth({ ...SETTINGS, PUBLIC_BASE_URL: 'https://voice.example.com/v/' });
    // The same base on both: makeCall hands Twilio <base>/api/v1/dial_status, callEvents checks signatures for it.
    for (const name of ['makeCall', 'callEvents'] as const) {
      expect(fnProps(name).Environment.Variables.PUBLIC_BASE_URL, name).toEqual(apiEndpoint());
      expect(fnProps(name, custom).Environment.Variables.PUBLIC_BASE_URL, name).toBe('https://voice.example.com/v');
    }
  });

  it('turn makeCall’s dial action, answerOnBridge and status callbacks on unless told otherwise', () => {
    const off = synth(
      { ...SETTINGS, DIAL_ACTION: 'false', CALL_STATUS_CALLBACK: 'false', CALL_LIMITS: 'off' },
      { context: { ANSWER_ON_BRIDGE: 'false' } },
    );
    expect(fnProps('makeCall', off).Environment.Variables).toMatchObject({
      DIAL_ACTION: 'false',
      ANSWER_ON_BRIDGE: 'false',
      CALL_STATUS_CALLBACK: 'false',
    });
    expect(() => synth({ ...SETTINGS, DIAL_ACTION: 'yes' })).toThrow(
      expect.objectContaining({ name: 'ConfigError', problems: ['DIAL_ACTION must be true or false'] }),
    );
  });
});

describe('secrets', () => {
  const SECRET_VALUES = {
    TWILIO_API_KEY: `SK${'9f'.repeat(16)}`,
    TWILIO_API_KEY_SECRET: 'api-key-secret-do-not-leak',
    TWILIO_AUTH_TOKEN: 'auth-token-do-not-leak-0123',
    JWT_SECRET: 'jwt-secret-do-not-leak-0123',
    JWT_PREVIOUS_SECRET: 'jwt-previous-do-not-leak-01',
    SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/do-not-leak',
  };

  /**
   * What deployed templates held when the placeholder was frozen, written out here
   * rather than taken from the stack's constant: CloudFormation rewrites the stored secret
   * (wiping what the operator put in) whenever this string changes, so it must not, ever,
   * whatever keys lib/config.ts knows (secretPlaceholder.test.ts adds one). A new key is
   * named missing by the functions instead.
   */
  const FROZEN_PLACEHOLDER =
    '{"TWILIO_API_KEY":"","TWILIO_API_KEY_SECRET":"","TWILIO_AUTH_TOKEN":"","TWILIO_SECONDARY_AUTH_TOKEN":"",' +
    '"JWT_SECRET":"","JWT_PREVIOUS_SECRET":"","SLACK_WEBHOOK_URL":""}';

  it('the created secret starts as the frozen placeholder, byte for byte, every key an empty string', () => {
    const secrets = Object.values(resources('AWS::SecretsManager::Secret'));
    expect(secrets).toHaveLength(1);
    expect(secrets[0]?.Properties.SecretString).toBe(FROZEN_PLACEHOLDER);
    expect(SECRET_PLACEHOLDER).toBe(FROZEN_PLACEHOLDER);
    expect(new Set(Object.values(JSON.parse(FROZEN_PLACEHOLDER) as Record<string, unknown>))).toEqual(new Set(['']));
  });

  it('the created secret is kept when the stack is deleted or replaces it: the operator filled in live credentials', () => {
    const [secret] = Object.values(resources('AWS::SecretsManager::Secret')) as (Resource & {
      DeletionPolicy?: string;
      UpdateReplacePolicy?: string;
    })[];
    expect(secret?.DeletionPolicy).toBe('Retain');
    expect(secret?.UpdateReplacePolicy).toBe('Retain');
  });

  it('the secret description points to the README, not a deleted document', () => {
    const [secret] = Object.values(resources('AWS::SecretsManager::Secret'));
    expect(secret?.Properties.Description).toContain('README');
    expect(base.text).not.toMatch(/docs\/deploy/);
  });

  it('never reach the template, even when they are in the environment at synth', () => {
    const s = synth({ ...SETTINGS, ...SECRET_VALUES });
    for (const [name, value] of Object.entries(SECRET_VALUES)) {
      expect(s.text, name).not.toContain(value);
    }
    for (const name of FUNCTION_NAMES) {
      const variables = Object.keys(fnProps(name, s).Environment.Variables);
      expect(
        variables.filter((v) => (SECRET_NAMES as string[]).includes(v) || /SECRET$|TOKEN|PASSWORD/.test(v)),
      ).toEqual([]);
    }
  });

  it('SECRET_NAME imports an existing secret by name: nothing created, functions told its name', () => {
    const s = synth({ ...SETTINGS, SECRET_NAME: 'prod/voice' });
    expect(resources('AWS::SecretsManager::Secret', s)).toEqual({});
    for (const name of FUNCTION_NAMES) expect(fnProps(name, s).Environment.Variables.SECRET_ID).toBe('prod/voice');
    // The name's random six-character suffix is unknown at synth; IAM matches exactly six characters.
    expect(JSON.stringify(resources('AWS::IAM::Policy', s))).toContain(':secret:prod/voice-??????"');
  });

  it('SECRET_NAME may be the complete ARN: the policy then names exactly that secret', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/voice-AbC123';
    const s = synth({ ...SETTINGS, SECRET_NAME: arn });
    expect(resources('AWS::SecretsManager::Secret', s)).toEqual({});
    for (const name of FUNCTION_NAMES) expect(fnProps(name, s).Environment.Variables.SECRET_ID).toBe(arn);
    for (const policy of Object.values(resources('AWS::IAM::Policy', s))) {
      expect(JSON.stringify(policy)).toContain(`"Resource":"${arn}"`);
    }
    s.template.hasOutput('SecretArn', { Value: arn });
  });
});

describe('IAM', () => {
  it('each function role: write its own log group, read this secret, nothing else; no managed policies', () => {
    const roles = resources('AWS::IAM::Role');
    const policies = resources('AWS::IAM::Policy');
    expect(Object.keys(roles)).toHaveLength(FUNCTION_NAMES.length);
    expect(Object.keys(policies)).toHaveLength(FUNCTION_NAMES.length);
    for (const role of Object.values(roles)) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(role.Properties.Policies).toBeUndefined();
      expect(role.Properties.AssumeRolePolicyDocument).toMatchObject({
        Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }],
      });
    }
    for (const name of FUNCTION_NAMES) {
      const props = fnProps(name);
      const roleId = (props.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      const attached = Object.values(policies).filter(
        (p) => JSON.stringify(p.Properties.Roles) === `[{"Ref":"${roleId}"}]`,
      );
      expect(attached, name).toHaveLength(1);
      const callLimits = name === 'makeCall' || name === 'callEvents';
      expect(attached[0]?.Properties.PolicyDocument, name).toEqual({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: { 'Fn::GetAtt': [props.LoggingConfig.LogGroup.Ref, 'Arn'] },
          },
          {
            Effect: 'Allow',
            Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
            Resource: { Ref: secretId },
          },
          ...(callLimits
            ? [
                {
                  Effect: 'Allow',
                  // CDK sorts a statement's actions: exactly CALL_LIMITS_ACTIONS.
                  Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
                  Resource: { 'Fn::GetAtt': [tableId, 'Arn'] },
                },
              ]
            : []),
        ],
      });
    }
  });

  it('no policy statement the stack writes has a wildcard resource or action', () => {
    const statements = Object.values(resources('AWS::IAM::Policy')).flatMap(
      (p) => (p.Properties.PolicyDocument as { Statement: { Action: unknown; Resource: unknown }[] }).Statement,
    );
    for (const statement of statements) {
      expect(JSON.stringify(statement.Resource)).not.toMatch(/\*/);
      expect(JSON.stringify(statement.Action)).not.toMatch(/\*/);
    }
  });
});

describe('call limits', () => {
  const tables = (s: Synthesized = base) => resources('AWS::DynamoDB::Table', s);
  const dynamodbStatements = (s: Synthesized) =>
    Object.values(resources('AWS::IAM::Policy', s)).flatMap((p) =>
      (p.Properties.PolicyDocument as { Statement: { Action: string | string[] }[] }).Statement.filter((st) =>
        [st.Action].flat().some((action) => action.startsWith('dynamodb:')),
      ),
    );

  it('one table: partition key pk (string), no sort key, on demand, TTL on expiresAt, AWS-owned key, no deletion protection', () => {
    expect(CALL_LIMITS_TABLE_SCHEMA).toEqual({ partitionKey: 'pk', ttlAttribute: 'expiresAt' });
    expect(Object.keys(tables())).toEqual([tableId]);
    const table = tables()[tableId] as Resource & { DeletionPolicy?: string; UpdateReplacePolicy?: string };
    expect(table.Properties).toEqual({
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      // SSEEnabled false: DynamoDB's AWS-owned key, not aws/dynamodb or a customer key.
      SSESpecification: { SSEEnabled: false },
      DeletionProtectionEnabled: false,
    });
    // No fixed name (the stack names it, CALL_LIMITS_TABLE tells the functions), no streams, no indexes, no PITR.
    expect(table.Properties.TableName).toBeUndefined();
    // Short-lived counters: deleted with the stack (see CALL_LIMITS_PITR_REASON).
    expect(table.DeletionPolicy).toBe('Delete');
    expect(table.UpdateReplacePolicy).toBe('Delete');
  });

  it('only makeCall and callEvents get CALL_LIMITS_TABLE, the table’s name (Ref)', () => {
    expect(CALL_LIMITS_FUNCTIONS).toEqual(['makeCall', 'callEvents']);
    for (const name of ['makeCall', 'callEvents'] as const) {
      expect(fnProps(name).Environment.Variables.CALL_LIMITS_TABLE, name).toEqual({ Ref: tableId });
    }
    for (const name of ['authorizer', 'callToken'] as const) {
      expect(fnProps(name).Environment.Variables, name).not.toHaveProperty('CALL_LIMITS_TABLE');
    }
  });

  it('IAM: makeCall and callEvents get exactly CALL_LIMITS_ACTIONS on the table’s ARN; authorizer and callToken no dynamodb action', () => {
    const policies = resources('AWS::IAM::Policy');
    const statementsOf = (name: FunctionName) => {
      const roleId = (fnProps(name).Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      return Object.values(policies)
        .filter((p) => JSON.stringify(p.Properties.Roles) === `[{"Ref":"${roleId}"}]`)
        .flatMap(
          (p) =>
            (p.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] })
              .Statement,
        );
    };
    for (const name of ['makeCall', 'callEvents'] as const) {
      const dynamodb = statementsOf(name).filter((st) => JSON.stringify(st.Action).includes('dynamodb:'));
      // One statement: Allow, exactly CALL_LIMITS_ACTIONS (CDK sorts them), on the table's ARN alone (no index, no *).
      expect(dynamodb, name).toEqual([
        { Effect: 'Allow', Action: [...CALL_LIMITS_ACTIONS].sort(), Resource: { 'Fn::GetAtt': [tableId, 'Arn'] } },
      ]);
    }
    for (const name of ['authorizer', 'callToken'] as const) {
      expect(JSON.stringify(statementsOf(name)), name).not.toMatch(/dynamodb/i);
      expect(JSON.stringify(statementsOf(name)), name).not.toContain(tableId);
    }
    // Nowhere else in the stack: the two statements above are all.
    expect(dynamodbStatements(base)).toHaveLength(2);
  });

  it('CALL_LIMITS=off: no table, no CALL_LIMITS_TABLE, no dynamodb action anywhere; the rest unchanged', () => {
    const off = synth({ ...SETTINGS, CALL_LIMITS: 'off' });
    expect(off.stack.callLimitsTable).toBeUndefined();
    expect(tables(off)).toEqual({});
    expect(off.text).not.toMatch(/dynamodb/i);
    for (const name of FUNCTION_NAMES) {
      expect(fnProps(name, off).Environment.Variables, name).not.toHaveProperty('CALL_LIMITS_TABLE');
    }
    expect(dynamodbStatements(off)).toEqual([]);
    // The limits' own settings still reach makeCall (it validates them; without a table it counts nothing).
    const offWithLimits = synth({ ...SETTINGS, CALL_LIMITS: 'off', MAX_PHONE_CALLS_PER_HOUR: '3' });
    expect(fnProps('makeCall', offWithLimits).Environment.Variables.MAX_PHONE_CALLS_PER_HOUR).toBe('3');
    expect(Object.keys(resources('AWS::Lambda::Function', off))).toHaveLength(FUNCTION_NAMES.length);
    // -c CALL_LIMITS=on, or any empty value, is the default.
    expect(Object.keys(tables(synth(SETTINGS, { context: { CALL_LIMITS: 'on' } })))).toHaveLength(1);
  });

  it('CALL_LIMITS must be on or off: anything else stops synth naming it', () => {
    expect(() => synth({ ...SETTINGS, CALL_LIMITS: 'false' })).toThrow(
      expect.objectContaining({ name: 'ConfigError', problems: ['CALL_LIMITS must be on or off'] }),
    );
  });

  it('the table carries the one cdk-nag acknowledgement for point-in-time recovery, with why', () => {
    const table = base.stack.callLimitsTable;
    const acks = (table?.node.metadata ?? []).filter(
      (entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY,
    );
    expect(acks.map((entry) => entry.data)).toEqual([{ 'Annotation::AwsSolutions-DDB3': CALL_LIMITS_PITR_REASON }]);
    expect(CALL_LIMITS_PITR_REASON).toMatch(/stale/);
    expect(base.text).not.toContain('PointInTimeRecovery');
  });
});

describe('logs', () => {
  it('every log group keeps logs LOG_RETENTION_DAYS (30 by default): one per function and the access log', () => {
    const groups = Object.values(resources('AWS::Logs::LogGroup'));
    expect(groups).toHaveLength(FUNCTION_NAMES.length + 1);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(30);
    const longer = Object.values(resources('AWS::Logs::LogGroup', synth({ ...SETTINGS, LOG_RETENTION_DAYS: '90' })));
    for (const group of longer) expect(group.Properties.RetentionInDays).toBe(90);
  });

  it('each function logs to its own group', () => {
    const groups = FUNCTION_NAMES.map((name) => fnProps(name).LoggingConfig.LogGroup.Ref);
    expect(new Set(groups).size).toBe(FUNCTION_NAMES.length);
    for (const id of groups) expect(resources('AWS::Logs::LogGroup')[id]).toBeDefined();
  });
});

describe('stage', () => {
  it('is the one explicit $default stage, auto-deployed, throttled 50/s burst 100, with JSON access logs', () => {
    const stages = Object.values(resources('AWS::ApiGatewayV2::Stage'));
    expect(stages).toHaveLength(1);
    const stage = stages[0]?.Properties as Record<string, unknown> & {
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [string, string] }; Format: string };
    };
    expect(stage).toMatchObject({
      ApiId: { Ref: apiId },
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
    const [groupId, attribute] = stage.AccessLogSettings.DestinationArn['Fn::GetAtt'];
    expect(attribute).toBe('Arn');
    expect(resources('AWS::Logs::LogGroup')[groupId]).toBeDefined();
    const format = JSON.parse(stage.AccessLogSettings.Format) as Record<string, string>;
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      routeKey: '$context.routeKey',
      status: '$context.status',
    });
    // No header values: the bearer token travels in one.
    expect(stage.AccessLogSettings.Format).not.toMatch(/header/i);
  });

  it('takes its throttle from API_THROTTLE_RATE and API_THROTTLE_BURST', () => {
    synth({ ...SETTINGS, API_THROTTLE_RATE: '5', API_THROTTLE_BURST: '7' }).template.hasResourceProperties(
      'AWS::ApiGatewayV2::Stage',
      { DefaultRouteSettings: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 7 } },
    );
  });

  it('throttles each route on its own: call_token 50/100, make_call 20/40, dial_status 20/40, call_status 50/100 by default', () => {
    base.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      RouteSettings: {
        'GET /api/v1/call_token': { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
        'POST /api/v1/make_call': { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
        'POST /api/v1/dial_status': { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
        'POST /api/v1/call_status': { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      },
    });
    // One entry per route of ROUTES, nothing else.
    const [stage] = Object.values(resources('AWS::ApiGatewayV2::Stage'));
    expect(Object.keys(stage?.Properties.RouteSettings as object).sort()).toEqual(ROUTES.map(routeKey).sort());
  });

  it('takes each route’s throttle from its own settings', () => {
    const s = synth({
      ...SETTINGS,
      CALL_TOKEN_THROTTLE_RATE: '11',
      CALL_TOKEN_THROTTLE_BURST: '22',
      MAKE_CALL_THROTTLE_RATE: '3',
      MAKE_CALL_THROTTLE_BURST: '4',
      DIAL_STATUS_THROTTLE_RATE: '5',
      DIAL_STATUS_THROTTLE_BURST: '6',
      CALL_STATUS_THROTTLE_RATE: '7',
      CALL_STATUS_THROTTLE_BURST: '8',
    });
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      RouteSettings: {
        'GET /api/v1/call_token': { ThrottlingRateLimit: 11, ThrottlingBurstLimit: 22 },
        'POST /api/v1/make_call': { ThrottlingRateLimit: 3, ThrottlingBurstLimit: 4 },
        'POST /api/v1/dial_status': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 6 },
        'POST /api/v1/call_status': { ThrottlingRateLimit: 7, ThrottlingBurstLimit: 8 },
      },
    });
  });

  it('refuses a route throttle above the stage default: a ConfigError naming the setting', () => {
    expect(() => synth({ ...SETTINGS, MAKE_CALL_THROTTLE_BURST: '101' })).toThrow(
      expect.objectContaining({
        name: 'ConfigError',
        problems: ['MAKE_CALL_THROTTLE_BURST must not exceed API_THROTTLE_BURST, the stage default'],
      }),
    );
  });

  it('is created after the routes its route settings name (API Gateway refuses unknown route keys)', () => {
    const [stageId] = Object.keys(resources('AWS::ApiGatewayV2::Stage'));
    const stage = base.template.toJSON().Resources[stageId as string] as { DependsOn?: string[] };
    const routeIds = Object.keys(resources('AWS::ApiGatewayV2::Route'));
    expect(routeIds).toHaveLength(ROUTES.length);
    for (const id of routeIds) expect(stage.DependsOn).toContain(id);
  });
});

describe('alarms', () => {
  it('watch each function’s errors and throttles and the API’s 5xx, notifying the topic on alarm and recovery', () => {
    const [topicId] = Object.keys(resources('AWS::SNS::Topic'));
    const alarms = Object.values(resources('AWS::CloudWatch::Alarm'))
      .map((a) => a.Properties)
      .filter((a) => a.Namespace === 'AWS/Lambda' || a.MetricName === '5xx');
    expect(alarms).toHaveLength(FUNCTION_NAMES.length * 2 + 1);
    for (const alarm of alarms) {
      expect(alarm).toMatchObject({
        AlarmActions: [{ Ref: topicId }],
        OKActions: [{ Ref: topicId }],
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        Statistic: 'Sum',
        TreatMissingData: 'notBreaching',
      });
    }
    for (const name of FUNCTION_NAMES) {
      for (const metric of ['Errors', 'Throttles']) {
        expect(
          alarms.filter(
            (a) =>
              a.Namespace === 'AWS/Lambda' &&
              a.MetricName === metric &&
              JSON.stringify(a.Dimensions) === JSON.stringify([{ Name: 'FunctionName', Value: { Ref: fnId(name) } }]),
          ),
          `${name} ${metric}`,
        ).toHaveLength(1);
      }
    }
    expect(
      alarms.filter(
        (a) =>
          a.Namespace === 'AWS/ApiGateway' &&
          a.MetricName === '5xx' &&
          JSON.stringify(a.Dimensions) === JSON.stringify([{ Name: 'ApiId', Value: { Ref: apiId } }]),
      ),
    ).toHaveLength(1);
  });

  const topicRef = () => ({ Ref: Object.keys(resources('AWS::SNS::Topic'))[0] });
  const alarmsOf = (metricName: string) =>
    Object.values(resources('AWS::CloudWatch::Alarm'))
      .map((a) => a.Properties)
      .filter((a) => a.MetricName === metricName);

  it('are fourteen in all: two per function (eight), 5xx, 4xx, signature rejections, webhook failures, stale secrets, call limits unavailable', () => {
    expect(FUNCTION_NAMES.length * 2 + 6).toBe(14);
    base.template.resourceCountIs('AWS::CloudWatch::Alarm', FUNCTION_NAMES.length * 2 + 6);
  });

  it('watch CallLimitsUnavailable (service dimension only): Sum ≥ 1 in five minutes; none with CALL_LIMITS=off', () => {
    expect(ALARM_THRESHOLDS.callLimitsUnavailable).toBe(1);
    base.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC.CallLimitsUnavailable,
      Dimensions: [{ Name: 'service', Value: SERVICE_DIMENSION.service }],
      Statistic: 'Sum',
      Threshold: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topicRef()],
    });
    const off = synth({ ...SETTINGS, CALL_LIMITS: 'off' });
    const alarms = Object.values(off.template.findResources('AWS::CloudWatch::Alarm')).map(
      (a) => a.Properties.MetricName,
    );
    expect(alarms).not.toContain(METRIC.CallLimitsUnavailable);
  });

  it('watch the API’s 4xx: ≥ 100 in five minutes, notifying the topic', () => {
    expect(ALARM_THRESHOLDS.api4xx).toBe(100);
    base.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApiGateway',
      MetricName: '4xx',
      Dimensions: [{ Name: 'ApiId', Value: { Ref: apiId } }],
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 100,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [topicRef()],
      OKActions: [topicRef()],
    });
    expect(alarmsOf('4xx')).toHaveLength(1);
  });

  it('watch WebhookRejected with Reason=signature (a wrong signature; none at all is unsigned, not alarmed): Sum ≥ 5 in five minutes', () => {
    expect(ALARM_THRESHOLDS.signatureRejected).toBe(5);
    base.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'VoiceService',
      MetricName: 'WebhookRejected',
      Dimensions: [
        { Name: 'Reason', Value: 'signature' },
        { Name: 'service', Value: 'voice' },
      ],
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 5,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [topicRef()],
      OKActions: [topicRef()],
    });
    // The names the code emits under (lib/metricNames.ts), not a copy that could drift.
    expect([METRICS_NAMESPACE, METRIC.WebhookRejected, SERVICE_DIMENSION, SIGNATURE_REJECTION]).toEqual([
      'VoiceService',
      'WebhookRejected',
      { service: 'voice' },
      'signature',
    ]);
    expect(alarmsOf('WebhookRejected')).toHaveLength(1);
  });

  it.each([
    ['SecretStale', 'secrets served past their TTL', ALARM_THRESHOLDS.secretStale],
    ['WebhookFailed', 'a failure of ours answers Twilio 200, which Api5xx cannot see', ALARM_THRESHOLDS.webhookFailed],
  ] as const)('watch %s (service dimension only): Sum ≥ 1 in five minutes — %s', (metricName, _why, threshold) => {
    expect(threshold).toBe(1);
    base.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC[metricName],
      Dimensions: [{ Name: 'service', Value: SERVICE_DIMENSION.service }],
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [topicRef()],
      OKActions: [topicRef()],
    });
    expect(alarmsOf(metricName)).toHaveLength(1);
  });

  it('email ALARM_EMAIL when given, and nobody otherwise', () => {
    expect(resources('AWS::SNS::Subscription')).toEqual({});
    const s = synth({ ...SETTINGS, ALARM_EMAIL: 'oncall@example.com' });
    s.template.resourceCountIs('AWS::SNS::Subscription', 1);
    s.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
  });
});

describe('outputs', () => {
  const join = (path: string) => ({ 'Fn::Join': ['', [apiEndpoint(), path]] });

  it('give the API URL, the URLs of the routes the apps and the TwiML App call (Voice URL, Status Callback), the secret ARN and the dashboard', () => {
    const outputs = base.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    // No dial_status URL: make_call's TwiML hands it to Twilio. call_status's is also the TwiML App's Status Callback.
    expect(Object.keys(outputs).sort()).toEqual([
      'ApiUrl',
      'CallStatusUrl',
      'CallTokenUrl',
      'DashboardUrl',
      'MakeCallUrl',
      'SecretArn',
    ]);
    expect(outputs.ApiUrl?.Value).toEqual(apiEndpoint());
    expect(outputs.CallTokenUrl?.Value).toEqual(join('/api/v1/call_token'));
    expect(outputs.MakeCallUrl?.Value).toEqual(join('/api/v1/make_call'));
    expect(outputs.CallStatusUrl?.Value).toEqual(join('/api/v1/call_status'));
    expect(outputs.SecretArn?.Value).toEqual({ Ref: secretId });
  });

  it('use the custom domain URL for the routes when PUBLIC_BASE_URL is given', () => {
    const s = synth({ ...SETTINGS, PUBLIC_BASE_URL: 'https://voice.example.com' });
    s.template.hasOutput('MakeCallUrl', { Value: 'https://voice.example.com/api/v1/make_call' });
    s.template.hasOutput('CallStatusUrl', { Value: 'https://voice.example.com/api/v1/call_status' });
    s.template.hasOutput('CallTokenUrl', { Value: 'https://voice.example.com/api/v1/call_token' });
    s.template.hasOutput('ApiUrl', { Value: apiEndpoint() });
  });
});
