/**
 * The one build of the Lambda functions. `npm run build` (infra/build.ts) and the CDK stack
 * (infra/voiceStack.ts, through `functionCode`) both call `bundleFunction`, so what is
 * deployed is what `npm run build` writes to `dist/<function>/`: the entry `index.mjs`, the
 * files it loads on first use in `chunks/`, their source maps, and esbuild's metafile as
 * `meta.json`.
 *
 * Code splitting is why this is not `NodejsFunction` (it cannot split): the AWS SDK clients
 * (Secrets Manager, DynamoDB), Slack's webhook client and, in the authorizer, Powertools
 * Metrics are behind dynamic `import()`s, and in files of their own they are not parsed or
 * compiled until a secret is really fetched, a call limit really checked, an alert really
 * sent or a metric really written. Bundled into the entry the SDK costs ≈ 20 ms of every
 * cold start even when unused (FACTS.md).
 *
 * Two builds, so that a cold start reads one file: the entry (all the rest, unsplit) and,
 * apart, the packages it imports on first use. Split in one build, esbuild moved the modules
 * both sides use (Powertools commons, Lambda's invoke store, its own helpers) into shared
 * chunks that the entry imported statically: three more ES modules to resolve, read and
 * link at every cold start, ≈ 2 ms. Built apart, those few KB are in both, which is safe:
 * they keep no state of their own (the invoke store is shared through
 * `globalThis.awslambda`, as the Lambda runtime's own copy is).
 *
 * What esbuild writes is then rewritten once (`writeDeployed`): its module wrappers become
 * parenthesized functions that V8 compiles at once instead of parsing twice
 * (infra/eagerModuleWrappers.ts), the source maps shifted to match.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { type BuildOptions, buildSync, type Metafile, type OutputFile } from 'esbuild';
import type { FunctionName } from '../lib/functionFields.js';
import { withEagerModuleWrappers } from './eagerModuleWrappers.js';

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

/**
 * The packages our code imports with `import()` that are files of their own: the file each
 * is built to; the module it is built from where that is not the package itself
 * (infra/shims/: a CommonJS package's exports named; an AWS SDK client's narrowed to what
 * lib/ takes, which halves the code its first call compiles); and, where not every function
 * should load it apart, which ones do. The entry build
 * aliases each to its file and leaves it external; the on-demand build bundles them
 * (splitting among themselves: the two AWS SDK clients share their Smithy runtime).
 *
 * Powertools Metrics is a file of its own in the authorizer only, where most invocations
 * count nothing. The other functions write metrics on every invocation, so they load it at
 * the first anyway: there it is bundled into the entry (behind the same `import()`, run at
 * the first flush), which measured ≈ 3 ms less than reading and linking a second file.
 */
const ON_DEMAND_PACKAGES: Record<string, { file: string; source?: string; only?: FunctionName[] }> = {
  '@aws-sdk/client-secrets-manager': {
    file: 'chunks/aws-sdk-client-secrets-manager',
    source: 'infra/shims/secretsManagerClient.ts',
  },
  '@aws-sdk/client-dynamodb': { file: 'chunks/aws-sdk-client-dynamodb', source: 'infra/shims/dynamoDbClient.ts' },
  '@slack/webhook': { file: 'chunks/slack-webhook', source: 'infra/shims/slackWebhook.ts' },
  '@aws-lambda-powertools/metrics': { file: 'chunks/powertools-metrics', only: ['authorizer'] },
};
/** How the entry imports an on-demand file: relative to itself, `.mjs` like every file here. */
const onDemandImport = (file: string) => `./${file}.mjs`;

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
  alias: {
    // jsonwebtoken's three feature checks, answered without loading semver (see the shim).
    semver: './infra/shims/semver.cjs',
    // Powertools' per-invocation state, its environment check made once (see the shim).
    '@aws-lambda-powertools/commons/utils/invocation-scoped': './infra/shims/invocationScoped.ts',
  },
  logLevel: 'warning',
} satisfies BuildOptions;

/** The project root: esbuild runs from here, and the stack's asset source is here. */
export const PROJECT_ROOT = join(import.meta.dirname, '..');

/** Where the build lays a function out; the metafile and source maps name paths from here. */
export const distDir = (name: FunctionName) => join(PROJECT_ROOT, 'dist', name);

/**
 * Bundles one function and writes it to `outdir` (emptied first), with the metafile beside
 * it: the entry build, then the on-demand build of the packages the entry imports with
 * `import()`, one metafile for both. esbuild lays the output out as if in `dist/<function>/`
 * whatever `outdir` is, so the bytes (chunk hashes, source-map paths, metafile) do not
 * depend on where they are written: the CDK's asset directory gets the same files as
 * `npm run build`. Synchronous because the CDK's local bundling hook is.
 */
export function bundleFunction(name: FunctionName, outdir: string): Metafile {
  const layout = distDir(name);
  const common = {
    ...ESBUILD_OPTIONS,
    absWorkingDir: PROJECT_ROOT,
    outdir: layout,
    metafile: true,
    write: false,
  } as const;
  const onDemandHere = Object.entries(ON_DEMAND_PACKAGES).filter(([, { only }]) => only?.includes(name) ?? true);
  // One file: what is not on demand is in it, a dynamic import() of it included.
  const entry = buildSync({
    ...common,
    splitting: false,
    entryPoints: [FUNCTION_ENTRIES[name]],
    alias: {
      ...ESBUILD_OPTIONS.alias,
      ...Object.fromEntries(onDemandHere.map(([pkg, { file }]) => [pkg, onDemandImport(file)])),
    },
    external: ['./chunks/*'],
  });
  const imported = new Set(
    Object.values(entry.metafile.outputs).flatMap((output) => output.imports.map((i) => i.path)),
  );
  const onDemand = onDemandHere.filter(([, { file }]) => imported.has(onDemandImport(file)));
  const lazy =
    onDemand.length === 0
      ? undefined
      : buildSync({
          ...common,
          entryPoints: onDemand.map(([pkg, { file, source }]) => ({ in: source ?? pkg, out: file })),
          entryNames: '[dir]/[name]',
        });
  for (const [path, output] of Object.entries(lazy?.metafile.outputs ?? {})) {
    // A CommonJS package built as an entry exports only `default`: `import()` would find none of its names.
    if (output.entryPoint !== undefined && output.exports.join() === 'default') {
      throw new Error(`${name}: ${path} exports only default; name its exports in a shim (infra/shims/)`);
    }
  }
  const metafile: Metafile = {
    inputs: { ...lazy?.metafile.inputs, ...entry.metafile.inputs },
    outputs: { ...entry.metafile.outputs, ...lazy?.metafile.outputs },
  };
  rmSync(outdir, { recursive: true, force: true });
  writeDeployed([...entry.outputFiles, ...(lazy?.outputFiles ?? [])], metafile, layout, outdir);
  writeFileSync(join(outdir, METAFILE), JSON.stringify(metafile));
  return metafile;
}

/** What is deployed of one output file: its path as esbuild laid it out, and its bytes. */
interface DeployedFile {
  path: string;
  contents: string | Uint8Array;
}

/**
 * esbuild's output files as they are deployed: in each JavaScript file, the module wrappers
 * compiled eagerly and its source map shifted to match (infra/eagerModuleWrappers.ts).
 */
function deployedFiles(outputFiles: OutputFile[]): DeployedFile[] {
  const byPath = new Map(outputFiles.map((file) => [file.path, file]));
  const rewritten = new Map<string, string>();
  for (const file of outputFiles) {
    if (!file.path.endsWith('.mjs')) continue;
    const { code, map } = withEagerModuleWrappers(file.text, byPath.get(`${file.path}.map`)?.text);
    rewritten.set(file.path, code);
    if (map !== undefined) rewritten.set(`${file.path}.map`, map);
  }
  return outputFiles.map((file) => ({ path: file.path, contents: rewritten.get(file.path) ?? file.contents }));
}

/**
 * Writes esbuild's output files as deployed (`deployedFiles`) from where esbuild laid them out
 * (`layout`) to `outdir`, and sets their sizes in `metafile`: the budgets and the bench count
 * the bytes that are deployed.
 */
export function writeDeployed(outputFiles: OutputFile[], metafile: Metafile, layout: string, outdir: string): void {
  for (const file of deployedFiles(outputFiles)) {
    const target = join(outdir, relative(layout, file.path));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.contents);
    const output = metafile.outputs[relative(PROJECT_ROOT, file.path)];
    if (output) output.bytes = Buffer.byteLength(file.contents);
  }
}
