/**
 * ES module code run in a fresh `node`, as Lambda loads a bundle: in the directory given,
 * with exactly the environment given (nothing inherited). The code reports back by writing
 * one line `CHILD <json>` to stderr; stdout keeps what the function logs. Asynchronous, so
 * that loopback servers in this process (Secrets Manager, dynalite, Slack) go on answering
 * the child.
 */
import { spawn } from 'node:child_process';

export interface FreshNodeRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** The child's `CHILD <json>` line, parsed; undefined when it wrote none. */
  report: unknown;
}

const REPORT = 'CHILD ';

export function runInFreshNode(
  code: string,
  options: { cwd: string; env: Record<string, string> },
): Promise<FreshNodeRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { ...options, timeout: 20_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (status) => {
      const line = stderr.split('\n').find((l) => l.startsWith(REPORT));
      resolve({
        status,
        stdout,
        stderr,
        report: line === undefined ? undefined : JSON.parse(line.slice(REPORT.length)),
      });
    });
  });
}
