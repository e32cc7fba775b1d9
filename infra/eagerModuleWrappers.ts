/**
 * esbuild wraps each bundled CommonJS module (`x((e,t)=>{…})`, its `__commonJS`) and each ES
 * module that must start lazily (`G(()=>{…})`, its `__esm`) in an arrow function. V8 compiles
 * a function only when it is first called, after preparsing it with the rest of the file, so
 * every module body the cold start runs is parsed twice. A function expression in parentheses
 * is compiled at once (V8's "PIFE" heuristic; a parenthesized arrow is not): rewritten to
 * `x((function(e,t){…}))`, each body is parsed once. Measured on the minified bundles, paired
 * cold starts: makeCall −3 to −4 ms on Node 20 and −5 ms on Node 24, callToken −2.5 ms
 * (README, Performance). Rolldown emits its wrappers this way for the same reason; esbuild has
 * no option for it.
 *
 * The rewrite changes nothing a module can see: esbuild calls each wrapper as a plain function
 * in strict code, so `this` is `undefined` either way, and a wrapper whose own body uses `this`
 * or `arguments` (which an arrow takes from outside) is left as it is. The linked source map is
 * shifted with the code, so error locations (lib/errorLocation.ts) still name the TypeScript
 * source.
 */
import { decode, encode, type SourceMapSegment } from '@jridgewell/sourcemap-codec';
import { type ArrowFunctionExpression, type Node, type ParenthesizedExpression, type Program, parse } from 'acorn';

export interface EagerWrappers {
  code: string;
  /** The source map's JSON, shifted with the code; undefined when none was given. */
  map: string | undefined;
  /** Wrappers rewritten to parenthesized function expressions. */
  eager: number;
  /** Wrappers left as arrows: their body uses `this` or `arguments`. */
  leftLazy: number;
}

/** One change to the code: at `offset`, `remove` characters replaced by `insert`. */
interface Edit {
  offset: number;
  remove: number;
  insert: string;
}

/** `var NAME = (a, b) => () => …`: a function that makes a thunk, esbuild's shape for its module wrappers. */
function wrapperHelpers(program: Program): Set<string> {
  const names = new Set<string>();
  for (const statement of program.body) {
    if (statement.type !== 'VariableDeclaration') continue;
    for (const declarator of statement.declarations) {
      const init = declarator.init;
      if (
        declarator.id.type === 'Identifier' &&
        init?.type === 'ArrowFunctionExpression' &&
        init.body.type === 'ArrowFunctionExpression' &&
        init.body.params.length === 0
      ) {
        names.add(declarator.id.name);
      }
    }
  }
  return names;
}

/** The argument of every top-level `var r = helper(…)`: esbuild's module bodies. */
function* moduleBodies(program: Program): Generator<Node> {
  const helpers = wrapperHelpers(program);
  for (const statement of program.body) {
    if (statement.type !== 'VariableDeclaration') continue;
    for (const { init } of statement.declarations) {
      if (init?.type !== 'CallExpression' || init.callee.type !== 'Identifier') continue;
      const [body, ...rest] = init.arguments;
      if (helpers.has(init.callee.name) && body !== undefined && rest.length === 0) yield body;
    }
  }
}

/** The module bodies still arrows with a block body: the ones to rewrite. */
function lazyWrappers(program: Program): ArrowFunctionExpression[] {
  return [...moduleBodies(program)].filter(
    (body): body is ArrowFunctionExpression =>
      body.type === 'ArrowFunctionExpression' &&
      (body as ArrowFunctionExpression).body.type === 'BlockStatement' &&
      !(body as ArrowFunctionExpression).async,
  );
}

/** Whether `node` uses `this` or `arguments` of its own function (not of a nested non-arrow function). */
function usesOwnThisOrArguments(node: Node): boolean {
  if (node.type === 'ThisExpression') return true;
  if (node.type === 'Identifier' && (node as Node & { name: string }).name === 'arguments') return true;
  if (
    node.type === 'FunctionExpression' ||
    node.type === 'FunctionDeclaration' ||
    node.type === 'PropertyDefinition' ||
    node.type === 'StaticBlock'
  ) {
    return false;
  }
  for (const value of Object.values(node)) {
    const children = Array.isArray(value) ? value : [value];
    for (const child of children) {
      if (child !== null && typeof child === 'object' && typeof child.type === 'string') {
        if (usesOwnThisOrArguments(child as Node)) return true;
      }
    }
  }
  return false;
}

/**
 * `(a,b)=>{…}` → `(function(a,b){…})`: insertions and one deletion (`=>`), so that every mapped
 * position (the parameters' too) keeps its text. `a=>{…}` → `(function(a){…})`.
 */
function toParenthesizedFunction(code: string, arrow: ArrowFunctionExpression): Edit[] {
  const header = code.slice(arrow.start, arrow.body.start);
  const arrowAt = arrow.start + header.lastIndexOf('=>');
  const parenthesized = header.startsWith('(');
  return [
    { offset: arrow.start, remove: 0, insert: parenthesized ? '(function' : '(function(' },
    { offset: arrowAt, remove: arrow.body.start - arrowAt, insert: parenthesized ? '' : ')' },
    { offset: arrow.end, remove: 0, insert: ')' },
  ];
}

/** Line and column (0-based, UTF-16 units: a source map's) of every offset in `offsets`. */
function positionsOf(code: string, offsets: number[]): Map<number, { line: number; column: number }> {
  const sorted = [...new Set(offsets)].sort((a, b) => a - b);
  const positions = new Map<number, { line: number; column: number }>();
  let line = 0;
  let lineStart = 0;
  let at = 0;
  for (const offset of sorted) {
    for (; at < offset; at++) {
      if (code.charCodeAt(at) === 10) {
        line += 1;
        lineStart = at + 1;
      }
    }
    positions.set(offset, { line, column: offset - lineStart });
  }
  return positions;
}

/**
 * The map's generated columns moved as the edits move the code. An edit never spans lines (the
 * caller checks). A segment inside a removed range moves to where the range began.
 */
function shiftedMap(mapJson: string, code: string, edits: Edit[]): string {
  const map = JSON.parse(mapJson) as { mappings: string };
  const lines = decode(map.mappings);
  const positions = positionsOf(
    code,
    edits.map((edit) => edit.offset),
  );
  const byLine = new Map<number, { column: number; remove: number; delta: number }[]>();
  for (const edit of edits) {
    const { line, column } = positions.get(edit.offset) as { line: number; column: number };
    const list = byLine.get(line) ?? [];
    list.push({ column, remove: edit.remove, delta: edit.insert.length - edit.remove });
    byLine.set(line, list);
  }
  for (const [line, lineEdits] of byLine) {
    lineEdits.sort((a, b) => a.column - b.column);
    const segments = lines[line];
    if (segments === undefined) continue;
    lines[line] = segments.map((segment): SourceMapSegment => {
      let shift = 0;
      let column = segment[0];
      for (const edit of lineEdits) {
        if (edit.column + edit.remove <= segment[0]) shift += edit.delta;
        else if (edit.column <= segment[0]) column = edit.column;
      }
      const moved = [...segment] as SourceMapSegment;
      moved[0] = column + shift;
      return moved;
    });
  }
  return JSON.stringify({ ...map, mappings: encode(lines) });
}

/** `code` (an esbuild ES-module bundle) with its module wrappers compiled eagerly; its source map shifted to match. */
export function withEagerModuleWrappers(code: string, map?: string): EagerWrappers {
  const program = parse(code, { ecmaVersion: 'latest', sourceType: 'module' });
  const edits: Edit[] = [];
  let eager = 0;
  let leftLazy = 0;
  for (const arrow of lazyWrappers(program)) {
    // An edit may not span lines (shiftedMap); esbuild's minified wrappers never do.
    if (usesOwnThisOrArguments(arrow.body) || code.slice(arrow.start, arrow.body.start).includes('\n')) {
      leftLazy += 1;
    } else {
      edits.push(...toParenthesizedFunction(code, arrow));
      eager += 1;
    }
  }
  if (edits.length === 0) return { code, map, eager, leftLazy };
  edits.sort((a, b) => b.offset - a.offset);
  let rewritten = code;
  for (const edit of edits) {
    rewritten = rewritten.slice(0, edit.offset) + edit.insert + rewritten.slice(edit.offset + edit.remove);
  }
  return {
    code: rewritten,
    map: map === undefined ? undefined : shiftedMap(map, code, edits),
    eager,
    leftLazy,
  };
}

/** How many of `code`'s module wrappers V8 compiles eagerly (parenthesized functions) and how many lazily (arrows). */
export function countModuleWrappers(code: string): { eager: number; lazy: number } {
  const program = parse(code, { ecmaVersion: 'latest', sourceType: 'module', preserveParens: true });
  const counts = { eager: 0, lazy: 0 };
  for (const body of moduleBodies(program)) {
    if (body.type === 'ArrowFunctionExpression') counts.lazy += 1;
    else if (
      body.type === 'ParenthesizedExpression' &&
      (body as ParenthesizedExpression).expression.type === 'FunctionExpression'
    ) {
      counts.eager += 1;
    }
  }
  return counts;
}
