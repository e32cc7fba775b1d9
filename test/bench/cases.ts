/**
 * What the bench runs: the cold-start rows (which bundle, which environment, which request,
 * what a right answer is), the check that the call limits really ran, and the warm cases with
 * their floors. test/bench/report.ts reads the results.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
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
  callStatusEvent,
  callStatusQuery,
  DIALED_NUMBER,
  type EventSettings,
  makeCallEvent,
} from './benchEnv.js';
import { type ColdRow, coldAnswer } from './coldStart.js';
import { type Scenario, withNodeOption } from './deployedEnv.js';
import type { ExtraBundle, LibrariesAloneFunction, NaiveFunction, SdkAlone } from './extraBundles.js';
import type { Floor, WarmCase } from './warm.js';

export const FUNCTIONS = [
  'authorizer',
  'callToken',
  'makeCall',
  'callEvents',
] as const satisfies readonly FunctionName[];
export const NAIVE = ['authorizer', 'callToken', 'makeCall'] as const satisfies readonly NaiveFunction[];
export const LIBRARIES_ALONE = NAIVE satisfies readonly LibrariesAloneFunction[];
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
  librariesAlone: Record<LibrariesAloneFunction, ExtraBundle>;
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
export const eventsFor = (envOf: EnvOf) => {
  const env = envOf('makeCall', 'env');
  return benchEvents({
    TWILIO_ACCOUNT_SID: env.TWILIO_ACCOUNT_SID as string,
    TWILIO_ML_APP_SID: env.TWILIO_ML_APP_SID as string,
    PUBLIC_BASE_URL: env.PUBLIC_BASE_URL as string,
  });
};

const eventsOf = (events: BenchEvents): Record<FunctionName, (n: number) => unknown> => ({
  authorizer: () => events.authorizer,
  callToken: () => events.callToken,
  makeCall: events.makeCall,
  callEvents: events.callStatus,
});

/** Our handlers' answers to the benchmarked requests in (a): what the libraries-alone bundles must answer. */
export type OurAnswers = Record<LibrariesAloneFunction, unknown>;

export async function ourAnswers(
  options: Pick<Bundles, 'built'> & { envOf: EnvOf; events: BenchEvents; tempDir: string },
): Promise<OurAnswers> {
  const { built, envOf, events, tempDir } = options;
  const eventOf = eventsOf(events);
  const answers = {} as OurAnswers;
  for (const name of LIBRARIES_ALONE) {
    answers[name] = await coldAnswer(
      {
        id: `answer:${name}`,
        bundle: built[name].outfile,
        env: envOf(name, 'env'),
        event: eventOf[name],
        check: CHECKS[name],
      },
      tempDir,
    );
  }
  return answers;
}

const xmlText = (text: string) =>
  text.replace(
    /&(amp|lt|gt|quot|apos);/g,
    (_, name: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[name] as string,
  );
const xmlAttributes = (text: string) =>
  Object.fromEntries([...text.matchAll(/([\w:]+)="([^"]*)"/g)].map(([, k, v]) => [k, xmlText(v ?? '')]));

/**
 * The `<Dial>` and `<Number>` attributes of our makeCall's answer, in its order, as the
 * libraries-alone makeCall's build-time `define`s (the warm floor reads them the same way).
 */
export function librariesAloneDefines(answers: OurAnswers): Record<LibrariesAloneFunction, Record<string, string>> {
  const body = record(answers.makeCall).body ?? '';
  const shape = /^<\?xml[^>]*\?><Response><Dial([^>]*)><Number([^>]*)>[^<]*<\/Number><\/Dial><\/Response>$/;
  const found = shape.exec(body);
  if (!found) throw new Error(`our makeCall did not dial one number: ${body.slice(0, 500)}`);
  return {
    authorizer: {},
    callToken: {},
    makeCall: {
      LIBRARIES_ALONE_DIAL: JSON.stringify(xmlAttributes(found[1] ?? '')),
      LIBRARIES_ALONE_NUMBER: JSON.stringify(xmlAttributes(found[2] ?? '')),
    },
  };
}

const jwtParts = (token: string) => {
  const [header = '', payload = '', signature = ''] = token.split('.');
  const json = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>;
  return { header: json(header), payload: json(payload), signed: `${header}.${payload}`, signature };
};
const tokenOf = (result: unknown) => JSON.parse(record(result).body ?? '{}').data?.token as string | undefined;

/**
 * What is wrong with a libraries-alone answer: it must be ours, exactly (the authorizer's
 * verdict, the TwiML and its headers), or for call_token the same token but for when it was
 * issued (jti, iat, exp), signed with the API key secret.
 */
export function librariesAloneChecks(
  answers: OurAnswers,
  apiKeySecret: string,
): Record<LibrariesAloneFunction, (result: unknown) => string | undefined> {
  const same = (name: LibrariesAloneFunction) => (result: unknown) =>
    isDeepStrictEqual(result, answers[name]) ? undefined : `not ours: ${JSON.stringify(answers[name]).slice(0, 300)}`;
  return {
    authorizer: same('authorizer'),
    makeCall: same('makeCall'),
    callToken: (result) => {
      const wrong = CHECKS.callToken(result);
      if (wrong) return wrong;
      const theirs = tokenOf(result) as string;
      const { header, payload, signed, signature } = jwtParts(theirs);
      const mac = createHmac('sha256', apiKeySecret).update(signed).digest();
      const given = Buffer.from(signature, 'base64url');
      if (given.length !== mac.length || !timingSafeEqual(given, mac)) return 'the token does not verify';
      const ours = jwtParts(tokenOf(answers.callToken) as string);
      const timeless = ({ jti: _jti, iat, exp, ...claims }: Record<string, unknown>) => ({
        ...claims,
        ttl: Number(exp) - Number(iat),
      });
      if (!isDeepStrictEqual(header, ours.header) || !isDeepStrictEqual(timeless(payload), timeless(ours.payload))) {
        return 'not our token';
      }
      const envelope = (r: unknown) => {
        const { statusCode, headers, body } = record(r) as { statusCode?: number; headers?: unknown; body?: string };
        const parsed = JSON.parse(body ?? '{}');
        return { statusCode, headers, status: parsed.status, data: { ...parsed.data, token: undefined } };
      };
      return isDeepStrictEqual(envelope(result), envelope(answers.callToken)) ? undefined : 'not our answer';
    },
  };
}

/**
 * The cold-start rows, in the order each round runs them. (c)'s callEvents follows (c)'s
 * makeCall in the same round: the leg that completes is the call just placed, whose slot it frees.
 */
export function coldRows(
  options: Bundles & {
    envOf: EnvOf;
    events: BenchEvents;
    sdkEnv: Record<SdkAlone, Record<string, string>>;
    librariesAloneCheck: Record<LibrariesAloneFunction, (result: unknown) => string | undefined>;
    sourceMapsDeployed: boolean;
  },
) {
  const { built, naive, sdkAlone, librariesAlone, envOf, events, sdkEnv, librariesAloneCheck, sourceMapsDeployed } =
    options;
  const eventOf = eventsOf(events);
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
    // The same request, environment and round as (a), with the libraries alone.
    ...LIBRARIES_ALONE.map((name) => ({
      id: `librariesAlone:${name}`,
      bundle: librariesAlone[name].file,
      env: envOf(name, 'env'),
      event: eventOf[name],
      check: librariesAloneCheck[name],
    })),
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
  return { rows, secretsManagerRows };
}

/**
 * With the limits on, a check that times out lets the call through uncounted (fail-open), and the
 * answer looks the same: read the table to see every (c) call counted and its slot freed again.
 */
export async function checkCallLimitsApplied(endpoint: string, runs: number): Promise<string[]> {
  const client = dynamoClient(endpoint);
  const items = new Map<string, Record<string, unknown>>();
  try {
    let start: Record<string, never> | undefined;
    do {
      const page = await client.send(
        new ScanCommand({ TableName: BENCH_TABLE, ...(start ? { ExclusiveStartKey: start } : {}) }),
      );
      for (const item of page.Items ?? []) if (item.pk?.S) items.set(item.pk.S, item);
      start = page.LastEvaluatedKey as typeof start;
    } while (start);
  } finally {
    client.destroy();
  }
  const rounds = Array.from({ length: runs + 1 }, (_, n) => n);
  // Each round's caller has a phone item (counted) whose set of calls in progress is empty again (released).
  const phoneItem = (n: number) => items.get(`u#${callerUserId(n)}#phone`);
  const uncounted = rounds.filter((n) => !phoneItem(n));
  const unreleased = rounds.filter((n) => phoneItem(n)?.slots !== undefined);
  return [
    ...(uncounted.length > 0 ? [`(c) makeCall: ${uncounted.length} of ${runs + 1} calls not counted (fail-open)`] : []),
    ...(unreleased.length > 0 ? [`(c) callEvents: ${unreleased.length} of ${runs + 1} slots not released`] : []),
  ];
}

/**
 * The warm cases: each handler with secrets from the environment and the limits off, each
 * libraries-alone bundle after ours (same environment and request, its own process, the same
 * first floor), then makeCall with the limits on.
 */
export function warmCases(options: {
  built: Record<FunctionName, BuiltFunction>;
  librariesAlone: Record<LibrariesAloneFunction, ExtraBundle>;
  librariesAloneCheck: Record<LibrariesAloneFunction, (result: unknown) => string | undefined>;
  envOf: EnvOf;
  events: BenchEvents;
  warm: number;
  warmup: number;
}): WarmCase[] {
  const { built, librariesAlone, librariesAloneCheck, envOf, events, warm, warmup } = options;
  const base = { warmup, iterations: warm };
  const limitsOn = { warmup: Math.min(warmup, 200), iterations: Math.min(warm, 1000) };
  const bearer = { secret: BENCH_SECRETS.JWT_SECRET as string, token: events.token };
  const floorOf: Record<LibrariesAloneFunction, Floor> = {
    authorizer: { kind: 'jwtVerify', ...bearer },
    callToken: { kind: 'jwtSign', secret: BENCH_SECRETS.TWILIO_API_KEY_SECRET as string },
    makeCall: { kind: 'voiceResponse' },
  };
  const eventFor: Record<LibrariesAloneFunction, unknown> = {
    authorizer: events.authorizer,
    callToken: events.callToken,
    makeCall: events.makeCall(0),
  };
  const pair = (name: LibrariesAloneFunction, extraFloors: Floor[] = []): WarmCase[] => [
    {
      id: name,
      bundle: built[name].outfile,
      env: envOf(name, 'env'),
      events: [eventFor[name]],
      floors: [floorOf[name], ...extraFloors],
      check: CHECKS[name],
      ...base,
    },
    {
      id: `librariesAlone:${name}`,
      bundle: librariesAlone[name].file,
      env: envOf(name, 'env'),
      events: [eventFor[name]],
      floors: [floorOf[name]],
      check: librariesAloneCheck[name],
      ...base,
    },
  ];
  return [
    ...pair('authorizer', [{ kind: 'joseVerify', ...bearer }]),
    ...pair('callToken'),
    ...pair('makeCall'),
    {
      id: 'callEvents',
      bundle: built.callEvents.outfile,
      env: envOf('callEvents', 'env'),
      events: [events.callStatus(0)],
      floors: [
        {
          kind: 'twilioSignature',
          authToken: BENCH_SECRETS.TWILIO_AUTH_TOKEN as string,
          url: `${events.settings.PUBLIC_BASE_URL}/api/v1/call_status?${callStatusQuery(0)}`,
        },
      ],
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
      floors: [{ kind: 'voiceResponse' }],
      check: CHECKS.makeCall,
      ...limitsOn,
      once: true,
    },
  ];
}
