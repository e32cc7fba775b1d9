/**
 * The two commands a newcomer types, run as real processes: `npm start` (the banner's
 * curl line must return a token) and `npm run --silent token -- --user 42`.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { jwtVerify } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv } from '../support/gatewayProcess.js';
import { type SecretsManagerEndpoint, startSecretsManagerEndpoint } from '../support/secretsManagerEndpoint.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

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

/** `npm start` as its own process group, so that the test can stop npm, tsx and node together. */
function npmStart(env: NodeJS.ProcessEnv): ChildProcess {
  return spawn('npm', ['start'], { cwd: REPO, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  const pid = child?.pid;
  if (pid === undefined || child?.exitCode !== null) return;
  const exited = new Promise((resolve) => child?.once('exit', resolve));
  process.kill(-pid, 'SIGTERM'); // the process group this test started: npm, tsx and node
  await exited;
}

/** The banner's last line: everything is printed once it is there. */
const MAKE_CALL_CURL =
  /curl -s -X POST --data-urlencode 'to=\+14155550123' --data-urlencode 'From=(client:AP[0-9a-f]{32}_uid42)' '(http:\/\/[^']+\/api\/v1\/make_call)'/;

describe('npm start', () => {
  let child: ChildProcess | undefined;
  afterEach(async () => {
    await stop(child);
    child = undefined;
  });

  it('listens on PORT and prints a curl line that returns a Twilio token from the running gateway', async () => {
    const port = await freePort();
    child = npmStart(cleanEnv({ PORT: String(port) }));
    const CURL = /curl -s -H "Authorization: Bearer ([\w.-]+)" '(http:\/\/[^']+\/api\/v1\/call_token\?type=apns)'/;

    const banner = await waitForOutput(child, CURL, 15_000);
    const [, token, url] = banner.match(CURL) ?? [];
    const response = await fetch(url ?? '', { headers: { Authorization: `Bearer ${token}` } });

    expect(url).toBe(`http://127.0.0.1:${port}/api/v1/call_token?type=apns`);
    expect(banner).toContain('DEVELOPMENT settings');
    expect(banner).toContain('TWILIO_AUTH_TOKEN is not set: make_call does NOT check Twilio signatures');
    expect(response.status).toBe(200);
    const body = (await response.json()) as { status: string; data: { token: string } };
    expect(body.status).toBe('success');
    expect(body.data.token.split('.')).toHaveLength(3);
  });

  it('prints a make_call curl line, calling as a user of the configured app, that dials from the running gateway', async () => {
    child = npmStart(cleanEnv({ PORT: String(await freePort()) }));

    const banner = await waitForOutput(child, MAKE_CALL_CURL, 15_000);
    const [, from, url] = banner.match(MAKE_CALL_CURL) ?? [];
    const response = await fetch(url ?? '', {
      method: 'POST',
      body: new URLSearchParams({ to: '+14155550123', From: from ?? '' }),
    });

    expect(await response.text()).toContain('<Number>+14155550123</Number>');
  });

  describe('with SECRET_ID (a loopback Secrets Manager endpoint the real AWS SDK talks to)', () => {
    const STORED = {
      TWILIO_API_KEY: `SK${'9f'.repeat(16)}`,
      TWILIO_API_KEY_SECRET: 'api-key-secret-stored-in-secrets-manager',
      JWT_SECRET: 'jwt-secret-stored-in-secrets-manager',
    };
    let endpoint: SecretsManagerEndpoint;
    beforeAll(async () => {
      endpoint = await startSecretsManagerEndpoint({ secretString: JSON.stringify(STORED) });
    });
    afterAll(() => endpoint.close());
    const secretEnv = (extra: Record<string, string> = {}) =>
      cleanEnv({
        SECRET_ID: 'voice/local',
        AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint.url,
        AWS_ACCESS_KEY_ID: 'AKIDLOCALTEST',
        AWS_SECRET_ACCESS_KEY: 'local-test-secret-access-key',
        AWS_REGION: 'us-east-1',
        ...extra,
      });

    it('warns that make_call does not check signatures when the secret has no TWILIO_AUTH_TOKEN', async () => {
      child = npmStart(secretEnv({ PORT: String(await freePort()) }));

      const banner = await waitForOutput(child, MAKE_CALL_CURL, 15_000);

      expect(banner).toContain(
        'The secret named by SECRET_ID has no TWILIO_AUTH_TOKEN: make_call does NOT check Twilio signatures',
      );
    });

    it('prints no token signed with the secret’s JWT_SECRET, only the npm run token line, which works', async () => {
      const port = await freePort();
      child = npmStart(secretEnv({ PORT: String(port) }));

      const banner = await waitForOutput(child, MAKE_CALL_CURL, 15_000);
      const { stdout: token } = await promisify(execFile)('npm', ['run', '--silent', 'token', '--', '--user', '42'], {
        cwd: REPO,
        env: secretEnv(),
        timeout: 15_000,
      });
      const response = await fetch(`http://127.0.0.1:${port}/api/v1/call_token?type=apns`, {
        headers: { Authorization: `Bearer ${token.trim()}` },
      });

      expect(banner).not.toMatch(/[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}/);
      expect(banner).toContain('\n  TOKEN=$(npm run --silent token -- --user 42)\n');
      expect(banner).toContain(`curl -s -H "Authorization: Bearer $TOKEN" 'http://127.0.0.1:${port}/api/v1/call_token`);
      expect(response.status).toBe(200);
    });
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
