/**
 * What the bench runs: the cold-start rows (which bundle, which environment, which request,
 * what a right answer is), the check that the call limits really ran, and the warm cases with
 * their floors. test/bench/report.ts reads the results.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import type { BuiltFunction } from '../../infra/build.js';
import type { FunctionName } from '../../lib/functionFields.js';
import { dynamoClient } from '../support/dynamoLocal.js';
import {
  appEvents,
  BENCH_PATH,
  BENCH_SECRETS,
  BENCH_TABLE,
  BENCH_WARM_TABLE,
  callerUserId,
  callSidOf,
  callStatusEvent,
  DIALED_NUMBER,
  type EventSettings,
  makeCallEvent,
} from './benchEnv.js';
import type { ColdRow } from './coldStart.js';
import { type Scenario, withNodeOption } from './deployedEnv.js';
import type { ExtraBundle, NaiveFunction, SdkAlone } from './extraBundles.js';
import type { WarmCase } from './warm.js';

export const FUNCTIONS = [
  'authorizer',
  'callToken',
  'makeCall',
  'callEvents',
] as const satisfies readonly FunctionName[];
export const NAIVE = ['authorizer', 'callToken', 'makeCall'] as const satisfies readonly NaiveFunction[];
const SOURCE_MAPS = '--enable-source-maps';

type EnvOf = (name: FunctionName, scenario: Scenario) => Record<string, string>;

// What a right answer is, per function: anything else stops the bench.
const record = (result: unknown) => (result ?? {}) as { statusCode?: number; body?: string; isAuthorized?: boolean };
const CHECKS: Record<FunctionName | 'bare' | 'sdk', (result: unknown) => string | undefined> = {
  authorizer: (r) => (record(r).isAuthorized === true ? undefined : 'not authorized'),
  callToken: (r) => {
    const { statusCode, body } = record(r);
    return statusCode === 200 && JSON.parse(body ?? '{}').data?.token ? undefined : 'no token';
  },
  makeCall: (r) => {
    const { statusCode, body = '' } = record(r);
    return statusCode === 200 && body.includes('<Number') && body.includes(DIALED_NUMBER) ? undefined : 'no dial';
  },
  callEvents: (r) => (record(r).statusCode === 204 ? undefined : 'not 204'),
  bare: (r) => (r === null ? undefined : 'answered'),
  sdk: (r) => (record(r).statusCode === 200 ? undefined : 'the call failed'),
};

export interface Bundles {
  built: Record<FunctionName, BuiltFunction>;
  naive: Record<NaiveFunction, ExtraBundle>;
  sdkAlone: Record<SdkAlone, ExtraBundle>;
}

export type BenchEvents = Awaited<ReturnType<typeof benchEvents>>;

async function benchEvents(settings: EventSettings) {
  const app = await appEvents(settings);
  return {
    ...app,
    settings,
    makeCall: (n: number) => makeCallEvent(settings, n),
    callStatus: (n: number) => callStatusEvent(settings, n),
  };
}

/** The events come from the deployed settings (account, TwiML app, the API's URL). */
const eventSettings = (env: Record<string, string>): EventSettings => ({
  TWILIO_ACCOUNT_SID: env.TWILIO_ACCOUNT_SID as string,
  TWILIO_ML_APP_SID: env.TWILIO_ML_APP_SID as string,
  PUBLIC_BASE_URL: env.PUBLIC_BASE_URL as string,
});

/**
 * The cold-start rows, in the order each round runs them. (c)'s callEvents follows (c)'s
 * makeCall in the same round: the leg that completes is the call just placed, whose slot it frees.
 */
export async function coldRows(
  options: Bundles & { envOf: EnvOf; sdkEnv: Record<SdkAlone, Record<string, string>>; sourceMapsDeployed: boolean },
) {
  const { built, naive, sdkAlone, envOf, sdkEnv, sourceMapsDeployed } = options;
  const events = await benchEvents(eventSettings(envOf('makeCall', 'env')));
  const eventOf: Record<FunctionName, (n: number) => unknown> = {
    authorizer: () => events.authorizer,
    callToken: () => events.callToken,
    makeCall: events.makeCall,
    callEvents: events.callStatus,
  };
  const ours = (scenario: Scenario, name: FunctionName): ColdRow => ({
    id: `${scenario}:${name}`,
    bundle: built[name].outfile,
    env: envOf(name, scenario),
    event: eventOf[name],
    check: CHECKS[name],
  });
  const rows: ColdRow[] = [
    { id: 'bare', bundle: null, env: { PATH: BENCH_PATH }, event: () => ({}), check: CHECKS.bare },
    ...FUNCTIONS.map((name) => ours('env', name)),
    ...FUNCTIONS.map((name) => ours('secretsManager', name)),
    ours('callLimits', 'makeCall'),
    ours('callLimits', 'callEvents'),
    ...NAIVE.map((name) => {
      // The quickstart's environment: the same settings and secrets, no NODE_OPTIONS of the stack's.
      const { NODE_OPTIONS: _none, ...env } = envOf(name, 'env');
      return { id: `naive:${name}`, bundle: naive[name].file, env, event: eventOf[name], check: CHECKS[name] };
    }),
    {
      id: 'alone:secretsManager',
      bundle: sdkAlone.secretsManager.file,
      env: sdkEnv.secretsManager,
      event: () => ({}),
      check: CHECKS.sdk,
    },
    {
      id: 'alone:dynamoDb',
      bundle: sdkAlone.dynamoDb.file,
      env: sdkEnv.dynamoDb,
      event: (n: number) => ({ key: `alone#${n}` }),
      check: CHECKS.sdk,
    },
    {
      // The stack used to set --enable-source-maps: what the other choice costs (or saves).
      id: 'sourceMaps:makeCall',
      bundle: built.makeCall.outfile,
      env: withNodeOption(envOf('makeCall', 'env'), SOURCE_MAPS, !sourceMapsDeployed),
      event: events.makeCall,
      check: CHECKS.makeCall,
    },
  ];
  const secretsManagerRows = rows.filter((row) => row.env.AWS_ENDPOINT_URL_SECRETS_MANAGER && row.env.SECRET_ID).length;
  return { rows, events, secretsManagerRows };
}

/**
 * With the limits on, a check that times out lets the call through uncounted (fail-open), and the
 * answer looks the same: read the table to see every (c) call counted and its slot freed again.
 */
export async function checkCallLimitsApplied(endpoint: string, runs: number): Promise<string[]> {
  const client = dynamoClient(endpoint);
  const keys = new Set<string>();
  try {
    let start: Record<string, never> | undefined;
    do {
      const page = await client.send(
        new ScanCommand({ TableName: BENCH_TABLE, ...(start ? { ExclusiveStartKey: start } : {}) }),
      );
      for (const item of page.Items ?? []) if (item.pk?.S) keys.add(item.pk.S);
      start = page.LastEvaluatedKey as typeof start;
    } while (start);
  } finally {
    client.destroy();
  }
  const rounds = Array.from({ length: runs + 1 }, (_, n) => n);
  const uncounted = rounds.filter((n) => ![...keys].some((key) => key.startsWith(`u#${callerUserId(n)}#phone-hour#`)));
  const unreleased = rounds.filter((n) => keys.has(`call#${callSidOf(n)}`));
  return [
    ...(uncounted.length > 0 ? [`(c) makeCall: ${uncounted.length} of ${runs + 1} calls not counted (fail-open)`] : []),
    ...(unreleased.length > 0 ? [`(c) callEvents: ${unreleased.length} of ${runs + 1} slots not released`] : []),
  ];
}

/** The warm cases: each handler with secrets from the environment and the limits off, then makeCall with them on. */
export function warmCases(options: {
  built: Record<FunctionName, BuiltFunction>;
  envOf: EnvOf;
  events: BenchEvents;
  warm: number;
  warmup: number;
}): WarmCase[] {
  const { built, envOf, events, warm, warmup } = options;
  const base = { warmup, iterations: warm };
  const limitsOn = { warmup: Math.min(warmup, 200), iterations: Math.min(warm, 1000) };
  return [
    {
      id: 'authorizer',
      bundle: built.authorizer.outfile,
      env: envOf('authorizer', 'env'),
      events: [events.authorizer],
      floor: { kind: 'jwtVerify', secret: BENCH_SECRETS.JWT_SECRET as string, token: events.token },
      check: CHECKS.authorizer,
      ...base,
    },
    {
      id: 'callToken',
      bundle: built.callToken.outfile,
      env: envOf('callToken', 'env'),
      events: [events.callToken],
      floor: { kind: 'jwtSign', secret: BENCH_SECRETS.TWILIO_API_KEY_SECRET as string },
      check: CHECKS.callToken,
      ...base,
    },
    {
      id: 'makeCall',
      bundle: built.makeCall.outfile,
      env: envOf('makeCall', 'env'),
      events: [events.makeCall(0)],
      floor: { kind: 'voiceResponse' },
      check: CHECKS.makeCall,
      ...base,
    },
    {
      id: 'callEvents',
      bundle: built.callEvents.outfile,
      env: envOf('callEvents', 'env'),
      events: [events.callStatus(0)],
      floor: {
        kind: 'twilioSignature',
        authToken: BENCH_SECRETS.TWILIO_AUTH_TOKEN as string,
        url: `${events.settings.PUBLIC_BASE_URL}/api/v1/call_status`,
      },
      check: CHECKS.callEvents,
      ...base,
    },
    {
      // For information: DynamoDB round trips to dynalite, one caller per call, in a table of its
      // own whose service-wide per-minute limit is raised so that no call is refused.
      id: 'makeCall:limits',
      bundle: built.makeCall.outfile,
      env: {
        ...envOf('makeCall', 'callLimits'),
        CALL_LIMITS_TABLE: BENCH_WARM_TABLE,
        MAX_PHONE_CALLS_PER_MINUTE: '100000',
      },
      events: Array.from({ length: limitsOn.warmup + limitsOn.iterations + 1 }, (_, n) => events.makeCall(n)),
      floor: { kind: 'voiceResponse' },
      check: CHECKS.makeCall,
      ...limitsOn,
    },
  ];
}
