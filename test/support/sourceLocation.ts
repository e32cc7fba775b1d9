/**
 * A logged error `location` (`path:line:column`, optionally ` (functionName)`) read back in
 * the real source file: for tests that the location points where the error happened.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LOCATION = /^(?<path>[\w/.-]+\.ts):(?<line>\d+):(?<column>\d+)(?: \((?<name>\w+)\))?$/;

/** The location's project-relative file, the text of its line, and that text from its column on. */
export function sourceAt(location: string | undefined): { path: string; text: string; at: string } {
  const match = LOCATION.exec(location ?? '');
  if (!match?.groups) throw new Error(`not a location in our TypeScript source: ${location}`);
  const { path = '', line = '', column = '' } = match.groups;
  const text = readFileSync(join(ROOT, path), 'utf8').split('\n')[Number(line) - 1] ?? '';
  return { path, text, at: text.slice(Number(column) - 1) };
}
