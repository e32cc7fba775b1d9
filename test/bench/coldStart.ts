/**
 * Cold start of each bundled function as Lambda pays it: a fresh Node process that
 * loads the bundle and handles one request. Median and p90 of repeated runs, next to a
 * process that only loads the `twilio` package root (what a naive import costs).
 * Run with `npm run bench` (which builds first).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
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

function measure(args: string[]): { median: number; p90: number } {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const run = spawnSync(process.execPath, args, { env: { ...BENCH_ENV, PATH: process.env.PATH }, encoding: 'utf8' });
    const out = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}');
    if (!out.ok) throw new Error(`run failed: ${run.stderr || run.stdout}`);
    times.push(out.ms);
  }
  times.sort((a, b) => a - b);
  return {
    median: times[Math.floor(times.length / 2)] ?? Number.NaN,
    p90: times[Math.floor(times.length * 0.9)] ?? Number.NaN,
  };
}

const rows: string[] = [];
for (const name of ['authorizer', 'callToken', 'makeCall'] as const) {
  const bundle = resolve('dist', name, 'index.mjs');
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run npm run build`);
  const eventFile = join(dir, `${name}.json`);
  writeFileSync(eventFile, JSON.stringify(events[name]));
  const { median, p90 } = measure([driver, bundle, eventFile]);
  rows.push(`${name.padEnd(28)} ${median.toFixed(1).padStart(8)} ms ${p90.toFixed(1).padStart(8)} ms`);
}
const nothing = measure([empty]);
rows.push(
  `${'node, nothing loaded'.padEnd(28)} ${nothing.median.toFixed(1).padStart(8)} ms ${nothing.p90.toFixed(1).padStart(8)} ms`,
);
const baseline = measure([twilioRoot]);
rows.push(
  `${'require("twilio") only'.padEnd(28)} ${baseline.median.toFixed(1).padStart(8)} ms ${baseline.p90.toFixed(1).padStart(8)} ms`,
);

console.log(`Cold start: process start → first answer (${RUNS} fresh processes each, node ${process.version})`);
console.log(`${'function'.padEnd(28)} ${'median'.padStart(11)} ${'p90'.padStart(11)}`);
for (const row of rows) console.log(row);
