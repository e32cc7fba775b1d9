/**
 * Warm per-request cost of each handler, in process: what a busy container spends on
 * one request once everything is loaded and the secrets are cached.
 */
import * as authorizer from '../../functions/authorizer.js';
import * as callToken from '../../functions/callToken.js';
import * as makeCall from '../../functions/makeCall.js';
import { noMetrics } from '../../lib/metrics.js';
import { BENCH_ENV, benchEvents } from './benchEnv.js';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 5000);
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const events = await benchEvents();

const cases = {
  authorizer: [authorizer.createHandler({ ...authorizer.defaultDeps(BENCH_ENV), log: quiet }), events.authorizer],
  callToken: [
    callToken.createHandler({ ...callToken.defaultDeps(BENCH_ENV), log: quiet, metrics: noMetrics }),
    events.callToken,
  ],
  makeCall: [
    makeCall.createHandler({ ...makeCall.defaultDeps(BENCH_ENV), log: quiet, metrics: noMetrics }),
    events.makeCall,
  ],
} as const;

console.log(`Warm requests, in process (${ITERATIONS} each after warm-up, node ${process.version})`);
console.log(`${'handler'.padEnd(12)} ${'p50'.padStart(10)} ${'p99'.padStart(10)} ${'mean'.padStart(10)}`);
for (const [name, [handler, event]] of Object.entries(cases)) {
  // biome-ignore lint/suspicious/noExplicitAny: each handler takes its own event type.
  const run = handler as (e: any) => Promise<any>;
  for (let i = 0; i < 200; i++) await run(event);
  const times = new Float64Array(ITERATIONS);
  for (let i = 0; i < ITERATIONS; i++) {
    const start = process.hrtime.bigint();
    const result = await run(event);
    times[i] = Number(process.hrtime.bigint() - start) / 1000;
    if (!(result.statusCode === 200 || result.isAuthorized === true)) throw new Error(`${name} failed`);
  }
  times.sort();
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const at = (q: number) => times[Math.floor(times.length * q)] ?? Number.NaN;
  console.log(
    `${name.padEnd(12)} ${`${at(0.5).toFixed(0)} µs`.padStart(10)} ${`${at(0.99).toFixed(0)} µs`.padStart(10)} ${`${mean.toFixed(0)} µs`.padStart(10)}`,
  );
}
