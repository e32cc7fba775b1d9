/**
 * Cold starts as Lambda pays them: for each row a fresh `node` (test/bench/coldChild.mjs) that
 * loads one bundle with one environment and answers one event; the time is from process start
 * to the answer. Rows are run round-robin (run 1 of every row, then run 2 of every row, …) so
 * that drift on a shared machine hits every row alike, after one discarded round that warms
 * the file cache and checks every row answers as it should.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const COLD_CHILD = join(import.meta.dirname, 'coldChild.mjs');

export interface ColdRow {
  id: string;
  /** The bundle to load; null: none (a bare `node`). */
  bundle: string | null;
  /** The child's whole environment (nothing is inherited). */
  env: Record<string, string>;
  /** The event of round `n` (0 is the discarded round). */
  event: (n: number) => unknown;
  /** What is wrong with an answer; undefined when it is right. */
  check: (result: unknown) => string | undefined;
}

interface ChildAnswer {
  ms: number;
  result: unknown;
}

function runOnce(row: ColdRow, eventFile: string): Promise<ChildAnswer> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [COLD_CHILD, row.bundle ?? '-', eventFile], {
      env: row.env,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    const streams = { stdout: '', stderr: '', report: '' };
    child.stdout?.on('data', (chunk: Buffer) => {
      streams.stdout += chunk;
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      streams.stderr += chunk;
    });
    child.stdio[3]?.on('data', (chunk: Buffer) => {
      streams.report += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const failed = (why: string) =>
        reject(
          new Error(
            `${row.id}: ${why}\n--- stdout\n${streams.stdout.slice(-2000)}\n--- stderr\n${streams.stderr.slice(-2000)}`,
          ),
        );
      if (code !== 0 || streams.report === '') return failed(`exited ${code} without an answer`);
      const answer = JSON.parse(streams.report) as ChildAnswer;
      const wrong = row.check(answer.result);
      if (wrong) return failed(`wrong answer: ${wrong}: ${JSON.stringify(answer.result).slice(0, 500)}`);
      resolve(answer);
    });
  });
}

/** One fresh process of one row, for its answer (checked): what another row's answer is compared with. */
export async function coldAnswer(row: ColdRow, tempDir: string, round = 0): Promise<unknown> {
  const eventFile = join(tempDir, `answer-${row.id.replace(/\W+/g, '-')}.json`);
  writeFileSync(eventFile, JSON.stringify(row.event(round)));
  return (await runOnce(row, eventFile)).result;
}

/** Milliseconds from process start to answer, `runs` per row, in row order. */
export async function measureColdStarts(
  rows: readonly ColdRow[],
  runs: number,
  tempDir: string,
  progress: (round: number) => void = () => undefined,
): Promise<Map<string, number[]>> {
  const times = new Map(rows.map((row) => [row.id, [] as number[]]));
  for (let round = 0; round <= runs; round++) {
    progress(round);
    for (const [index, row] of rows.entries()) {
      const eventFile = join(tempDir, `cold-${index}.json`);
      writeFileSync(eventFile, JSON.stringify(row.event(round)));
      const { ms } = await runOnce(row, eventFile);
      if (round > 0) times.get(row.id)?.push(ms);
    }
  }
  return times;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
