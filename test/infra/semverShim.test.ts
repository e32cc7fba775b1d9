/**
 * The bundles answer jsonwebtoken's semver questions with infra/shims/semver.cjs: the same
 * answers real semver gives on this Node for every range jsonwebtoken asks about, found by
 * reading jsonwebtoken's own source, and a loud failure for a question it does not know.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../infra/bundling.js';

const require = createRequire(import.meta.url);
const shim = require('../../infra/shims/semver.cjs') as { satisfies(version: string, range: string): boolean };
const semver = require('semver') as { satisfies(version: string, range: string): boolean };

/** Every `semver.satisfies(process.version, '<range>')` in jsonwebtoken's installed source. */
function rangesJsonwebtokenAsks(): string[] {
  const dir = join(PROJECT_ROOT, 'node_modules/jsonwebtoken');
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter(
    (file) => file.endsWith('.js') && !file.startsWith('node_modules'),
  );
  const ranges = files.flatMap((file) =>
    [...readFileSync(join(dir, file), 'utf8').matchAll(/semver\.satisfies\(process\.version, '([^']+)'\)/g)].map(
      (match) => match[1] as string,
    ),
  );
  const uses = files.filter((file) => /require\('semver'\)/.test(readFileSync(join(dir, file), 'utf8')));
  expect(ranges.length).toBe(uses.length); // each file that loads semver asks exactly this
  return ranges;
}

describe('semver shim', () => {
  it('answers every range jsonwebtoken asks as real semver does on this Node', () => {
    const ranges = rangesJsonwebtokenAsks();
    expect(ranges.length).toBeGreaterThan(0);
    for (const range of ranges)
      expect(shim.satisfies(process.version, range), range).toBe(semver.satisfies(process.version, range));
  });

  it('refuses a range it was not written for, and a Node older than 20', () => {
    expect(() => shim.satisfies(process.version, '>=99.0.0')).toThrow(/no answer for ">=99.0.0"/);
    expect(() => shim.satisfies('v18.20.0', '>=15.7.0')).toThrow(/older than 20/);
  });
});
