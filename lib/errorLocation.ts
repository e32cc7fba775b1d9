/**
 * Where an error was thrown, as a place in the TypeScript source (`lib/voiceToken.ts:42:11`),
 * for the log line of an unexpected error. The deployed bundles are minified and Node runs
 * them without `--enable-source-maps` (it costs 12–21 ms of every cold start), so a stack
 * frame says `index.mjs:1:34567`; this maps such a frame through the source map written
 * beside the file (`index.mjs.map`), read and parsed only when an error is being logged, once
 * per file. Frames already in `.ts` files (tests, tsx, `npm start`) are taken as they are.
 *
 * Only paths and positions come out, never the error's message or any value: the header of
 * the stack (which holds the message) is skipped, and a frame is only `path:line:column`.
 * Never throws: whatever cannot be read or mapped leaves the frame as it was.
 */
import { createRequire } from 'node:module';

/**
 * Node's built-ins, required when an error is first located instead of imported: an ES-module
 * import of a built-in makes its whole namespace at load (node:fs's pulls in its streams and
 * promises API), ≈ 1 ms of every cold start for a path that runs on errors only.
 */
const nodeRequire = createRequire(import.meta.url);
let loadedBuiltins:
  | {
      fs: typeof import('node:fs');
      module: typeof import('node:module');
      path: typeof import('node:path');
      url: typeof import('node:url');
    }
  | undefined;
const builtins = () => {
  loadedBuiltins ??= {
    fs: nodeRequire('node:fs'),
    module: nodeRequire('node:module'),
    path: nodeRequire('node:path'),
    url: nodeRequire('node:url'),
  };
  return loadedBuiltins;
};

interface Frame {
  path: string;
  line: number;
  column: number;
  name?: string;
}

/** `    at fn (file:///var/task/index.mjs:1:2)`, `    at async fn (…)`, `    at /x/y.ts:3:4`. */
const FRAME = /^\s*at (?:async )?(?:[^(]*? \()?(.+?):(\d+):(\d+)\)?$/;
/** Our own code: a frame here is preferred to one in Node or a dependency. */
const OWN = /^(functions|lib)\//;

/** Parsed source maps by bundle file; `null`: none beside it, or it could not be read. */
const maps = new Map<string, import('node:module').SourceMap | null>();

function mapFor(file: string): import('node:module').SourceMap | null {
  const { fs, module } = builtins();
  let map = maps.get(file);
  if (map !== undefined) return map;
  map = null;
  try {
    const mapFile = `${file}.map`;
    if (fs.existsSync(mapFile)) map = new module.SourceMap(JSON.parse(fs.readFileSync(mapFile, 'utf8')));
  } catch {
    map = null;
  }
  maps.set(file, map);
  return map;
}

/**
 * A path as the repository names it. Relative to the working directory when under it
 * (`npm start`, tests; on Lambda `/var/task`, so a bundle's own frame is `index.mjs`);
 * otherwise from its `node_modules/`, or from its last `functions/` or `lib/` directory.
 */
function projectPath(path: string): string {
  const { relative, isAbsolute, sep } = builtins().path;
  const fromCwd = relative(process.cwd(), path);
  if (fromCwd && !fromCwd.startsWith('..') && !isAbsolute(fromCwd)) return fromCwd.split(sep).join('/');
  const segments = path.split(/[\\/]/);
  const modules = segments.indexOf('node_modules');
  if (modules >= 0) return segments.slice(modules).join('/');
  const own = segments.findLastIndex((segment) => segment === 'functions' || segment === 'lib');
  return own >= 0 ? segments.slice(own).join('/') : path;
}

/**
 * A map's source as the repository names it. The build writes `sources` relative to
 * `dist/<function>/` (or its `chunks/`) inside the project, so without its leading `../` a
 * source is project-relative wherever the bundle now lies (`/var/task` on Lambda).
 */
function sourcePath(source: string, mapDir: string): string {
  const { isAbsolute, posix, resolve } = builtins().path;
  const { fileURLToPath } = builtins().url;
  if (source.startsWith('file:')) return projectPath(fileURLToPath(source));
  if (isAbsolute(source)) return projectPath(source);
  const normalized = posix.normalize(source.replaceAll('\\', '/')).replace(/^(\.\.\/)+/, '');
  if (/^(functions|lib|node_modules|infra|test)\//.test(normalized)) return normalized;
  return projectPath(resolve(mapDir, source));
}

function parseFrame(text: string): Frame | undefined {
  const match = FRAME.exec(text);
  if (!match) return undefined;
  const [, where = '', line = '', column = ''] = match;
  if (where.includes('<anonymous>') || where.startsWith('eval at ')) return undefined;
  return { path: where, line: Number(line), column: Number(column) };
}

/** The frame as TypeScript source where a map knows it; otherwise as it was, the path made relative. */
function resolveFrame(frame: Frame): Frame {
  if (frame.path.startsWith('node:')) return frame;
  const { isAbsolute, dirname } = builtins().path;
  const { fileURLToPath } = builtins().url;
  let file = frame.path;
  try {
    if (file.startsWith('file:')) file = fileURLToPath(file);
  } catch {
    return frame;
  }
  if (!isAbsolute(file)) return frame;
  const raw = { ...frame, path: projectPath(file) };
  if (!/\.[cm]?js$/.test(file)) return raw;
  const map = mapFor(file);
  if (!map) return raw;
  const entry = map.findEntry(frame.line - 1, frame.column - 1) as Partial<{
    originalSource: string;
    originalLine: number;
    originalColumn: number;
    name: string;
  }>;
  if (typeof entry.originalSource !== 'string' || entry.originalLine === undefined) return raw;
  return {
    path: sourcePath(entry.originalSource, dirname(file)),
    line: entry.originalLine + 1,
    column: (entry.originalColumn ?? 0) + 1,
    ...(entry.name ? { name: entry.name } : {}),
  };
}

/** The stack's frame lines: what follows the header (`Name: message`, perhaps several lines). */
function frameLines(error: Error): string[] {
  const stack = typeof error.stack === 'string' ? error.stack : '';
  const message = typeof error.message === 'string' ? error.message : '';
  const header = `: ${message}\n`;
  const at = message ? stack.indexOf(header) : -1;
  if (at >= 0) return stack.slice(at + header.length).split('\n');
  // No message, or one changed since the stack was taken: skip as many lines as it has.
  return stack.split('\n').slice(message.split('\n').length);
}

const format = (frame: Frame) => `${frame.path}:${frame.line}:${frame.column}${frame.name ? ` (${frame.name})` : ''}`;

/**
 * Where `error` was thrown: the first frame in our own code (`functions/`, `lib/`), else the
 * first frame; `undefined` for a value that is not an Error or has no readable stack.
 */
export function errorLocation(error: unknown): string | undefined {
  try {
    if (!(error instanceof Error)) return undefined;
    let first: Frame | undefined;
    for (const line of frameLines(error)) {
      const parsed = parseFrame(line);
      if (!parsed) continue;
      const frame = resolveFrame(parsed);
      if (OWN.test(frame.path)) return format(frame);
      first ??= frame;
    }
    return first && format(first);
  } catch {
    return undefined;
  }
}
