/**
 * The bundles the functions are compared with, built into the bench's temporary directory:
 * - naive/*: what Twilio's quickstart servers would deploy (the `twilio` package root), with
 *   esbuild's basics (bundle, minify, platform node) and our output format: an ES module for
 *   Node 20 with the same `require` banner. Not esbuild's CommonJS default: on Node 20 the same
 *   3.75 MB loads ≈ 3 × slower as CommonJS (≈ 340 vs 120 ms here), which would flatter every
 *   ratio against it; the comparison is about what is bundled, not the module format;
 * - sdkAlone/*: an AWS SDK client and its one call, with exactly our build options
 *   (infra/bundling.ts), so that its cold start is what that call can cost at the least;
 * - librariesAlone/*: per function, the library calls our handler makes on the benchmarked
 *   request and none of our code, with exactly our build options (plus makeCall's TwiML
 *   attributes as `define`s): the floor the chosen libraries set, cold and warm.
 */
import { join } from 'node:path';
import { buildSync, type Metafile } from 'esbuild';
import { BUNDLE_FILE, ESBUILD_OPTIONS, ESM_REQUIRE_BANNER, PROJECT_ROOT, writeDeployed } from '../../infra/bundling.js';

export interface ExtraBundle {
  /** The file the cold-start child loads. */
  file: string;
  /** Every code file written (source maps not counted). */
  bytes: number;
}

const codeBytes = (metafile: Metafile) =>
  Object.entries(metafile.outputs)
    .filter(([path]) => !path.endsWith('.map'))
    .reduce((sum, [, output]) => sum + output.bytes, 0);

/** One entry with exactly our build options, written as the build writes what it deploys (module wrappers eager). */
function buildAsDeployed(options: {
  entryPoints: string[];
  outdir: string;
  define?: Record<string, string>;
}): Metafile {
  const { outputFiles, metafile } = buildSync({
    ...ESBUILD_OPTIONS,
    ...options,
    absWorkingDir: PROJECT_ROOT,
    metafile: true,
    write: false,
  });
  writeDeployed(outputFiles, metafile, options.outdir, options.outdir);
  return metafile;
}

export type NaiveFunction = 'authorizer' | 'callToken' | 'makeCall';

export function buildNaive(name: NaiveFunction, outRoot: string): ExtraBundle {
  const file = join(outRoot, 'naive', name, BUNDLE_FILE);
  const { metafile } = buildSync({
    entryPoints: [`test/bench/naive/${name}.ts`],
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    minify: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    banner: { js: ESM_REQUIRE_BANNER },
    outfile: file,
    metafile: true,
    logLevel: 'error',
  });
  // The point of the naive build: the package root, REST client and all.
  if (!Object.keys(metafile.inputs).some((input) => input.includes('node_modules/twilio/lib/rest/'))) {
    throw new Error(`the naive ${name} bundle does not hold twilio's REST client: it is not the package root`);
  }
  return { file, bytes: codeBytes(metafile) };
}

export type SdkAlone = 'secretsManager' | 'dynamoDb';

export function buildSdkAlone(name: SdkAlone, outRoot: string): ExtraBundle {
  const outdir = join(outRoot, 'sdkAlone', name);
  const metafile = buildAsDeployed({ entryPoints: [`test/bench/sdkAlone/${name}.ts`], outdir });
  return { file: join(outdir, BUNDLE_FILE), bytes: codeBytes(metafile) };
}

export type LibrariesAloneFunction = NaiveFunction;

export function buildLibrariesAlone(
  name: LibrariesAloneFunction,
  outRoot: string,
  define: Record<string, string> = {},
): ExtraBundle {
  const outdir = join(outRoot, 'librariesAlone', name);
  const metafile = buildAsDeployed({ entryPoints: [`test/bench/librariesAlone/${name}.ts`], outdir, define });
  // None of our code: the entry, node_modules, and what our build options alias (semver's shim).
  // lib/metricNames.ts is imported for its types only.
  const ours = Object.keys(metafile.inputs).filter(
    (input) =>
      !input.startsWith('node_modules/') &&
      !input.startsWith('infra/shims/') &&
      !input.startsWith('<define:') &&
      input !== `test/bench/librariesAlone/${name}.ts`,
  );
  if (ours.length > 0) throw new Error(`the libraries-alone ${name} bundle holds code of ours: ${ours.join(', ')}`);
  return { file: join(outdir, BUNDLE_FILE), bytes: codeBytes(metafile) };
}
