/**
 * `npm run build`: every Lambda function exactly as the stack deploys it, in
 * `dist/<function>/` (infra/bundling.ts), and what each holds: the bytes a cold start loads,
 * and apart from them the files loaded on first use (AWS SDK clients, Slack's client and, in
 * the authorizer, Powertools Metrics).
 */
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Metafile } from 'esbuild';
import type { FunctionName } from '../lib/functionFields.js';
import { type BundleParts, bundleParts, isAwsSdkChunk, totalBytes } from './bundleParts.js';
import { BUNDLE_FILE, bundleFunction, distDir, FUNCTION_ENTRIES, PROJECT_ROOT } from './bundling.js';

export interface BuiltFunction {
  name: FunctionName;
  outdir: string;
  /** The entry file, `<outdir>/index.mjs`. */
  outfile: string;
  metafile: Metafile;
  parts: BundleParts;
  /** Bytes a cold start loads: the entry and its static imports. */
  startupBytes: number;
  /** Chunks loaded on first use, AWS SDK apart from the rest. */
  awsSdkBytes: number;
  otherOnDemandBytes: number;
}

function buildFunction(name: FunctionName, outdir: string): BuiltFunction {
  const metafile = bundleFunction(name, outdir);
  const parts = bundleParts(metafile, FUNCTION_ENTRIES[name]);
  const awsSdkBytes = totalBytes(parts.onDemand.filter((file) => isAwsSdkChunk(metafile, file)));
  return {
    name,
    outdir,
    outfile: join(outdir, BUNDLE_FILE),
    metafile,
    parts,
    startupBytes: totalBytes(parts.startup),
    awsSdkBytes,
    otherOnDemandBytes: totalBytes(parts.onDemand) - awsSdkBytes,
  };
}

/** Every function into `<outRoot>/<function>/`; without `outRoot`, into `dist/<function>/`. */
export function buildAll(outRoot?: string): BuiltFunction[] {
  return (Object.keys(FUNCTION_ENTRIES) as FunctionName[]).map((name) =>
    buildFunction(name, outRoot === undefined ? distDir(name) : join(outRoot, name)),
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const column = (value: number | string, width = 12) => String(value).padStart(width);
  console.log(`${'function'.padEnd(12)}${column('cold start')}${column('AWS SDK')}${column('other lazy')}  (bytes)`);
  for (const b of buildAll()) {
    console.log(
      `${b.name.padEnd(12)}${column(b.startupBytes)}${column(b.awsSdkBytes)}${column(b.otherOnDemandBytes)}  ${relative(PROJECT_ROOT, b.outdir)}/`,
    );
  }
}
