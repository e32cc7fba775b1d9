/**
 * What a function's build holds, read from esbuild's metafile: the files a cold start loads
 * (the entry and the chunks it imports statically) and the chunks loaded on first use
 * (dynamic `import()`), and which of those are AWS SDK code. `npm run build` prints it, the
 * bundle guards (test/infra/bundling.test.ts) and `npm run bench` use it.
 */
import type { Metafile } from 'esbuild';

export interface OutputFile {
  /** Path as the metafile names it (relative to the project root). */
  path: string;
  bytes: number;
  /** The metafile's inputs with bytes in this file. */
  inputs: string[];
}

export interface BundleParts {
  /** The entry and every chunk it imports statically: parsed and compiled at every cold start. */
  startup: OutputFile[];
  /** Chunks reached only through dynamic `import()`: loaded when that code first runs. */
  onDemand: OutputFile[];
}

/** AWS SDK v3 code: the clients, their Smithy runtime and what only they use. */
const AWS_SDK_INPUT =
  /node_modules\/(@aws-sdk|@smithy|@aws-crypto|bowser|fast-xml-parser|strnum|mnemonist|obliterator)\//;

const isAwsSdkInput = (input: string) => AWS_SDK_INPUT.test(input);

/**
 * A chunk is the AWS SDK's when most of its bytes are: the clients' own files (built from
 * shims that name what lib/ takes) and the chunks they share.
 */
export function isAwsSdkChunk(metafile: Metafile, file: OutputFile): boolean {
  const inputs = metafile.outputs[file.path]?.inputs ?? {};
  let sdk = 0;
  let all = 0;
  for (const [input, { bytesInOutput }] of Object.entries(inputs)) {
    all += bytesInOutput;
    if (isAwsSdkInput(input)) sdk += bytesInOutput;
  }
  return all > 0 && sdk / all > 0.5;
}

export function bundleParts(metafile: Metafile, entryPoint: string): BundleParts {
  const file = (path: string): OutputFile => {
    const output = metafile.outputs[path];
    if (!output) throw new Error(`${path} is not in the metafile`);
    return { path, bytes: output.bytes, inputs: Object.keys(output.inputs) };
  };
  const code = Object.keys(metafile.outputs).filter((path) => !path.endsWith('.map'));
  const entryPath = code.find(
    (path) => metafile.outputs[path]?.entryPoint === entryPoint && /\/index\.m?js$/.test(path),
  );
  if (!entryPath) throw new Error(`no entry output for ${entryPoint}`);
  const startup = new Set<string>();
  const pending = [entryPath];
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    if (startup.has(path)) continue;
    startup.add(path);
    for (const i of metafile.outputs[path]?.imports ?? [])
      if (!i.external && i.kind === 'import-statement') pending.push(i.path);
  }
  return {
    startup: [...startup].map(file),
    onDemand: code.filter((path) => !startup.has(path)).map(file),
  };
}

export const totalBytes = (files: readonly OutputFile[]) => files.reduce((sum, f) => sum + f.bytes, 0);
