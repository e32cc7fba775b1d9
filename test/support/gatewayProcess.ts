/**
 * `npm start` as a real process (its own process group, so npm, tsx and node stop
 * together), with everything it prints kept: for tests that read what the deployed code
 * writes to stdout and stderr.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FIELDS } from '../../lib/config.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const LISTENING = /^Voice service \(local gateway\) listening on (http:\/\/127\.0\.0\.1:\d+)$/m;

export interface GatewayProcess {
  baseUrl: string;
  /** Everything printed so far. */
  stdout(): string;
  stderr(): string;
  stop(): Promise<void>;
}

/** Local-gateway settings outside FIELDS that a developer's shell may hold. */
const LOCAL_SETTINGS = ['PORT', 'LOCAL_CALL_LIMITS', 'AWS_ENDPOINT_URL_DYNAMODB'];

/** The test's environment without any of the service's settings (a fresh machine), plus `extra`. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of [...Object.keys(FIELDS), ...LOCAL_SETTINGS]) if (!(name in extra)) delete env[name];
  return env;
}

/** `npm start` in its own process group, so that stopProcessGroup stops npm, tsx and node together. */
export function spawnNpmStart(env: NodeJS.ProcessEnv): ChildProcess {
  return spawn('npm', ['start'], { cwd: REPO, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Stops the process group `child` leads (SIGTERM) and waits for it to exit; nothing once it has exited. */
export async function stopProcessGroup(child: ChildProcess | undefined): Promise<void> {
  const pid = child?.pid;
  if (pid === undefined || child?.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(-pid, 'SIGTERM');
  await exited;
}

export async function startGatewayProcess(extra: Record<string, string>, timeoutMs = 20_000): Promise<GatewayProcess> {
  const child = spawnNpmStart(cleanEnv({ PORT: '0', ...extra }));
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const stop = () => stopProcessGroup(child);
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`npm start printed no banner in ${timeoutMs} ms:\n${stdout}${stderr}`)),
      timeoutMs,
    );
    const check = () => {
      const match = stdout.match(LISTENING);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code}:\n${stdout}${stderr}`));
    });
  }).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  return { baseUrl, stdout: () => stdout, stderr: () => stderr, stop };
}
