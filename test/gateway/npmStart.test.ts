/**
 * The two commands a newcomer types, run as real processes: `npm start` (the banner's
 * curl line must return a token) and `npm run --silent token -- --user 42`.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { jwtVerify } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { FIELDS } from '../../lib/config.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** The test's environment without any of the service's settings: a fresh machine. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of [...Object.keys(FIELDS), 'PORT']) if (!(name in extra)) delete env[name];
  return env;
}

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves with everything printed once `pattern` appears in it. */
function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (pattern.test(output)) {
        clearTimeout(timer);
        resolve(output);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ${pattern}:\n${output}`));
    });
  });
}

describe('npm start', () => {
  let child: ChildProcess | undefined;
  afterAll(async () => {
    const pid = child?.pid;
    if (pid === undefined || child?.exitCode !== null) return;
    const exited = new Promise((resolve) => child?.once('exit', resolve));
    process.kill(-pid, 'SIGTERM'); // the process group this test started: npm, tsx and node
    await exited;
  });

  it('listens on PORT and prints a curl line that returns a Twilio token from the running gateway', async () => {
    const port = await freePort();
    child = spawn('npm', ['start'], {
      cwd: REPO,
      env: cleanEnv({ PORT: String(port) }),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const CURL = /curl -s -H "Authorization: Bearer ([\w.-]+)" '(http:\/\/[^']+\/api\/v1\/call_token\?type=apns)'/;

    const banner = await waitForOutput(child, CURL, 15_000);
    const [, token, url] = banner.match(CURL) ?? [];
    const response = await fetch(url ?? '', { headers: { Authorization: `Bearer ${token}` } });

    expect(url).toBe(`http://127.0.0.1:${port}/api/v1/call_token?type=apns`);
    expect(banner).toContain('DEVELOPMENT settings');
    expect(response.status).toBe(200);
    const body = (await response.json()) as { status: string; data: { token: string } };
    expect(body.status).toBe('success');
    expect(body.data.token.split('.')).toHaveLength(3);
  });
});

describe('npm run --silent token -- --user 42', () => {
  it('prints only a JWT for user 42, signed with the configured JWT_SECRET', async () => {
    const secret = 'configured-jwt-secret-for-the-cli-test';

    const { stdout } = await promisify(execFile)('npm', ['run', '--silent', 'token', '--', '--user', '42'], {
      cwd: REPO,
      env: cleanEnv({ JWT_SECRET: secret }),
      timeout: 15_000,
    });

    expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const { payload } = await jwtVerify(stdout.trim(), new TextEncoder().encode(secret), { algorithms: ['HS256'] });
    expect(payload.user).toEqual({ id: 42 });
  });
});
