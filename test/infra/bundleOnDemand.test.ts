/**
 * The deployed make_call bundle finds each file it loads on first use, in a fresh `node` as
 * Lambda runs it (its own directory, no NODE_OPTIONS): with the secrets in a loopback
 * Secrets Manager, the call limits in dynalite and Slack on loopback: two calls of one caller
 * (the second refused: one call at a time) need the Secrets Manager client (the secrets), the
 * DynamoDB client (the limits) and Slack's client (the refusal's alert); its Powertools
 * Metrics is in the entry. (That every on-demand file of every function exports what lib/
 * takes from it is test/infra/bundling.test.ts's.)
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_FILE, bundleFunction } from '../../infra/bundling.js';
import { CALL_LIMITS_TABLE_SCHEMA } from '../../lib/callLimitsTable.js';
import { AUTH_TOKEN, CALL_SID, callEvent, POLICY_ENV } from '../call/harness.js';
import { awsSdkEnvFor, createCallLimitsTable, dynamoClient, useDynalite } from '../support/dynamoLocal.js';
import { type FreshNodeRun, runInFreshNode } from '../support/freshNode.js';
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

const dynalite = useDynalite();
let outdir: string;
let secrets: SecretsManagerEndpoint;
let slack: SlackReceiver;
let run: FreshNodeRun;
let answers: { statusCode: number; body: string }[];
const emfLines = (stdout: string) => stdout.split('\n').filter((line) => line.includes('"_aws"'));

beforeAll(async () => {
  outdir = tempOutdir();
  bundleFunction('makeCall', outdir);
  slack = await startSlackReceiver();
  secrets = await startSecretsManagerEndpoint({
    secretString: JSON.stringify({ TWILIO_AUTH_TOKEN: AUTH_TOKEN, SLACK_WEBHOOK_URL: slack.url }),
  });
  await createCallLimitsTable(dynalite.endpoint, TABLE);
  const { TWILIO_AUTH_TOKEN: _fromTheStore, ...settings } = POLICY_ENV;
  run = await runInFreshNode(CHILD, {
    cwd: outdir,
    env: {
      PATH: process.env.PATH ?? '',
      AWS_REGION: 'us-east-1',
      ...settings,
      SECRET_ID,
      CALL_LIMITS_TABLE: TABLE,
      CALL_STATUS_CALLBACK: 'true',
      ...secrets.awsSdkEnv(),
      ...awsSdkEnvFor(dynalite.endpoint),
      CHILD_INPUT: JSON.stringify({ bundle: join(outdir, BUNDLE_FILE), events: [first, second] }),
    },
  });
  answers = (run.report ?? []) as typeof answers;
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
