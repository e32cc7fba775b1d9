/**
 * The one esbuild configuration for the Lambda bundles. `npm run build` (infra/build.ts)
 * hands `ESBUILD_OPTIONS` to esbuild's JS API; the CDK stack hands `LAMBDA_BUNDLING`, derived
 * from the same object, to every `NodejsFunction`. A test bundles one function both ways and
 * compares the output byte for byte, so the two cannot drift.
 */
import { type BundlingOptions, LogLevel, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';
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
 * Node built-ins; an ES module has none, so the banner makes one.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __voiceCreateRequire } from 'node:module'; const require = __voiceCreateRequire(import.meta.url);";

/**
 * `node20`: the same bundle runs on the Lambda runtime (nodejs24.x) and on a developer's
 * Node 20. Everything is bundled, the AWS SDK included: left external it resolves to the
 * runtime's many-file copy, which loads no faster (see FACTS.md) and is a version we do not pin.
 */
export const ESBUILD_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  sourcemap: true,
  sourcesContent: true,
  mainFields: ['module', 'main'],
  banner: { js: ESM_REQUIRE_BANNER },
  external: [] as string[],
  logLevel: 'warning',
} satisfies BuildOptions;

/** The file name both builds write; `.mjs` makes Node and Lambda load it as an ES module. */
export const BUNDLE_FILE = 'index.mjs';

/** The same options in the shape `NodejsFunction`'s `bundling` prop takes. */
export const LAMBDA_BUNDLING: BundlingOptions = {
  minify: ESBUILD_OPTIONS.minify,
  sourceMap: ESBUILD_OPTIONS.sourcemap,
  sourcesContent: ESBUILD_OPTIONS.sourcesContent,
  target: ESBUILD_OPTIONS.target,
  format: OutputFormat.ESM,
  mainFields: [...ESBUILD_OPTIONS.mainFields],
  banner: ESBUILD_OPTIONS.banner.js,
  externalModules: [...ESBUILD_OPTIONS.external],
  logLevel: LogLevel.WARNING,
  // Never Docker: the local esbuild (a devDependency) is the one that bundles.
  forceDockerBundling: false,
};

/** Source maps are written by the bundler; this turns them on at run time. */
export const SOURCE_MAP_ENV = { NODE_OPTIONS: '--enable-source-maps' } as const;
