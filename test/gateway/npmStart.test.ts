/**
 * The two commands a newcomer types, run as real processes: `npm start` (the banner's
 * curl line must return a token; the call limits on, in an in-memory dynalite or
 * AWS_ENDPOINT_URL_DYNAMODB's server) and `npm run --silent token -- --user 42`.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { jwtVerify } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseXml } from '../call/xml.js';
import {
  createCallLimitsTable,
  describeTable,
  dynamoClient,
  startDynalite,
  useDynalite,
} from '../support/dynamoLocal.js';
import { cleanEnv, spawnNpmStart, stopProcessGroup } from '../support/gatewayProcess.js';
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

/** Resolves with the exit code and everything printed on stderr, once the process has exited. */
function exitOf(child: ChildProcess, timeoutMs: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms:\n${stderr}`)), timeoutMs);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/** The banner's last line: everything is printed once it is there. */
const MAKE_CALL_CURL =
  /curl -s -X POST --data-urlencode 'to=\+14155550123' --data-urlencode 'From=(client:AP[0-9a-f]{32}_uid42)' --data-urlencode "CallSid=CA\$\(openssl rand -hex 16\)" '(http:\/\/[^']+\/api\/v1\/make_call)'/;

describe('npm start', () => {
  let child: ChildProcess | undefined;
  afterEach(async () => {
    await stopProcessGroup(child);
    child = undefined;
  });

  it('listens on PORT and prints a curl line that returns a Twilio token from the running gateway', async () => {
    const port = await freePort();
    child = spawnNpmStart(cleanEnv({ PORT: String(port) }));
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
    child = spawnNpmStart(cleanEnv({ PORT: String(await freePort()) }));

    const banner = await waitForOutput(child, MAKE_CALL_CURL, 15_000);
    const [, from, url] = banner.match(MAKE_CALL_CURL) ?? [];
    const response = await fetch(url ?? '', {
      method: 'POST',
      // What the line's `$(openssl rand -hex 16)` gives: a fresh CallSid.
      body: new URLSearchParams({
        to: '+14155550123',
        From: from ?? '',
        CallSid: `CA${randomBytes(16).toString('hex')}`,
      }),
    });

    // With the call limits on (npm start’s default), the status callbacks are on too: the URL names whose slot to free.
    const number = parseXml(await response.text()).root.children[0]?.children[0];
    expect(number?.name).toBe('Number');
    expect(number?.text).toBe('+14155550123');
    expect(number?.attributes.statusCallback).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v1\/call_status\?caller=42$/);
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
      cleanEnv({ SECRET_ID: 'voice/local', ...endpoint.awsSdkEnv(), ...extra });

    it('warns that make_call does not check signatures when the secret has no TWILIO_AUTH_TOKEN', async () => {
      child = spawnNpmStart(secretEnv({ PORT: String(await freePort()) }));

      const banner = await waitForOutput(child, MAKE_CALL_CURL, 15_000);

      expect(banner).toContain(
        'The secret named by SECRET_ID has no TWILIO_AUTH_TOKEN: make_call does NOT check Twilio signatures',
      );
    });

    it('prints no token signed with the secret’s JWT_SECRET, only the npm run token line, which works', async () => {
      const port = await freePort();
      child = spawnNpmStart(secretEnv({ PORT: String(port) }));

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

describe('npm start: the call limits', () => {
  let child: ChildProcess | undefined;
  afterEach(async () => {
    await stopProcessGroup(child);
    child = undefined;
  });
  const DEFAULT_LIMITS = [
    '  Per caller: 10 phone calls an hour (MAX_PHONE_CALLS_PER_HOUR), 30 a day (MAX_PHONE_CALLS_PER_DAY), ' +
      '1 at a time (MAX_CONCURRENT_PHONE_CALLS); 60 app-to-app calls an hour (MAX_CLIENT_CALLS_PER_HOUR).',
    '  Service-wide: 100 phone calls a minute (MAX_PHONE_CALLS_PER_MINUTE).',
    '  When the table cannot be read in time, calls go through unchecked: fail-open (CALL_LIMITS_FAIL_CLOSED=false).',
  ].join('\n');
  const IN_MEMORY =
    /Call limits: ON, counted in DynamoDB table voice-call-limits on an in-memory dynalite at (http:\/\/127\.0\.0\.1:\d+) \(emptied when npm start stops\)\./;

  it('are on by default, in an in-memory dynalite holding voice-call-limits, and the banner gives their default values', async () => {
    child = spawnNpmStart(cleanEnv({ PORT: String(await freePort()) }));

    const banner = await waitForOutput(child, MAKE_CALL_CURL, 15_000);
    const [, endpoint] = banner.match(IN_MEMORY) ?? [];
    const table = await describeTable(endpoint ?? '', 'voice-call-limits');

    expect(endpoint).toBeDefined();
    expect(banner).toContain(DEFAULT_LIMITS);
    expect(banner).toContain('  LOCAL_CALL_LIMITS=off switches them off.');
    expect(table?.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect(table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
  });

  it('are off with LOCAL_CALL_LIMITS=off, and the banner says so', async () => {
    child = spawnNpmStart(cleanEnv({ PORT: String(await freePort()), LOCAL_CALL_LIMITS: 'off' }));

    const banner = await waitForOutput(child, MAKE_CALL_CURL, 15_000);

    expect(banner).toContain(
      '\nCall limits: OFF (LOCAL_CALL_LIMITS=off): make_call counts no calls. Unset it to switch them on.\n',
    );
    expect(banner).not.toMatch(/Call limits: ON|dynalite|phone calls an hour/);
  });

  describe('with AWS_ENDPOINT_URL_DYNAMODB (a dynalite this test started)', () => {
    const server = useDynalite();

    it('creates voice-call-limits on that server, starts no dynalite of its own, and says where the limits are', async () => {
      child = spawnNpmStart(cleanEnv({ PORT: String(await freePort()), AWS_ENDPOINT_URL_DYNAMODB: server.endpoint }));

      const banner = await waitForOutput(child, MAKE_CALL_CURL, 15_000);
      const table = await describeTable(server.endpoint, 'voice-call-limits');

      expect(banner).toContain(
        `\nCall limits: ON, counted in DynamoDB table voice-call-limits on AWS_ENDPOINT_URL_DYNAMODB ${server.endpoint}.\n`,
      );
      expect(banner).toContain(DEFAULT_LIMITS);
      expect(banner).not.toContain('in-memory');
      expect(table?.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
      expect(table?.AttributeDefinitions).toEqual([{ AttributeName: 'pk', AttributeType: 'S' }]);
    });

    it('uses the CALL_LIMITS_TABLE already there, creating no other', async () => {
      const fresh = await startDynalite();
      try {
        await createCallLimitsTable(fresh.endpoint, 'team-call-limits');
        child = spawnNpmStart(
          cleanEnv({
            PORT: String(await freePort()),
            AWS_ENDPOINT_URL_DYNAMODB: fresh.endpoint,
            CALL_LIMITS_TABLE: 'team-call-limits',
            MAX_PHONE_CALLS_PER_HOUR: '4',
          }),
        );

        const banner = await waitForOutput(child, MAKE_CALL_CURL, 15_000);
        const client = dynamoClient(fresh.endpoint);
        const { TableNames } = await client.send(new ListTablesCommand({}));
        client.destroy();

        expect(banner).toContain(`DynamoDB table team-call-limits on AWS_ENDPOINT_URL_DYNAMODB ${fresh.endpoint}.`);
        expect(banner).toContain('  Per caller: 4 phone calls an hour (MAX_PHONE_CALLS_PER_HOUR)');
        expect(TableNames).toEqual(['team-call-limits']);
      } finally {
        await stopProcessGroup(child);
        await fresh.close();
      }
    });
  });

  it('does not start when AWS_ENDPOINT_URL_DYNAMODB does not answer, and says how to start without the limits', async () => {
    const gone = await startDynalite();
    await gone.close();
    child = spawnNpmStart(cleanEnv({ PORT: String(await freePort()), AWS_ENDPOINT_URL_DYNAMODB: gone.endpoint }));

    const { code, stderr } = await exitOf(child, 15_000);

    expect(code).not.toBe(0);
    expect(stderr).toContain(
      `npm start: the call limits could not be set up (AWS_ENDPOINT_URL_DYNAMODB ${gone.endpoint}): connect ECONNREFUSED`,
    );
    expect(stderr).toContain('Fix that, or set LOCAL_CALL_LIMITS=off to start without them.');
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
