/**
 * The build's rewrite of esbuild's module wrappers into parenthesized functions (which V8
 * compiles at once): a bundle answers as before, a wrapper that would see a different
 * `arguments` is left alone, and the source map still points every position at the same code,
 * so an error is still located in its source.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { join } from 'node:path';
import { decode } from '@jridgewell/sourcemap-codec';
import { buildSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ESBUILD_OPTIONS, PROJECT_ROOT } from '../../infra/bundling.js';
import { countModuleWrappers, withEagerModuleWrappers } from '../../infra/eagerModuleWrappers.js';
import { runInFreshNode } from '../support/freshNode.js';
import { removeOutdirs, tempOutdir } from './stackFixture.js';

/** CommonJS modules of every kind the rewrite meets, and an ES module that uses them. */
const FIXTURE: Record<string, string> = {
  'counter.cjs': 'let n = 0;\nexports.next = () => ++n;\nexports.kind = typeof module;\n',
  'thrower.cjs': 'module.exports = function thrower() {\n  throw new Error("thrown here");\n};\n',
  // In Node, a CommonJS module's `arguments` is its wrapper's; esbuild's arrow has none of its own.
  'usesArguments.cjs': 'module.exports = typeof arguments;\n',
  'entry.mjs': [
    "import counter from './counter.cjs';",
    "import thrower from './thrower.cjs';",
    "import argumentsType from './usesArguments.cjs';",
    'export const answers = () => [counter.next(), counter.next(), counter.kind, argumentsType];',
    'export { thrower };',
  ].join('\n'),
};

interface Built {
  code: string;
  map: string;
}

/** The fixture bundled with our build options, as esbuild writes it. */
function bundleFixture(dir: string): Built {
  for (const [file, text] of Object.entries(FIXTURE)) writeFileSync(join(dir, file), text);
  const { outputFiles } = buildSync({
    ...ESBUILD_OPTIONS,
    splitting: false,
    absWorkingDir: PROJECT_ROOT,
    entryPoints: [join(dir, 'entry.mjs')],
    outdir: join(dir, 'out'),
    write: false,
  });
  const file = (suffix: string) => outputFiles.find((f) => f.path.endsWith(suffix))?.text ?? '';
  return { code: file('index.mjs'), map: file('index.mjs.map') };
}

/**
 * In a fresh `node` (the test runner would transform an imported file): import the bundle, ask
 * its answers, and report where V8 says the thrower threw, in the bundle.
 */
const CHILD = `
const { answers, thrower } = await import(new URL('file://' + process.cwd() + '/index.mjs').href);
Error.prepareStackTrace = (_error, sites) => sites;
let site;
try {
  thrower();
} catch (error) {
  site = error.stack[0];
}
process.stderr.write('CHILD ' + JSON.stringify({
  answers: answers(),
  thrownAt: { file: site.getFileName(), line: site.getLineNumber(), column: site.getColumnNumber() },
}));
`;

interface ChildReport {
  answers: unknown[];
  thrownAt: { file: string; line: number; column: number };
}

/** Writes a bundle and its map to `dir` and runs CHILD there. */
async function run(dir: string, { code, map }: Built): Promise<ChildReport> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'index.mjs'), code);
  writeFileSync(join(dir, 'index.mjs.map'), map);
  const result = await runInFreshNode(CHILD, { cwd: dir, env: { PATH: process.env.PATH ?? '' } });
  expect(result.status, result.stderr).toBe(0);
  return result.report as ChildReport;
}

let root: string;
let original: Built;
let rewritten: ReturnType<typeof withEagerModuleWrappers>;

beforeAll(() => {
  root = tempOutdir();
  original = bundleFixture(root);
  rewritten = withEagerModuleWrappers(original.code, original.map);
});
afterAll(removeOutdirs);

describe('module wrappers compiled eagerly', () => {
  it('turns each CommonJS wrapper into a parenthesized function, but one whose body uses arguments', () => {
    expect(countModuleWrappers(original.code)).toEqual({ eager: 0, lazy: 3 });
    expect(countModuleWrappers(rewritten.code)).toEqual({ eager: 2, lazy: 1 });
    expect(rewritten).toMatchObject({ eager: 2, leftLazy: 1 });
  });

  it('leaves what the modules answer as it was', async () => {
    const before = await run(join(root, 'before'), original);
    const after = await run(join(root, 'after'), { code: rewritten.code, map: rewritten.map ?? '' });
    expect(before.answers).toEqual([1, 2, 'object', 'undefined']);
    expect(after.answers).toEqual(before.answers);
  });

  it('keeps an error locatable in its source through the shifted map', async () => {
    const { thrownAt } = await run(join(root, 'located'), { code: rewritten.code, map: rewritten.map ?? '' });
    expect(thrownAt.file).toMatch(/located\/index\.mjs$/);
    const entry = new SourceMap(JSON.parse(rewritten.map ?? '{}')).findEntry(thrownAt.line - 1, thrownAt.column - 1);
    // 0-based: the second line of thrower.cjs, at `new Error` (V8's frame for a constructed error).
    expect(entry).toMatchObject({
      originalLine: 1,
      originalColumn: FIXTURE['thrower.cjs']?.split('\n')[1]?.indexOf('new Error'),
    });
    expect('originalSource' in entry && entry.originalSource).toMatch(/thrower\.cjs$/);
  });

  it("points every position of make_call's map at the same code and source after the rewrite", () => {
    const { outputFiles } = buildSync({
      ...ESBUILD_OPTIONS,
      splitting: false,
      absWorkingDir: PROJECT_ROOT,
      entryPoints: ['functions/makeCall.ts'],
      outdir: join(root, 'makeCall'),
      external: ['./chunks/*'],
      write: false,
    });
    const code = outputFiles.find((f) => f.path.endsWith('.mjs'))?.text ?? '';
    const map = outputFiles.find((f) => f.path.endsWith('.mjs.map'))?.text ?? '';
    const result = withEagerModuleWrappers(code, map);
    expect(result.eager).toBeGreaterThan(30);
    const [before, after = []] = [map, result.map ?? ''].map((json) => decode(JSON.parse(json).mappings));
    const [linesBefore = [], linesAfter = []] = [code, result.code].map((text) => text.split('\n'));
    // The identifier (or the one character) each segment starts at.
    const tokenAt = (line: string | undefined, column: number) =>
      /^[\w$]+|^[\s\S]/.exec(line?.slice(column) ?? '')?.[0];
    const moved: string[] = [];
    let compared = 0;
    expect(after.map((segments) => segments.length)).toEqual(before?.map((segments) => segments.length));
    for (const [i, segments] of (before ?? []).entries()) {
      for (const [j, segment] of segments.entries()) {
        const shifted = after[i]?.[j] ?? [0];
        const [was, is] = [tokenAt(linesBefore[i], segment[0]), tokenAt(linesAfter[i], shifted[0])];
        if (was !== is || shifted.slice(1).join() !== segment.slice(1).join()) moved.push(`line ${i}: ${was} → ${is}`);
        compared += 1;
      }
    }
    expect(moved.slice(0, 5)).toEqual([]);
    expect(compared).toBeGreaterThan(10_000);
  });
});
