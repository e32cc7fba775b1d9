/**
 * `npm run build`: bundles every Lambda function with the shared esbuild options into
 * `dist/<function>/index.mjs` (+ source map), with esbuild's metafile beside it in
 * `dist/<function>/meta.json`, and prints each bundle's size. `cdk deploy` does not need
 * this (NodejsFunction bundles with the same options); it is for inspecting bundles.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import type { FunctionName } from '../lib/functionFields.js';
import { BUNDLE_FILE, ESBUILD_OPTIONS, FUNCTION_ENTRIES } from './bundling.js';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface BuiltFunction {
  name: FunctionName;
  outfile: string;
  metafile: Metafile;
  /** Size of the JavaScript bundle (not the source map), from the metafile. */
  bytes: number;
}

/** Bundles one function into `<outRoot>/<name>/`. */
export async function buildFunction(name: FunctionName, outRoot = join(PROJECT_ROOT, 'dist')): Promise<BuiltFunction> {
  const outdir = join(outRoot, name);
  const outfile = join(outdir, BUNDLE_FILE);
  const result = await build({
    ...ESBUILD_OPTIONS,
    // The same working directory and relative entry as NodejsFunction, so the output matches.
    absWorkingDir: PROJECT_ROOT,
    entryPoints: [FUNCTION_ENTRIES[name]],
    outfile,
    metafile: true,
  });
  await mkdir(outdir, { recursive: true });
  await writeFile(join(outdir, 'meta.json'), JSON.stringify(result.metafile));
  const output = result.metafile.outputs[relative(PROJECT_ROOT, outfile)];
  if (!output) throw new Error(`esbuild wrote no ${outfile}`);
  return { name, outfile, metafile: result.metafile, bytes: output.bytes };
}

export async function buildAll(outRoot?: string): Promise<BuiltFunction[]> {
  const built: BuiltFunction[] = [];
  for (const name of Object.keys(FUNCTION_ENTRIES) as FunctionName[]) built.push(await buildFunction(name, outRoot));
  return built;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const { name, outfile, bytes } of await buildAll()) {
    console.log(`${name.padEnd(12)} ${String(bytes).padStart(9)} bytes  ${relative(PROJECT_ROOT, outfile)}`);
  }
}
