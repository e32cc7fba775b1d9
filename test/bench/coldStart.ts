/**
 * Cold start of each bundled function as Lambda pays it: a fresh Node process that
 * loads the bundle and handles one request. Median and p90 of repeated runs, next to a
 * bare Node process and one that only loads the `twilio` package root (what a naive
 * import costs). Each function runs with its secrets in the environment and, as on
 * Lambda, from Secrets Manager (a loopback endpoint, through the real SDK).
 * Run with `npm run bench` (which builds first).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { SECRET_NAMES } from '../../lib/config.js';
import { startSecretsManagerEndpoint } from '../support/secretsManagerEndpoint.js';
import { BENCH_ENV, benchEvents } from './benchEnv.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const dir = mkdtempSync(join(tmpdir(), 'voice-bench-'));
const events = await benchEvents();

// The driver reports the time from process start to the handler's answer.
const driver = join(dir, 'driver.mjs');
writeFileSync(
  driver,
  `const [bundle, eventFile] = process.argv.slice(2);
const { readFileSync } = await import('node:fs');
const event = JSON.parse(readFileSync(eventFile, 'utf8'));
const { handler } = await import(bundle);
const result = await handler(event);
const ok = result && (result.statusCode === 200 || result.isAuthorized === true);
process.stdout.write(JSON.stringify({ ms: performance.now(), ok }));
`,
);
const empty = join(dir, 'empty.cjs');
writeFileSync(empty, 'process.stdout.write(JSON.stringify({ ms: performance.now(), ok: true }));');
const twilioRoot = join(dir, 'twilioRoot.cjs');
writeFileSync(
  twilioRoot,
  `require(${JSON.stringify(resolve('node_modules/twilio'))}); process.stdout.write(JSON.stringify({ ms: performance.now(), ok: true }));`,
);

const run = promisify(execFile);

async function measure(args: string[], env: Record<string, string> = {}) {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const { stdout } = await run(process.execPath, args, {
      env: { ...BENCH_ENV, ...env, PATH: process.env.PATH ?? '' },
    });
    const out = JSON.parse(stdout.trim().split('\n').pop() ?? '{}');
    if (!out.ok) throw new Error(`run failed: ${stdout}`);
    times.push(out.ms);
  }
  times.sort((a, b) => a - b);
  return {
    median: times[Math.floor(times.length / 2)] ?? Number.NaN,
    p90: times[Math.floor(times.length * 0.9)] ?? Number.NaN,
  };
}

const rows: [string, { median: number; p90: number }][] = [];
// On Lambda the secrets come from Secrets Manager: the same runs with SECRET_ID, against a
// loopback endpoint, include loading the AWS SDK and one GetSecretValue.
const { SECRET_ID: _unused, ...secrets } = Object.fromEntries(SECRET_NAMES.map((name) => [name, BENCH_ENV[name]]));
const endpoint = await startSecretsManagerEndpoint({ secretString: JSON.stringify(secrets) });
const withSecretsManager = {
  SECRET_ID: 'voice/bench',
  AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint.url,
  AWS_ACCESS_KEY_ID: 'AKIDBENCH',
  AWS_SECRET_ACCESS_KEY: 'bench-secret-access-key',
  AWS_REGION: 'us-east-1',
  ...Object.fromEntries(SECRET_NAMES.map((name) => [name, ''])),
};
for (const name of ['authorizer', 'callToken', 'makeCall'] as const) {
  const bundle = resolve('dist', name, 'index.mjs');
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run npm run build`);
  const eventFile = join(dir, `${name}.json`);
  writeFileSync(eventFile, JSON.stringify(events[name]));
  rows.push([`${name}, secrets from env`, await measure([driver, bundle, eventFile])]);
  rows.push([`${name}, Secrets Manager`, await measure([driver, bundle, eventFile], withSecretsManager)]);
}
await endpoint.close();
rows.push(['node, nothing loaded', await measure([empty])]);
rows.push(['require("twilio") only', await measure([twilioRoot])]);

const ms = (value: number) => `${value.toFixed(1).padStart(8)} ms`;
console.log(`Cold start: process start → first answer (${RUNS} fresh processes each, node ${process.version})`);
console.log(`${'function'.padEnd(32)} ${'median'.padStart(11)} ${'p90'.padStart(11)}`);
for (const [label, { median, p90 }] of rows) console.log(`${label.padEnd(32)} ${ms(median)} ${ms(p90)}`);
