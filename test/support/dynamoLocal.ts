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
import { reusedConnections } from './reusedConnections.js';

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

type DynamoError = 'InternalServerError' | 'ConditionalCheckFailedException';

export interface FaultyDynamo {
  /** `http://127.0.0.1:<port>`: DynamoDB (the target) behind the delay. */
  endpoint: string;
  /** How long each answer is held back from now on. */
  delayMs: number;
  /**
   * A request this names an error for is not forwarded: DynamoDB's answer with that error
   * instead (InternalServerError 500; ConditionalCheckFailedException 400, the write refused).
   */
  failWith?: (body: string) => DynamoError | undefined;
  /**
   * A request on a connection that has been answered before finds it closed (its socket
   * destroyed unread), as when DynamoDB closed a kept-alive connection while the container
   * was frozen; the first request on each connection goes through.
   */
  closeReusedConnections?: boolean;
  /** Requests that found their connection closed so far. */
  closedOnReuse: number;
  /** Requests received so far, whatever became of them. */
  requests: number;
  /** Every request forwarded so far has been answered (or its client went away). */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/**
 * DynamoDB slow or failing: a loopback proxy that forwards each request to `target` at once
 * (the write lands) and holds the answer back `delayMs`, as a store that is slow to answer
 * is seen from the client; or, for requests `failWith` picks, fails them unforwarded.
 */
export async function faultyDynamo(target: string, delayMs: number): Promise<FaultyDynamo> {
  const { createServer, request } = await import('node:http');
  const pending = new Set<Promise<void>>();
  // The proxy reads its behaviour from the object it returns: a test sets delayMs or failWith on it.
  let proxy: FaultyDynamo | undefined;
  const reused = reusedConnections();
  const server = createServer((incoming, outgoing) => {
    const done = new Promise<void>((resolve) => outgoing.on('close', resolve));
    pending.add(done);
    void done.then(() => pending.delete(done));
    if (proxy) proxy.requests++;
    if (reused(incoming.socket) && proxy?.closeReusedConnections) {
      proxy.closedOnReuse++;
      incoming.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      const error = proxy?.failWith?.(body.toString());
      if (error) {
        outgoing.writeHead(error === 'InternalServerError' ? 500 : 400, {
          'content-type': 'application/x-amz-json-1.0',
        });
        outgoing.end(JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${error}`, message: 'injected' }));
        return;
      }
      const forward = request(
        `${target}${incoming.url ?? '/'}`,
        { method: incoming.method, headers: incoming.headers },
        (answer) => {
          const answered: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => answered.push(chunk));
          answer.on('end', () =>
            setTimeout(() => {
              outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
              outgoing.end(Buffer.concat(answered));
            }, proxy?.delayMs ?? delayMs),
          );
        },
      );
      forward.on('error', () => outgoing.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as import('node:net').AddressInfo;
  proxy = {
    endpoint: `http://127.0.0.1:${port}`,
    delayMs,
    closedOnReuse: 0,
    requests: 0,
    async settled() {
      while (pending.size > 0) await Promise.all(pending);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return proxy;
}
