/**
 * The one build of the Lambda functions. `npm run build` (infra/build.ts) and the CDK stack
 * (infra/voiceStack.ts, through `functionCode`) both call `bundleFunction`, so what is
 * deployed is what `npm run build` writes to `dist/<function>/`: the entry `index.mjs`, the
 * chunks it loads on first use in `chunks/`, their source maps, and esbuild's metafile as
 * `meta.json`.
 *
 * Code splitting is why this is not `NodejsFunction` (it cannot split): the AWS SDK clients
 * (Secrets Manager, DynamoDB) and Slack's webhook client are behind dynamic `import()`s, and
 * as chunks of their own they are not parsed or compiled until a secret is really fetched,
 * a call limit really checked or an alert really sent. Bundled into the entry they cost
 * ≈ 20 ms of every cold start even when unused (FACTS.md).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { type BuildOptions, buildSync, type Metafile } from 'esbuild';
import type { FunctionName } from '../lib/functionFields.js';

/** Where each function's handler lives (`export const handler`), relative to the project root. */
export const FUNCTION_ENTRIES = {
  authorizer: 'functions/authorizer.ts',
  callToken: 'functions/callToken.ts',
  makeCall: 'functions/makeCall.ts',
  callEvents: 'functions/callEvents.ts',
} as const satisfies Record<FunctionName, string>;

/**
 * ES-module bundles of CommonJS dependencies (twilio, jsonwebtoken, …) call `require` for
 * Node built-ins; an ES module has none, so the banner makes one (in every chunk).
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __voiceCreateRequire } from 'node:module'; const require = __voiceCreateRequire(import.meta.url);";

/** The entry file in each function's directory; `.mjs` makes Node and Lambda load it as an ES module. */
export const BUNDLE_FILE = 'index.mjs';
/** Lambda's handler setting for that file. */
export const LAMBDA_HANDLER = 'index.handler';
/** esbuild's metafile, beside the bundle: what each output holds, for the guards and the bench. */
const METAFILE = 'meta.json';

/**
 * `node20`: the same bundle runs on the Lambda runtime (nodejs24.x) and on a developer's
 * Node 20. Everything is bundled, the AWS SDK included: left external it resolves to the
 * runtime's many-file copy, which loads no faster (FACTS.md) and is a version we do not pin.
 *
 * Source maps are written beside each file (no sources inlined: the repository has them) and
 * are not enabled at run time (`--enable-source-maps` costs 12–21 ms of cold start): an
 * error's location is mapped to the TypeScript source only when one is logged
 * (lib/errorLocation.ts).
 */
export const ESBUILD_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  splitting: true,
  sourcemap: 'linked',
  sourcesContent: false,
  entryNames: 'index',
  chunkNames: 'chunks/[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  mainFields: ['module', 'main'],
  banner: { js: ESM_REQUIRE_BANNER },
  // jsonwebtoken's three feature checks, answered without loading semver (see the shim).
  alias: { semver: './infra/shims/semver.cjs' },
  logLevel: 'warning',
} satisfies BuildOptions;

/** The project root: esbuild runs from here, and the stack's asset source is here. */
export const PROJECT_ROOT = join(import.meta.dirname, '..');

/** Where the build lays a function out; the metafile and source maps name paths from here. */
export const distDir = (name: FunctionName) => join(PROJECT_ROOT, 'dist', name);

/**
 * Bundles one function and writes it to `outdir` (emptied first), with the metafile beside
 * it. esbuild lays the output out as if in `dist/<function>/` whatever `outdir` is, so the
 * bytes (chunk hashes, source-map paths, metafile) do not depend on where they are written:
 * the CDK's asset directory gets the same files as `npm run build`. Synchronous because the
 * CDK's local bundling hook is.
 */
export function bundleFunction(name: FunctionName, outdir: string): Metafile {
  const layout = distDir(name);
  const result = buildSync({
    ...ESBUILD_OPTIONS,
    absWorkingDir: PROJECT_ROOT,
    entryPoints: [FUNCTION_ENTRIES[name]],
    outdir: layout,
    metafile: true,
    write: false,
  });
  rmSync(outdir, { recursive: true, force: true });
  for (const file of result.outputFiles) {
    const target = join(outdir, relative(layout, file.path));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.contents);
  }
  writeFileSync(join(outdir, METAFILE), JSON.stringify(result.metafile));
  return result.metafile;
}
