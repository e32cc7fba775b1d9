/**
 * Errors in production logs lead to the TypeScript source, as deployed: the real make_call
 * bundle (bundleFunction, minified, code-split, linked source maps) runs in a plain `node`
 * without --enable-source-maps, where a stack trace says `index.mjs:1:34567`. Unexpected
 * errors on real code paths are provoked and the Powertools log lines read back: their
 * `location` names a TypeScript file and line whose text (in the real file) is where the
 * error happened. The map is read only when an error is logged, never at import.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_FILE, bundleFunction } from '../../infra/bundling.js';
import { callEvent, POLICY_ENV } from '../call/harness.js';
import { removeOutdirs, tempOutdir } from '../infra/stackFixture.js';
import { runInFreshNode } from '../support/freshNode.js';
import { sourceAt } from '../support/sourceLocation.js';

interface LogLine {
  level: string;
  message: string;
  reason?: string;
  location?: string;
}

const good = callEvent({ params: { to: '+14155552671' } });
/** A forwarded scheme that is not a string: the signed URL's `split` throws inside the try (a failure of ours). */
const badScheme = { ...good, headers: { ...good.headers, 'x-forwarded-proto': 1 } };

/**
 * In a fresh `node`: import the bundle (its map moved away meanwhile, so a map read at import
 * would find none), answer a good call, the bad scheme, and an event with nothing in it (an
 * error the handler lets escape); print what the runtime would see of that error.
 */
const CHILD = `
import { renameSync } from 'node:fs';
const [bundle] = JSON.parse(process.env.CHILD_ARGS);
const { good, badScheme } = JSON.parse(process.env.CHILD_EVENTS);
renameSync(bundle + '.map', bundle + '.map.away');
const { handler } = await import(new URL('file://' + bundle).href);
renameSync(bundle + '.map.away', bundle + '.map');
const results = [];
results.push((await handler(good)).statusCode);
results.push((await handler(badScheme)).statusCode);
try {
  await handler({});
  results.push('no error');
} catch (error) {
  results.push(error.stack.split('\\n').slice(0, 2).join(' | '));
}
process.stderr.write('\\nCHILD ' + JSON.stringify({ results, sourceMaps: process.sourceMapsEnabled, nodeOptions: process.env.NODE_OPTIONS ?? null }));
`;

async function run(outdir: string) {
  const bundle = join(outdir, BUNDLE_FILE);
  const result = await runInFreshNode(CHILD, {
    // As Lambda runs it: in the bundle's directory, no NODE_OPTIONS, settings from the environment.
    cwd: outdir,
    env: {
      PATH: process.env.PATH ?? '',
      AWS_REGION: 'us-east-1',
      ...POLICY_ENV,
      CHILD_ARGS: JSON.stringify([bundle]),
      CHILD_EVENTS: JSON.stringify({ good, badScheme }),
    },
  });
  expect(result.status, result.stderr.slice(-600)).toBe(0);
  // Powertools writes warnings and errors to stderr, the rest (and the metric lines) to stdout.
  const output = `${result.stdout}\n${result.stderr}`.split('\n');
  const lines = output.filter((l) => l.startsWith('{') && !l.includes('"_aws"')).map((l) => JSON.parse(l) as LogLine);
  const child = result.report as { results: unknown[]; sourceMaps: boolean; nodeOptions: string | null };
  const line = (message: string) => {
    const found = lines.filter((l) => l.message === message);
    expect(found, message).toHaveLength(1);
    return found[0] as LogLine;
  };
  return { lines, child, line };
}

let outdir: string;
let mapped: Awaited<ReturnType<typeof run>>;

beforeAll(async () => {
  outdir = tempOutdir();
  bundleFunction('makeCall', outdir);
  mapped = await run(outdir);
}, 60_000);
afterAll(removeOutdirs);

describe('make_call bundle, without --enable-source-maps', () => {
  it('runs as deployed: no source maps at run time, so the raw stack points into the minified bundle', () => {
    expect(mapped.child.sourceMaps).toBe(false);
    expect(mapped.child.nodeOptions).toBeNull();
    const [okStatus, failedStatus, escaped] = mapped.child.results;
    expect([okStatus, failedStatus]).toEqual([200, 200]); // a failure of ours is spoken TwiML, not a 500
    expect(escaped).toMatch(/^TypeError: .* \| +at .*index\.mjs:\d+:\d+\)?$/);
  });

  it('the catch-all path (answerWithoutConfig) logs where the unexpected error was thrown: the signed URL’s split', () => {
    const failure = mapped.line('Configuration invalid');
    expect(failure).toMatchObject({ level: 'ERROR', reason: 'TypeError (unexpected)' });
    const { path, text, at } = sourceAt(failure.location);
    expect(path).toBe('lib/twilioSignature.ts');
    expect(text).toContain("request.headers['x-forwarded-proto']?.split(',')");
    expect(at.startsWith("split(',')")).toBe(true);
  });

  it('an error the handler lets escape is logged once, with its location, before the runtime sees it', () => {
    const escaped = mapped.line('Invocation failed');
    expect(escaped).toMatchObject({ level: 'ERROR', reason: 'TypeError' });
    const { path, text, at } = sourceAt(escaped.location);
    expect(path).toBe('lib/twilioWebhook.ts');
    expect(text).toContain('event.routeKey.split(');
    expect(at.startsWith("split(' ')")).toBe(true);
  });

  it('logs no message and no value in the location', () => {
    for (const line of mapped.lines.filter((l) => l.location !== undefined)) {
      expect(line.location).toMatch(/^[\w/.-]+\.ts:\d+:\d+( \(\w+\))?$/);
      expect(line.location).not.toContain('Cannot read');
    }
  });

  it('a corrupt map leaves the raw frame (the bundle’s own position), and the function still answers', async () => {
    const corrupt = tempOutdir();
    bundleFunction('makeCall', corrupt);
    writeFileSync(join(corrupt, `${BUNDLE_FILE}.map`), '{ "version": 3, "mappings": ');
    const { line, child } = await run(corrupt);
    expect(child.results.slice(0, 2)).toEqual([200, 200]);
    expect(line('Configuration invalid').location).toMatch(/^index\.mjs:\d+:\d+$/);
    expect(line('Invocation failed').location).toMatch(/^index\.mjs:\d+:\d+$/);
  });
});
