/**
 * Warm requests: one child per bundle (test/bench/warmChild.mjs) running it with the deployed
 * environment, its stdout (one Powertools line per request, and the metrics) to /dev/null, its
 * results to a file. Each bundle is timed next to its floors, in the same process, in
 * alternating blocks. The first floor is the one issue 10's ratio is about:
 * - authorizer: raw HMAC-SHA256 verification of the same bearer token (node:crypto,
 *   timingSafeEqual); then, for information, jose's `jwtVerify` alone (same token, options and
 *   a CryptoKey imported the same way);
 * - callToken: raw HMAC-SHA256 signing (base64url) of the same JWT header and payload it issues;
 * - makeCall: twilio's VoiceResponse alone rendering the same TwiML (same <Dial> attributes and
 *   number);
 * - callEvents (for information): raw HMAC-SHA1 check of the same X-Twilio-Signature.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const WARM_CHILD = join(import.meta.dirname, 'warmChild.mjs');

export type Floor =
  | { kind: 'jwtSign'; secret: string }
  | { kind: 'jwtVerify'; secret: string; token: string }
  | { kind: 'joseVerify'; secret: string; token: string }
  | { kind: 'voiceResponse' }
  | { kind: 'twilioSignature'; authToken: string; url: string };

export interface WarmCase {
  id: string;
  bundle: string;
  env: Record<string, string>;
  /** Invocation i gets events[i % length]: one event, or one per invocation (warm-up included). */
  events: readonly unknown[];
  warmup: number;
  iterations: number;
  /** Timed in the same process; the first is the floor its target ratio is about. */
  floors: readonly Floor[];
  /** What is wrong with the bundle's first answer; undefined when it is right. */
  check: (result: unknown) => string | undefined;
  /** One process, however many the other cases get (an I/O-bound row, for information). */
  once?: true;
}

export interface Stats {
  n: number;
  mean: number;
  p50: number;
  p99: number;
}

export interface FloorResult {
  kind: Floor['kind'];
  stats: Stats;
  /** The floor reproduces the handler's answer (token, TwiML, verdict) exactly. */
  matches: boolean;
}

export interface WarmResult {
  handler: Stats;
  /** In the order of the case's floors. */
  floors: FloorResult[];
}

export function measureWarm(c: WarmCase, tempDir: string): Promise<WarmResult> {
  const base = join(tempDir, `warm-${c.id.replace(/\W+/g, '-')}`);
  const eventsFile = `${base}-events.json`;
  const configFile = `${base}-config.json`;
  const outFile = `${base}-out.json`;
  writeFileSync(eventsFile, JSON.stringify(c.events));
  writeFileSync(
    configFile,
    JSON.stringify({
      bundle: c.bundle,
      eventsFile,
      warmup: c.warmup,
      iterations: c.iterations,
      floors: c.floors,
      outFile,
    }),
  );
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WARM_CHILD, configFile], {
      env: c.env,
      // Node resolves the floors' twilio and jose from the project's node_modules (next to warmChild.mjs).
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${c.id}: warm child exited ${code}\n${stderr.slice(-3000)}`));
      const out = JSON.parse(readFileSync(outFile, 'utf8')) as WarmResult & { first: unknown; failures: number };
      const wrong = c.check(out.first);
      if (wrong)
        return reject(new Error(`${c.id}: wrong answer: ${wrong}: ${JSON.stringify(out.first).slice(0, 500)}`));
      if (out.failures > 0) return reject(new Error(`${c.id}: ${out.failures} invocations answered differently`));
      resolve({ handler: out.handler, floors: out.floors });
    });
  });
}

/** A process's mean ÷ its first floor's mean (its mean alone when it has no floor). */
export const ratioOf = (result: WarmResult): number => result.handler.mean / (result.floors[0]?.stats.mean ?? 1);

/**
 * Of one case's processes, the one whose ratio to its floor is the median (the lower of the
 * middle two for an even count): its figures stay
 * together (the floor it is compared with ran in the same process), and a process that ran
 * while the machine was busy or idle moves it no more than one sample moves a median.
 */
export function medianProcess(results: readonly WarmResult[]): WarmResult {
  const sorted = [...results].sort((a, b) => ratioOf(a) - ratioOf(b));
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  if (!median) throw new Error('medianProcess: no results');
  return median;
}
