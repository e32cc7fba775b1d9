/**
 * The call limits' table for `npm start` (infra/local/localDynamo.ts): an in-memory dynalite
 * of its own, or AWS_ENDPOINT_URL_DYNAMODB's server, with the table created there through
 * the real AWS SDK — checked from outside with the SDK too. Each test hands in its own
 * process environment, so the test runner's is never touched.
 */
import { CreateTableCommand, ListTablesCommand, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  LOCAL_CALL_LIMITS,
  localCallLimitsOn,
  startLocalDynamo,
  withLocalCallLimits,
} from '../../infra/local/localDynamo.js';
import { CALL_LIMITS_TABLE_SCHEMA, LOCAL_CALL_LIMITS_TABLE } from '../../lib/callLimitsTable.js';
import { ConfigError } from '../../lib/config.js';
import { DUMMY_AWS_ENV } from '../support/dummyAws.js';
import {
  createCallLimitsTable,
  describeTable,
  dynamoClient,
  startDynalite,
  useDynalite,
} from '../support/dynamoLocal.js';

async function tableNames(endpoint: string): Promise<string[]> {
  const client = dynamoClient(endpoint);
  try {
    return (await client.send(new ListTablesCommand({}))).TableNames ?? [];
  } finally {
    client.destroy();
  }
}

/** The table as the call limits need it: `pk` (S) alone, on demand. */
function expectCallLimitsTable(table: Awaited<ReturnType<typeof describeTable>>, name: string) {
  expect(table?.TableName).toBe(name);
  expect(table?.TableStatus).toBe('ACTIVE');
  expect(table?.KeySchema).toEqual([{ AttributeName: CALL_LIMITS_TABLE_SCHEMA.partitionKey, KeyType: 'HASH' }]);
  expect(table?.AttributeDefinitions).toEqual([
    { AttributeName: CALL_LIMITS_TABLE_SCHEMA.partitionKey, AttributeType: 'S' },
  ]);
  expect(table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
}

describe('LOCAL_CALL_LIMITS', () => {
  it('is on unless set to off', () => {
    expect(localCallLimitsOn({})).toBe(true);
    expect(localCallLimitsOn({ [LOCAL_CALL_LIMITS]: '' })).toBe(true);
    expect(localCallLimitsOn({ [LOCAL_CALL_LIMITS]: 'on' })).toBe(true);
    expect(localCallLimitsOn({ [LOCAL_CALL_LIMITS]: 'off' })).toBe(false);
  });

  it.each(['OFF', 'false', 'no', '0', 'of'])('refuses %j: a typo must not silently mean on or off', (value) => {
    expect(() => localCallLimitsOn({ LOCAL_CALL_LIMITS: value })).toThrow(
      new ConfigError(['LOCAL_CALL_LIMITS must be on or off']),
    );
  });
});

describe('startLocalDynamo', () => {
  it('with LOCAL_CALL_LIMITS=off starts nothing and changes nothing; the functions get no CALL_LIMITS_TABLE', async () => {
    const processEnvironment: NodeJS.ProcessEnv = {};
    const settings = { LOCAL_CALL_LIMITS: 'off', CALL_LIMITS_TABLE: 'from-dot-env' };

    const dynamo = await startLocalDynamo(settings, processEnvironment);

    expect(dynamo).toBeUndefined();
    expect(processEnvironment).toEqual({});
    expect(withLocalCallLimits(settings, dynamo).CALL_LIMITS_TABLE).toBeUndefined();
  });

  it('starts an in-memory dynalite, creates voice-call-limits in it and points the functions and the SDK at it', async () => {
    const processEnvironment: NodeJS.ProcessEnv = {};

    const dynamo = await startLocalDynamo({ TWILIO_FROM: '+15005550006' }, processEnvironment);
    try {
      expect(dynamo?.inMemory).toBe(true);
      expect(dynamo?.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const endpoint = dynamo?.endpoint ?? '';
      expect(dynamo?.table).toBe(LOCAL_CALL_LIMITS_TABLE);
      expect(dynamo?.ttl).toBe(false); // dynalite has no UpdateTimeToLive: tolerated
      expect(withLocalCallLimits({ TWILIO_FROM: '+15005550006' }, dynamo)).toEqual({
        TWILIO_FROM: '+15005550006',
        AWS_ENDPOINT_URL_DYNAMODB: endpoint,
        CALL_LIMITS_TABLE: 'voice-call-limits',
        // Only a call's completed callback frees its slot: on unless given.
        CALL_STATUS_CALLBACK: 'true',
      });
      expect(withLocalCallLimits({ CALL_STATUS_CALLBACK: 'false' }, dynamo).CALL_STATUS_CALLBACK).toBe('false');
      // The SDK reads the endpoint from the process environment; a dynalite takes any credentials.
      expect(processEnvironment).toEqual({
        AWS_ENDPOINT_URL_DYNAMODB: endpoint,
        AWS_ACCESS_KEY_ID: expect.any(String),
        AWS_SECRET_ACCESS_KEY: expect.any(String),
        AWS_REGION: 'us-east-1',
      });
      expectCallLimitsTable(await describeTable(endpoint, 'voice-call-limits'), 'voice-call-limits');
    } finally {
      await dynamo?.close();
    }
    await expect(tableNames(dynamo?.endpoint ?? '')).rejects.toThrow();
  });

  it('creates the table CALL_LIMITS_TABLE names, and keeps the credentials and region already set', async () => {
    const processEnvironment: NodeJS.ProcessEnv = { ...DUMMY_AWS_ENV, AWS_REGION: 'eu-west-1' };

    const dynamo = await startLocalDynamo({ CALL_LIMITS_TABLE: 'my.call-limits_1' }, processEnvironment);
    try {
      expect(dynamo?.table).toBe('my.call-limits_1');
      expect(await tableNames(dynamo?.endpoint ?? '')).toEqual(['my.call-limits_1']);
      expect(processEnvironment).toEqual({
        ...DUMMY_AWS_ENV,
        AWS_REGION: 'eu-west-1',
        AWS_ENDPOINT_URL_DYNAMODB: dynamo?.endpoint,
      });
    } finally {
      await dynamo?.close();
    }
  });

  it('refuses a CALL_LIMITS_TABLE that is no table name, and starts no server', async () => {
    const processEnvironment: NodeJS.ProcessEnv = {};

    await expect(startLocalDynamo({ CALL_LIMITS_TABLE: 'no' }, processEnvironment)).rejects.toThrow(
      /CALL_LIMITS_TABLE must be a DynamoDB table name/,
    );
    expect(processEnvironment).toEqual({});
  });

  describe('with AWS_ENDPOINT_URL_DYNAMODB (a dynalite this test started)', () => {
    const server = useDynalite();

    it('uses that endpoint, starts none of its own, and creates voice-call-limits there', async () => {
      const processEnvironment: NodeJS.ProcessEnv = {};

      const dynamo = await startLocalDynamo({ AWS_ENDPOINT_URL_DYNAMODB: server.endpoint }, processEnvironment);
      await dynamo?.close(); // nothing of its own to stop: the table stays

      expect(dynamo).toMatchObject({ endpoint: server.endpoint, inMemory: false, table: 'voice-call-limits' });
      expect(processEnvironment.AWS_ENDPOINT_URL_DYNAMODB).toBe(server.endpoint);
      expectCallLimitsTable(await describeTable(server.endpoint, 'voice-call-limits'), 'voice-call-limits');
    });

    it('uses a CALL_LIMITS_TABLE that is already there', async () => {
      await createCallLimitsTable(server.endpoint, 'existing-limits');

      const dynamo = await startLocalDynamo(
        { AWS_ENDPOINT_URL_DYNAMODB: server.endpoint, CALL_LIMITS_TABLE: 'existing-limits' },
        { ...DUMMY_AWS_ENV },
      );

      expect(dynamo?.env).toEqual({ AWS_ENDPOINT_URL_DYNAMODB: server.endpoint, CALL_LIMITS_TABLE: 'existing-limits' });
      expectCallLimitsTable(await describeTable(server.endpoint, 'existing-limits'), 'existing-limits');
    });

    it('refuses a table of that name with another key', async () => {
      const client = dynamoClient(server.endpoint);
      await client.send(
        new CreateTableCommand({
          TableName: 'wrong-key',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      client.destroy();

      await expect(
        startLocalDynamo({ AWS_ENDPOINT_URL_DYNAMODB: server.endpoint, CALL_LIMITS_TABLE: 'wrong-key' }, {}),
      ).rejects.toThrow('the table wrong-key exists with another key: the call limits need partition key pk (S) alone');
    });
  });

  it('fails, rather than starting without the limits, when AWS_ENDPOINT_URL_DYNAMODB does not answer', async () => {
    const gone = await startDynalite();
    await gone.close();

    await expect(startLocalDynamo({ AWS_ENDPOINT_URL_DYNAMODB: gone.endpoint }, {})).rejects.toThrow(/ECONNREFUSED/);
  });

  it('refuses an AWS_ENDPOINT_URL_DYNAMODB that is no http(s) URL', async () => {
    await expect(startLocalDynamo({ AWS_ENDPOINT_URL_DYNAMODB: '127.0.0.1:8000' }, {})).rejects.toThrow(
      'AWS_ENDPOINT_URL_DYNAMODB must be an absolute URL',
    );
    await expect(startLocalDynamo({ AWS_ENDPOINT_URL_DYNAMODB: 'localhost:8000' }, {})).rejects.toThrow(
      'AWS_ENDPOINT_URL_DYNAMODB must be a URL starting with http:// or https://',
    );
  });
});

describe('createCallLimitsTable (test/support/dynamoLocal.ts)', () => {
  const server = useDynalite();

  it('creates the table once; a second call finds it there', async () => {
    expect(await createCallLimitsTable(server.endpoint, 'twice')).toEqual({ existed: false, ttl: false });
    expect(await createCallLimitsTable(server.endpoint, 'twice')).toEqual({ existed: true, ttl: false });
    await expect(describeTable(server.endpoint, 'nowhere')).rejects.toBeInstanceOf(ResourceNotFoundException);
  });
});
