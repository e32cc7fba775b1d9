/**
 * The deployed bundles find each file they load on first use, in a fresh `node` as Lambda
 * runs them (their own directory, no NODE_OPTIONS). make_call, with the secrets in a loopback
 * Secrets Manager, the call limits in dynalite and Slack on loopback: two calls of one caller
 * (the second refused: one call at a time) need the Secrets Manager client (the secrets), the
 * DynamoDB client (the limits) and Slack's client (the refusal's alert); its Powertools
 * Metrics is in the entry. And for every function, each file its entry imports on first use
 * (the authorizer's Powertools Metrics among them) exports what lib/ takes from it: a file
 * the entry names in the wrong place, or one that exports the wrong names, fails here.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuiltFunction, buildAll } from '../../infra/build.js';
import { BUNDLE_FILE } from '../../infra/bundling.js';
import { FUNCTION_NAMES } from '../../infra/settings.js';
import { CALL_LIMITS_TABLE_SCHEMA } from '../../lib/callLimitsTable.js';
import type { FunctionName } from '../../lib/functionFields.js';
import { AUTH_TOKEN, CALL_SID, callEvent, POLICY_ENV } from '../call/harness.js';
import { awsSdkEnvFor, createCallLimitsTable, dynamoClient, useDynalite } from '../support/dynamoLocal.js';
import { type SecretsManagerEndpoint, startSecretsManagerEndpoint } from '../support/secretsManagerEndpoint.js';
import { type SlackReceiver, startSlackReceiver } from '../support/slackReceiver.js';
import { removeOutdirs, tempOutdir } from './stackFixture.js';

const TABLE = 'voice-call-limits-bundle';
const SECRET_ID = 'voice/bundle';
const DIALED = '+14155552671';
const first = callEvent({ params: { to: DIALED } });
const second = callEvent({ params: { to: DIALED, CallSid: `CA${'9'.repeat(32)}` } });

/** Imports the bundle, answers the events in turn, and reports the answers. */
const CHILD = `
const { bundle, events } = JSON.parse(process.env.CHILD_INPUT);
const { handler } = await import(new URL('file://' + bundle).href);
const answers = [];
for (const event of events) answers.push(await handler(event));
process.stderr.write('\\nCHILD ' + JSON.stringify(answers) + '\\n');
process.exit(0);
`;

interface ChildRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

function runChild(cwd: string, env: Record<string, string>): Promise<ChildRun & { answers: unknown[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], { cwd, env });
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
      const report = stderr.split('\n').find((line) => line.startsWith('CHILD ')) ?? 'CHILD []';
      resolve({ status, stdout, stderr, answers: JSON.parse(report.slice('CHILD '.length)) });
    });
  });
}

const dynalite = useDynalite();
let built: Record<FunctionName, BuiltFunction>;
let outdir: string;
let secrets: SecretsManagerEndpoint;
let slack: SlackReceiver;
let run: ChildRun;
let answers: { statusCode: number; body: string }[];
const emfLines = (stdout: string) => stdout.split('\n').filter((line) => line.includes('"_aws"'));

beforeAll(async () => {
  built = Object.fromEntries(buildAll(tempOutdir()).map((b) => [b.name, b])) as typeof built;
  outdir = built.makeCall.outdir;
  slack = await startSlackReceiver();
  secrets = await startSecretsManagerEndpoint({
    secretString: JSON.stringify({ TWILIO_AUTH_TOKEN: AUTH_TOKEN, SLACK_WEBHOOK_URL: slack.url }),
  });
  await createCallLimitsTable(dynalite.endpoint, TABLE);
  const { TWILIO_AUTH_TOKEN: _fromTheStore, ...settings } = POLICY_ENV;
  const made = await runChild(outdir, {
    PATH: process.env.PATH ?? '',
    AWS_REGION: 'us-east-1',
    ...settings,
    SECRET_ID,
    CALL_LIMITS_TABLE: TABLE,
    CALL_STATUS_CALLBACK: 'true',
    ...secrets.awsSdkEnv(),
    ...awsSdkEnvFor(dynalite.endpoint),
    CHILD_INPUT: JSON.stringify({ bundle: join(outdir, BUNDLE_FILE), events: [first, second] }),
  });
  run = made;
  answers = made.answers as typeof answers;
}, 60_000);
afterAll(async () => {
  await secrets?.close();
  await slack?.close();
  removeOutdirs();
});

describe('make_call bundle, as deployed, with every on-demand file in use', () => {
  it('has its three on-demand files beside the entry', () => {
    expect(readdirSync(join(outdir, 'chunks'))).toEqual(
      expect.arrayContaining([
        'aws-sdk-client-secrets-manager.mjs',
        'aws-sdk-client-dynamodb.mjs',
        'slack-webhook.mjs',
      ]),
    );
  });

  it('answers both calls: the first dialed, the second refused by the one-call-at-a-time limit', () => {
    expect(run.status, run.stderr.slice(-800)).toBe(0);
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200]);
    expect(answers[0]?.body).toContain(`<Number`);
    expect(answers[0]?.body).toContain(DIALED);
    expect(answers[1]?.body).not.toContain('<Dial');
    expect(answers[1]?.body).toContain('limit of calls');
  });

  it('read its secrets from Secrets Manager, once', () => {
    expect(secrets.requests.map((r) => r.secretId)).toEqual([SECRET_ID]);
  });

  it('counted the first call in DynamoDB: the caller holds its slot', async () => {
    const client = dynamoClient(dynalite.endpoint);
    try {
      const { Item } = await client.send(
        new GetItemCommand({
          TableName: TABLE,
          Key: { [CALL_LIMITS_TABLE_SCHEMA.partitionKey]: { S: 'u#42#phone' } },
          ConsistentRead: true,
        }),
      );
      expect(Item?.slots?.SS).toEqual([CALL_SID]);
    } finally {
      client.destroy();
    }
  });

  it('sent the refusal’s alert to Slack', () => {
    expect(slack.received).toHaveLength(1);
    expect(JSON.stringify(slack.received[0]?.body)).toContain('call limit');
  });

  it('wrote its metrics as EMF lines on stdout', () => {
    expect(emfLines(run.stdout).join('\n')).toContain('"CallRouted"');
  });
});

/** What lib/ takes from each package it imports on first use (secrets.ts, callLimitStore.ts, alerts.ts, metrics.ts). */
const USED_EXPORTS: Record<string, string[]> = {
  'aws-sdk-client-secrets-manager.mjs': ['SecretsManagerClient', 'GetSecretValueCommand'],
  'aws-sdk-client-dynamodb.mjs': ['DynamoDBClient', 'UpdateItemCommand', 'GetItemCommand'],
  'slack-webhook.mjs': ['IncomingWebhook'],
  'powertools-metrics.mjs': ['Metrics'],
};

describe.each(FUNCTION_NAMES)('%s bundle: the files it imports on first use', (name) => {
  let dir: string;
  let named: string[];
  beforeAll(() => {
    dir = built[name].outdir;
    const entry = built[name].metafile.outputs[`dist/${name}/${BUNDLE_FILE}`];
    named = (entry?.imports ?? []).flatMap((i) => i.path.match(/^\.\/chunks\/(.+)$/)?.[1] ?? []);
  });

  it('are each one lib/ imports, and export what lib/ takes from it', async () => {
    expect(named.length).toBeGreaterThan(0);
    for (const file of named) {
      expect(Object.keys(USED_EXPORTS), file).toContain(file);
      const module = (await import(pathToFileURL(join(dir, 'chunks', file)).href)) as Record<string, unknown>;
      for (const used of USED_EXPORTS[file] ?? []) expect(typeof module[used], `${file}: ${used}`).toBe('function');
    }
  });
});
