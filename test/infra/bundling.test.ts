/**
 * The real bundles: the CDK bundles every function with the shared esbuild options, byte
 * for byte what `npm run build` writes; each bundle loads on this Node and exports a
 * handler; each stays under its byte budget and out of the twilio REST client.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuiltFunction, buildAll } from '../../infra/build.js';
import { BUNDLE_FILE } from '../../infra/bundling.js';
import { FUNCTION_NAMES } from '../../infra/settings.js';
import type { FunctionName } from '../../lib/functionFields.js';
import { logicalId, removeOutdirs, synth, tempOutdir } from './stackFixture.js';

/**
 * Measured with `npm run build` (esbuild 0.28, minified, everything bundled including the
 * AWS SDK): authorizer 398,333 B, callToken 439,496 B, makeCall 787,850 B and callEvents
 * 589,245 B (both with the DynamoDB client for the call limits, behind a dynamic import that
 * runs only when a limit is checked). Budgets leave about 10 % for growth; importing the
 * `twilio` package root (+3.7 MB of REST client) or a dependency through CommonJS instead of
 * its ES build blows them. (The SDK clients out of the entry chunks is the performance
 * issue's work; these budgets then shrink.)
 */
const BUDGET_BYTES: Record<FunctionName, number> = {
  authorizer: 440_000,
  callToken: 485_000,
  makeCall: 870_000,
  callEvents: 650_000,
};

let built: Record<FunctionName, BuiltFunction>;

beforeAll(async () => {
  const list = await buildAll(tempOutdir());
  built = Object.fromEntries(list.map((b) => [b.name, b])) as Record<FunctionName, BuiltFunction>;
}, 60_000);
afterAll(removeOutdirs);

const inputsOf = (name: FunctionName) => Object.keys(built[name].metafile.inputs);
const outputOf = (name: FunctionName) => {
  const output = Object.values(built[name].metafile.outputs).find((o) => o.entryPoint !== undefined);
  if (!output) throw new Error(`no entry output for ${name}`);
  return output;
};

describe('bundle budget', () => {
  it.each(FUNCTION_NAMES)('%s stays under its byte budget', (name) => {
    expect(built[name].bytes).toBeGreaterThan(50_000); // a real bundle, not an empty stub
    expect(built[name].bytes).toBeLessThan(BUDGET_BYTES[name]);
  });

  it.each(FUNCTION_NAMES)('%s has none of the twilio REST client or package root', (name) => {
    const twilio = inputsOf(name).filter((input) => input.includes('node_modules/twilio/'));
    expect(twilio.filter((input) => input.includes('twilio/lib/rest/'))).toEqual([]);
    expect(twilio).not.toContain('node_modules/twilio/lib/index.js');
  });

  it.each(['authorizer', 'callToken'] as const)(
    '%s bundles no DynamoDB client: only the call limits use it',
    (name) => {
      expect(inputsOf(name).filter((input) => input.includes('client-dynamodb'))).toEqual([]);
    },
  );

  it('callToken bundles only the AccessToken part of twilio', () => {
    const twilio = inputsOf('callToken').filter((input) => input.includes('node_modules/twilio/'));
    expect(twilio).toEqual(['node_modules/twilio/lib/jwt/AccessToken.js']);
  });

  it('callEvents bundles no libphonenumber (it dials nothing) and only the webhook and TwiML parts of twilio', () => {
    expect(inputsOf('callEvents').filter((input) => input.includes('libphonenumber'))).toEqual([]);
    const twilio = inputsOf('callEvents').filter((input) => input.includes('node_modules/twilio/'));
    expect(
      twilio.every((input) => /twilio\/lib\/(webhooks|twiml)\//.test(input)),
      twilio.join(),
    ).toBe(true);
  });

  it.each(FUNCTION_NAMES)('%s imports nothing at run time but Node built-ins (the AWS SDK is bundled)', (name) => {
    const external = outputOf(name).imports.filter((i) => i.external && !isBuiltin(i.path));
    expect(external).toEqual([]);
  });
});

describe('CDK bundling (for real)', () => {
  let assetDirs: Record<FunctionName, string>;

  beforeAll(() => {
    const s = synth(undefined, { bundle: true });
    const functions = s.template.findResources('AWS::Lambda::Function') as Record<
      string,
      { Properties: { Code: { S3Key: string } } }
    >;
    assetDirs = Object.fromEntries(
      FUNCTION_NAMES.map((name) => {
        const key = functions[logicalId(s, s.stack.functions[name])]?.Properties.Code.S3Key ?? '';
        return [name, join(s.outdir, `asset.${key.replace(/\.zip$/, '')}`)];
      }),
    ) as Record<FunctionName, string>;
  }, 60_000);

  it.each(FUNCTION_NAMES)('%s: the asset is byte for byte what npm run build writes', (name) => {
    const cdkBundle = readFileSync(join(assetDirs[name], BUNDLE_FILE));
    expect(cdkBundle.equals(readFileSync(built[name].outfile))).toBe(true);
    expect(readFileSync(join(assetDirs[name], `${BUNDLE_FILE}.map`)).length).toBeGreaterThan(0);
  });

  it.each(FUNCTION_NAMES)('%s: the asset loads as an ES module on this Node and exports handler', (name) => {
    const url = pathToFileURL(join(assetDirs[name], BUNDLE_FILE)).href;
    const result = spawnSync(
      process.execPath,
      [
        '--enable-source-maps',
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(url)}); process.stdout.write(typeof m.handler);`,
      ],
      { encoding: 'utf8', env: { PATH: process.env.PATH, AWS_REGION: 'us-east-1' }, timeout: 20_000 },
    );
    // The tail only: a failing bundle's error quotes its (minified) source line.
    expect({ status: result.status, stdout: result.stdout, stderr: result.stderr.slice(-600) }).toEqual({
      status: 0,
      stdout: 'function',
      stderr: '',
    });
  });
});
