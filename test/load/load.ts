/**
 * `npm run load` (`-- --short`, or LOAD_PROFILE=short, for CI): the local gateway under
 * load, started as `npm start` starts it (a child process, `tsx infra/local/start.ts`),
 * its secrets read from a loopback Secrets Manager endpoint through the real AWS SDK.
 * Four kinds of request run at once, one autocannon instance each (50 connections in
 * all): valid portal tokens, signed make_call webhooks, tokens signed with another
 * secret and webhooks with a wrong signature. Passes only if every response is the one
 * expected for its kind, nothing errs or times out, the secret is read at most once per
 * function per SECRETS_CACHE_TTL, and the gateway's RSS grows by at most 50 MB.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { portalToken } from '../../infra/local/portalToken.js';
import { legacyPortalToken } from '../support/portalTokens.js';
import { type SecretsManagerEndpoint, startSecretsManagerEndpoint } from '../support/secretsManagerEndpoint.js';

const { values: args } = parseArgs({ options: { short: { type: 'boolean', default: false } } });
const SHORT = args.short || process.env.LOAD_PROFILE === 'short';
const PROFILE = SHORT ? { name: 'short', perKind: 2_000 } : { name: 'full', perKind: 10_000 };
// Long enough for V8 to grow its heap to its working size: after a warm-up of 400 requests
// (RSS ~115 MB) the heap's normal growth alone took RSS up by 35 and 68 MB in two full runs,
// while the live heap after each mark-compact stayed at ~18 MB.
const WARM_UP_PER_KIND = 2_500;
const TIME_LIMIT_MS = 120_000;
const SECRET_ID = 'voice/load-test';
const SECRETS_CACHE_TTL = 300;
const FUNCTIONS = 3; // authorizer, callToken, makeCall: each keeps its own copy of the secret
const RSS_GROWTH_LIMIT_MB = 50;
const BANNER = /^Voice service \(local gateway\) listening on http:\/\/127\.0\.0\.1:(\d+)$/;

// Obviously fake, valid in form (Twilio rejects every one of them).
const APP_SID = `AP${'1b'.repeat(16)}`;
const ACCOUNT_SID = `AC${'0a'.repeat(16)}`;
/** Twilio's From for calls placed by users 42 and 7 with tokens this service issued. */
const CALLER_42 = `client:${APP_SID}_uid42`;
const CALLER_7 = `client:${APP_SID}_uid7`;
const PUSH_CREDENTIALS: Record<string, string> = { apns: `CR${'2c'.repeat(16)}`, fcm: `CR${'3d'.repeat(16)}` };
const SECRET = {
  TWILIO_API_KEY: `SK${'5e'.repeat(16)}`,
  TWILIO_API_KEY_SECRET: 'load-test-api-key-secret-not-real',
  TWILIO_AUTH_TOKEN: 'load-test-auth-token-0123456789ab',
  JWT_SECRET: 'load-test-jwt-secret-not-for-production',
};
const OTHER_JWT_SECRET = 'some-other-portal-secret-not-ours';
const OTHER_AUTH_TOKEN = 'some-other-auth-token-0123456789';

// ---------------------------------------------------------------- the gateway process

interface Gateway {
  child: ChildProcess;
  /** The process that runs start.ts: tsx's CLI runs it as its own child. */
  pid: number;
  port: number;
  stdoutLines: number;
  stderrLines: number;
  /** The first and last few stderr lines, for a failure report. */
  stderrHead: string[];
  stderrTail: string[];
  exited: Promise<never>;
}

function childPids(pid: number): number[] {
  const file = `/proc/${pid}/task/${pid}/children`;
  if (existsSync(file)) return readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function stderrExcerpt(gateway: Pick<Gateway, 'stderrHead' | 'stderrTail' | 'stderrLines'>): string {
  const skipped = gateway.stderrLines - gateway.stderrHead.length - gateway.stderrTail.length;
  return [...gateway.stderrHead, ...(skipped > 0 ? [`… ${skipped} more lines …`] : []), ...gateway.stderrTail].join(
    '\n',
  );
}

function rssMb(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) / 1024;
}

/** User + system CPU seconds the process has used (clock ticks of 1/100 s, the Linux default). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The gateway process once spawned, for the clean-up. */
let launched: Gateway | undefined;

async function startGateway(endpointUrl: string): Promise<Gateway> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    PORT: '0',
    // The same caller places thousands of calls that never complete: the per-caller limits (tested on
    // their own, test/limits) would refuse all but the first by design. This run measures the rest.
    LOCAL_CALL_LIMITS: 'off',
    SECRET_ID,
    SECRETS_CACHE_TTL: String(SECRETS_CACHE_TTL),
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpointUrl,
    AWS_ACCESS_KEY_ID: 'AKIDLOADTEST',
    AWS_SECRET_ACCESS_KEY: 'load-test-secret-access-key',
    AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_ML_APP_SID: APP_SID,
    TWILIO_ML_APNS_CERT_SID: PUSH_CREDENTIALS.apns as string,
    TWILIO_ML_FCM_CERT_SID: PUSH_CREDENTIALS.fcm as string,
    TWILIO_FROM: '+15005550006',
    // A `.env` must not change what is signed: the request's own URL.
    PUBLIC_BASE_URL: '',
  };
  const child = spawn(resolve('node_modules/.bin/tsx'), ['infra/local/start.ts'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const gateway: Gateway = {
    child,
    pid: child.pid ?? 0,
    port: 0,
    stdoutLines: 0,
    stderrLines: 0,
    stderrHead: [],
    stderrTail: [],
    exited: new Promise<never>((_, reject) => {
      child.once('error', (error) => reject(new Error(`the gateway did not start: ${error.message}`)));
      child.once('close', (code, signal) => reject(new Error(`the gateway exited (${signal ?? `code ${code}`})`)));
    }),
  };
  gateway.exited.catch(() => undefined);
  launched = gateway; // from now on, cleaning up stops it, whatever happens next
  // Drain both streams for as long as the child runs (a full pipe would stall it); count, keep a tail.
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => {
    // The first lines name a crash; the last ones what happened just before the end.
    if (gateway.stderrLines++ < 8) gateway.stderrHead.push(line.slice(0, 500));
    else {
      gateway.stderrTail.push(line.slice(0, 500));
      if (gateway.stderrTail.length > 8) gateway.stderrTail.shift();
    }
  });
  const firstLine = new Promise<string>((resolveLine) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (gateway.stdoutLines++ === 0) resolveLine(line);
    });
  });
  const line = await Promise.race([firstLine, gateway.exited]);
  const match = BANNER.exec(line);
  if (!match) throw new Error(`unexpected first line from the gateway: ${JSON.stringify(line.slice(0, 200))}`);
  gateway.port = Number(match[1]);
  // tsx's CLI runs the script in a child of its own; measure that one.
  const children = childPids(gateway.pid);
  if (children.length === 1 && children[0]) gateway.pid = children[0];
  return gateway;
}

async function stopGateway(gateway: Gateway): Promise<void> {
  const { child } = gateway;
  const pids = [gateway.pid, child.pid].filter((pid): pid is number => !!pid);
  if (child.exitCode === null && child.signalCode === null) {
    const exit = new Promise((done) => child.once('exit', done));
    child.kill('SIGTERM'); // tsx relays it to the script's process
    await Promise.race([exit, new Promise((done) => setTimeout(done, 3000))]);
  }
  for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

// ---------------------------------------------------------------- the four kinds

interface Probe {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** undefined when the response is the expected one, else what is wrong. */
  check(status: number, body: string, headers: Record<string, unknown>): string | undefined;
}

interface Kind {
  name: string;
  connections: number;
  expectedStatus: number;
  probes: Probe[];
}

const FORM = 'application/x-www-form-urlencoded';
const callSid = () => `CA${randomBytes(16).toString('hex')}`;

async function kinds(port: number): Promise<Kind[]> {
  const callUrl = `http://127.0.0.1:${port}/api/v1/make_call`;
  const users: { id: string; token: (secret: string) => Promise<string> | string }[] = [
    { id: '42', token: (secret) => portalToken('42', secret) },
    { id: '7', token: (secret) => portalToken('7', secret) },
    { id: '123456', token: (secret) => portalToken('123456', secret) },
    { id: 'driver_123', token: (secret) => portalToken('driver_123', secret) },
    { id: '1001', token: (secret) => legacyPortalToken(1001, secret) },
  ];
  const tokenProbes = async (secret: string, check: (id: string, type: string) => Probe['check']) => {
    const probes: Probe[] = [];
    for (const user of users) {
      const token = await user.token(secret);
      for (const type of ['apns', 'fcm']) {
        probes.push({
          method: 'GET',
          path: `/api/v1/call_token?type=${type}`,
          headers: { authorization: `Bearer ${token}` },
          check: check(user.id, type),
        });
      }
    }
    return probes;
  };
  // The answer names the identity prefix; the access token itself carries the user's identity
  // and the push credential of the platform asked for.
  const issued = (id: string, type: string) => (status: number, body: string) => {
    if (status !== 200) return `status ${status} ${body.slice(0, 80)}`;
    const parsed = JSON.parse(body) as { status?: string; data?: { token?: string; identity_prefix?: string } };
    if (parsed.status !== 'success') return 'not a success envelope';
    if (parsed.data?.identity_prefix !== `${APP_SID}_uid`) return `identity_prefix ${parsed.data?.identity_prefix}`;
    const payload = parsed.data.token?.split('.')[1];
    if (!payload) return 'no access token';
    const { grants } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
      grants?: { identity?: string; voice?: { push_credential_sid?: string } };
    };
    if (grants?.identity !== `${APP_SID}_uid${id}`) return `identity ${grants?.identity}`;
    if (grants.voice?.push_credential_sid !== PUSH_CREDENTIALS[type]) return `push credential for ${type}`;
    return undefined;
  };
  const gatewayForbidden = (status: number, body: string) =>
    status === 403 && body === '{"message":"Forbidden"}' ? undefined : `status ${status} ${body.slice(0, 80)}`;

  const calls: { params: Record<string, string>; expect: string }[] = [
    { params: { From: CALLER_42, to: '+14155550123', from: CALLER_42 }, expect: '+14155550123' },
    { params: { From: CALLER_7, to: '(415) 555-2671' }, expect: '+14155552671' },
    { params: { From: CALLER_7, to: `client:${APP_SID}_uid42` }, expect: `<Client>${APP_SID}_uid42</Client>` },
    { params: { From: CALLER_42, to: 'driver_123', from: CALLER_42 }, expect: '<Client>driver_123' },
  ];
  const callProbe = (params: Record<string, string>, signature: string, check: Probe['check']): Probe => ({
    method: 'POST',
    path: '/api/v1/make_call',
    headers: { 'content-type': FORM, 'x-twilio-signature': signature, 'user-agent': 'TwilioProxy/1.1' },
    body: new URLSearchParams(params).toString(),
    check,
  });
  const signedCalls: Probe[] = [];
  const badSignatures: Probe[] = [];
  const refused = (status: number, body: string) =>
    status === 403 && !body.includes('<Dial') ? undefined : `status ${status} ${body.slice(0, 80)}`;
  for (const { params, expect } of [...calls, ...calls]) {
    const signed = { CallSid: callSid(), AccountSid: ACCOUNT_SID, ...params };
    signedCalls.push(
      callProbe(signed, getExpectedTwilioSignature(SECRET.TWILIO_AUTH_TOKEN, callUrl, signed), (status, body, h) => {
        if (status !== 200) return `status ${status} ${body.slice(0, 80)}`;
        if (!String(h['content-type'] ?? h['Content-Type']).startsWith('text/xml')) return 'not text/xml';
        return body.includes('<Dial') && body.includes(expect) ? undefined : `TwiML without ${expect}`;
      }),
    );
    const other = { CallSid: callSid(), AccountSid: ACCOUNT_SID, ...params };
    // Signed with another account's token, or for other parameters than those sent.
    badSignatures.push(callProbe(other, getExpectedTwilioSignature(OTHER_AUTH_TOKEN, callUrl, other), refused));
    const tampered = { ...other, to: '+14155550199' };
    badSignatures.push(
      callProbe(tampered, getExpectedTwilioSignature(SECRET.TWILIO_AUTH_TOKEN, callUrl, other), refused),
    );
  }
  return [
    { name: 'valid token', connections: 13, expectedStatus: 200, probes: await tokenProbes(SECRET.JWT_SECRET, issued) },
    { name: 'signed make_call', connections: 13, expectedStatus: 200, probes: signedCalls },
    {
      name: 'bad token',
      connections: 12,
      expectedStatus: 403,
      probes: await tokenProbes(OTHER_JWT_SECRET, () => gatewayForbidden),
    },
    { name: 'bad signature', connections: 12, expectedStatus: 403, probes: badSignatures },
  ];
}

// ---------------------------------------------------------------- running them

interface KindRun {
  kind: Kind;
  amount: number;
  result: autocannon.Result;
  /** Every response's latency (ms), in arrival order. */
  latencies: Float64Array;
  responses: number;
  unexpected: number;
  samples: string[];
  /** From the start to the last response. */
  seconds: number;
}

const running = new Set<autocannon.Instance>();

function runKind(port: number, kind: Kind, amount: number): Promise<KindRun> {
  const run = {
    kind,
    amount,
    latencies: new Float64Array(amount),
    responses: 0,
    unexpected: 0,
    samples: [] as string[],
    lastResponseAt: 0,
  };
  const requests: autocannon.Request[] = kind.probes.map((probe) => ({
    method: probe.method,
    path: probe.path,
    headers: probe.headers,
    ...(probe.body === undefined ? {} : { body: probe.body }),
    onResponse: (status: number, body: string, _context: object, headers: Record<string, unknown> | undefined) => {
      let problem: string | undefined;
      try {
        problem = probe.check(status, body, headers ?? {});
      } catch (error) {
        problem = `unreadable answer (${error instanceof Error ? error.message : error}): ${body.slice(0, 80)}`;
      }
      if (problem !== undefined) {
        run.unexpected++;
        if (run.samples.length < 3) run.samples.push(`${probe.method} ${probe.path}: ${problem}`);
      }
    },
  }));
  const started = performance.now();
  return new Promise((done, fail) => {
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${port}`,
        connections: kind.connections,
        amount,
        timeout: 10,
        requests,
        title: kind.name,
      },
      (error, result) => {
        running.delete(instance);
        if (error) fail(error);
        else done({ ...run, result, seconds: (run.lastResponseAt - started) / 1000 });
      },
    );
    running.add(instance);
    instance.on('response', (_client, _status, _bytes, ms) => {
      if (run.responses < run.latencies.length) run.latencies[run.responses] = ms;
      run.responses++;
      run.lastResponseAt = performance.now();
    });
  });
}

async function runAll(port: number, all: Kind[], perKind: number) {
  const runs = await Promise.all(all.map((kind) => runKind(port, kind, perKind)));
  // The instances start together; the phase lasts until the last response.
  return { runs, seconds: Math.max(...runs.map((run) => run.seconds)) };
}

// ---------------------------------------------------------------- report

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * q) - 1)] ?? Number.NaN;
}

const n = (value: number) => value.toLocaleString('en-US', { maximumFractionDigits: 0 });
const ms = (value: number) => value.toFixed(2);
const statuses = (result: autocannon.Result) =>
  Object.entries(result.statusCodeStats ?? {})
    .map(([code, { count }]) => `${code}×${count}`)
    .join(' ') || '-';

interface Check {
  name: string;
  pass: boolean;
}

function kindChecks(runs: KindRun[], phase: string): Check[] {
  return runs.map((run) => {
    const expected = run.result.statusCodeStats?.[`${run.kind.expectedStatus}` as `${number}`]?.count ?? 0;
    return {
      name: `${phase}${run.kind.name}: all ${n(run.amount)} answered ${run.kind.expectedStatus} as expected`,
      pass:
        run.responses === run.amount &&
        expected === run.amount &&
        run.unexpected === 0 &&
        run.result.mismatches === 0 &&
        run.result.errors === 0,
    };
  });
}

function secretReadsOf(endpoint: SecretsManagerEndpoint): number {
  return endpoint.requests.filter((r) => r.target === 'secretsmanager.GetSecretValue' && r.secretId === SECRET_ID)
    .length;
}

function table(rows: string[][], align: ('l' | 'r')[]): string {
  const widths = align.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (align[i] === 'r' ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

// ---------------------------------------------------------------- main

const startedAt = performance.now();
const loadAverage = loadavg()[0]?.toFixed(2);
let endpoint: SecretsManagerEndpoint | undefined;
let gateway: Gateway | undefined;
let timer: NodeJS.Timeout | undefined;
let stopping = false;

async function cleanUp() {
  if (stopping) return;
  stopping = true;
  if (timer) clearTimeout(timer);
  for (const instance of running) instance.stop();
  if (launched) await stopGateway(launched);
  await endpoint?.close();
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void cleanUp().finally(() => process.exit(130));
  });
}

const timeLimit = new Promise<never>((_, reject) => {
  timer = setTimeout(
    () => reject(new Error(`not done within the ${TIME_LIMIT_MS / 1000} s time bound`)),
    TIME_LIMIT_MS,
  );
});
timeLimit.catch(() => undefined);

let exitCode = 1;
try {
  endpoint = await startSecretsManagerEndpoint({ secretString: JSON.stringify(SECRET) });
  gateway = await Promise.race([startGateway(endpoint.url), timeLimit]);
  // Nothing has been asked yet: whatever the endpoint saw so far, start.ts read.
  const startupReads = secretReadsOf(endpoint);
  const within = <T>(work: Promise<T>) => Promise.race([work, timeLimit, (gateway as Gateway).exited]);
  const all = await kinds(gateway.port);
  const totalConnections = all.reduce((sum, kind) => sum + kind.connections, 0);

  // Warm-up: module loading, the first secret reads (all four kinds at once, cold), JIT.
  const warm = await within(runAll(gateway.port, all, WARM_UP_PER_KIND));
  const rssBefore = rssMb(gateway.pid);
  let rssPeak = rssBefore;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, rssMb((gateway as Gateway).pid));
  }, 250);
  const gatewayCpuBefore = cpuSeconds(gateway.pid);
  const ownCpuBefore = process.cpuUsage();
  const load = await within(runAll(gateway.port, all, PROFILE.perKind));
  clearInterval(sampler);
  const rssAfter = rssMb(gateway.pid);
  rssPeak = Math.max(rssPeak, rssAfter);
  const gatewayCpu = cpuSeconds(gateway.pid) - gatewayCpuBefore;
  const ownCpuUsage = process.cpuUsage(ownCpuBefore);
  const ownCpu = (ownCpuUsage.user + ownCpuUsage.system) / 1e6;
  const elapsed = (performance.now() - startedAt) / 1000;
  const secretReads = secretReadsOf(endpoint);
  const servingReads = secretReads - startupReads;
  // Each function keeps its own copy for SECRETS_CACHE_TTL; start.ts's banner shares make_call's.
  const allowedReads = FUNCTIONS * Math.ceil(elapsed / SECRETS_CACHE_TTL);
  const otherRequests = endpoint.requests.length - secretReads;

  const totalRequests = PROFILE.perKind * all.length;
  const allLatencies = new Float64Array(load.runs.reduce((sum, run) => sum + run.latencies.length, 0));
  let offset = 0;
  const rows: string[][] = [
    ['kind', 'conns', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'status codes', 'errors', 'timeouts'],
  ];
  for (const run of load.runs) {
    allLatencies.set(run.latencies, offset);
    offset += run.latencies.length;
    const sorted = run.latencies.slice().sort();
    rows.push([
      run.kind.name,
      String(run.kind.connections),
      n(run.responses),
      n(run.responses / run.seconds),
      ms(percentile(sorted, 0.5)),
      ms(percentile(sorted, 0.99)),
      ms(percentile(sorted, 1)),
      statuses(run.result),
      String(run.result.errors - run.result.timeouts),
      String(run.result.timeouts),
    ]);
  }
  allLatencies.sort();
  const sum = (pick: (r: autocannon.Result) => number) => load.runs.reduce((total, run) => total + pick(run.result), 0);
  const errors = sum((r) => r.errors - r.timeouts);
  const timeouts = sum((r) => r.timeouts);
  const responses = load.runs.reduce((total, run) => total + run.responses, 0);
  rows.push([
    'total',
    String(totalConnections),
    n(responses),
    n(responses / load.seconds),
    ms(percentile(allLatencies, 0.5)),
    ms(percentile(allLatencies, 0.99)),
    ms(percentile(allLatencies, 1)),
    '',
    String(errors),
    String(timeouts),
  ]);

  const checks: Check[] = [
    ...kindChecks(warm.runs, 'warm-up, '),
    ...kindChecks(load.runs, ''),
    { name: '0 errors', pass: errors === 0 },
    { name: '0 timeouts', pass: timeouts === 0 },
    {
      name: `GetSecretValue at most once per function per ${SECRETS_CACHE_TTL} s (≤ ${allowedReads})`,
      pass: secretReads >= 1 && secretReads <= allowedReads && otherRequests === 0,
    },
    { name: `gateway RSS grew at most ${RSS_GROWTH_LIMIT_MB} MB`, pass: rssAfter - rssBefore <= RSS_GROWTH_LIMIT_MB },
    { name: `done within ${TIME_LIMIT_MS / 1000} s`, pass: elapsed * 1000 <= TIME_LIMIT_MS },
  ];

  console.log(
    `Load, ${PROFILE.name} profile: ${n(totalRequests)} requests (after ${n(WARM_UP_PER_KIND * all.length)} warm-up), ` +
      `${totalConnections} connections, local gateway as \`npm start\` runs it (node ${process.version}, ` +
      `${availableParallelism()} cores shared with the load generator, load average ${loadAverage} at start)`,
  );
  console.log('');
  console.log(table(rows, ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'l', 'r', 'r']));
  console.log('');
  console.log(
    table(
      [
        ['load phase', `${load.seconds.toFixed(1)} s (whole run ${elapsed.toFixed(1)} s)`],
        [
          'GetSecretValue requests',
          `${secretReads}: ${startupReads} at start-up, ${servingReads} while serving${otherRequests ? ` (+${otherRequests} other requests)` : ''}`,
        ],
        [
          'CPU during the load phase',
          `gateway ${gatewayCpu.toFixed(1)} s, load generator ${ownCpu.toFixed(1)} s (of ${(load.seconds * availableParallelism()).toFixed(1)} s on ${availableParallelism()} cores)`,
        ],
        [
          'gateway RSS',
          `${rssBefore.toFixed(1)} MB before, ${rssAfter.toFixed(1)} MB after (${rssAfter - rssBefore >= 0 ? '+' : ''}${(rssAfter - rssBefore).toFixed(1)} MB), peak ${rssPeak.toFixed(1)} MB (pid ${gateway.pid})`,
        ],
        ['gateway output', `${n(gateway.stdoutLines)} stdout lines, ${n(gateway.stderrLines)} stderr lines`],
        ...checks.map((check) => [check.name, check.pass ? 'PASS' : 'FAIL']),
      ],
      ['l', 'l'],
    ),
  );
  for (const run of [...warm.runs, ...load.runs]) {
    for (const sample of run.samples) console.log(`  ${run.kind.name}: ${sample}`);
  }
  exitCode = checks.every((check) => check.pass) ? 0 : 1;
  console.log('');
  console.log(exitCode === 0 ? 'PASS' : 'FAIL');
} catch (error) {
  console.error(`FAIL: ${error instanceof Error ? error.message : error}`);
  if (launched && launched.stderrLines > 0) console.error(`gateway stderr:\n${stderrExcerpt(launched)}`);
} finally {
  await cleanUp();
}
process.exit(exitCode);
