/**
 * DynamoDB for tests: an in-memory dynalite on a loopback port (the same server `npm start`
 * runs), the call-limits table created in it exactly as `npm start` creates it, and an SDK
 * client with dummy credentials to look inside.
 */
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import {
  type CreatedTable,
  createCallLimitsTable as createTable,
  startDynalite as startServer,
} from '../../infra/local/localDynamo.js';
import { DUMMY_AWS, DUMMY_AWS_ENV } from './dummyAws.js';

export interface DynaliteServer {
  /** `http://127.0.0.1:<port>`: for `endpoint`, or AWS_ENDPOINT_URL_DYNAMODB. */
  endpoint: string;
  close(): Promise<void>;
}

/** An in-memory dynalite on 127.0.0.1 and a free port; tables are ACTIVE at once. */
export function startDynalite(): Promise<DynaliteServer> {
  return startServer();
}

/** The call-limits table (`pk` (S), on demand), created at `endpoint` unless it is there. */
export function createCallLimitsTable(endpoint: string, name: string): Promise<CreatedTable> {
  return createTable(endpoint, name, DUMMY_AWS);
}

/** The environment that points the AWS SDK at `endpoint`, dynalite's dummy credentials with it. */
export function awsSdkEnvFor(endpoint: string): Record<string, string> {
  return { AWS_ENDPOINT_URL_DYNAMODB: endpoint, ...DUMMY_AWS_ENV };
}

/** A table as DynamoDB describes it, read through the SDK from outside the code under test. */
export async function describeTable(endpoint: string, name: string) {
  const client = dynamoClient(endpoint);
  try {
    return (await client.send(new DescribeTableCommand({ TableName: name }))).Table;
  } finally {
    client.destroy();
  }
}

/** A DynamoDB client for `endpoint`; destroy() it when done. */
export function dynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, ...DUMMY_AWS });
}

/** A dynalite for the enclosing suite: started before its tests, stopped after them. */
export function useDynalite(): { readonly endpoint: string } {
  let server: DynaliteServer | undefined;
  beforeAll(async () => {
    server = await startDynalite();
  });
  afterAll(() => server?.close());
  return {
    get endpoint() {
      if (!server) throw new Error('useDynalite: the server starts in beforeAll');
      return server.endpoint;
    },
  };
}
