/**
 * A loopback endpoint that speaks the Secrets Manager JSON protocol (GetSecretValue), so
 * the real AWS SDK can be pointed at it with AWS_ENDPOINT_URL_SECRETS_MANAGER.
 */
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { DUMMY_AWS_ENV } from './dummyAws.js';
import { reusedConnections } from './reusedConnections.js';

export type SecretBehaviour =
  | { secretString: string }
  | { error: string; status: number }
  /** An answer that is not the protocol's JSON (a proxy's error page, say). */
  | { raw: string; status: number }
  /** The behaviour, after a delay. */
  | { delayMs: number; answer: SecretBehaviour }
  /**
   * The behaviour for the first request on each connection; a later request on it finds it
   * closed (its socket destroyed, no answer), as when the store closed a kept-alive
   * connection while the container was frozen.
   */
  | { closeReusedConnections: SecretBehaviour }
  /** Every request's connection closed with no answer: a store whose connections all break. */
  | 'reset'
  /** An answer begun (200, its headers and part of its body), then the connection closed. */
  | 'cut-off'
  | 'hang';

/** A behaviour with its delays and connection rule resolved: what one request gets. */
type Answer = Exclude<SecretBehaviour, { delayMs: number } | { closeReusedConnections: SecretBehaviour }>;

export interface SecretsManagerEndpoint {
  url: string;
  /** What the next requests get; change it between calls. */
  behaviour: SecretBehaviour;
  requests: { target: string | undefined; secretId: unknown }[];
  /** The environment that points the AWS SDK at this endpoint, with dummy credentials: for a child process. */
  awsSdkEnv(): Record<string, string>;
  /** Points this process's AWS SDK at this endpoint with dummy credentials; returns a function that undoes it. */
  useForAwsSdk(): () => void;
  close(): Promise<void>;
}

/** The endpoint, not yet listening: `listen()` gives it its URL. */
function secretsManagerEndpoint(behaviour: SecretBehaviour): SecretsManagerEndpoint & { listen(): Promise<void> } {
  const endpoint = { behaviour, requests: [] } as unknown as SecretsManagerEndpoint & { listen(): Promise<void> };
  const reused = reusedConnections();
  /** What this request gets, once its delays are waited out and its connection is known. */
  const settled = async (behaviour: SecretBehaviour, socket: Socket): Promise<Answer> => {
    if (typeof behaviour !== 'object') return behaviour;
    if ('closeReusedConnections' in behaviour) {
      return settled(reused(socket) ? 'reset' : behaviour.closeReusedConnections, socket);
    }
    if ('delayMs' in behaviour) {
      await new Promise((resolve) => setTimeout(resolve, behaviour.delayMs));
      return settled(behaviour.answer, socket);
    }
    return behaviour;
  };
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    const target = request.headers['x-amz-target'] as string | undefined;
    endpoint.requests.push({ target, secretId: body.SecretId });
    const current = await settled(endpoint.behaviour, request.socket);
    if (current === 'reset') {
      request.socket.destroy();
      return;
    }
    if (current === 'hang') return;
    if (current === 'cut-off') {
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': '500' });
      response.write('{"Name":');
      setTimeout(() => request.socket.destroy(), 20);
      return;
    }
    if ('raw' in current) {
      response.writeHead(current.status, { 'content-type': 'text/html' }).end(current.raw);
      return;
    }
    response.setHeader('content-type', 'application/x-amz-json-1.1');
    if (target !== 'secretsmanager.GetSecretValue') {
      response.writeHead(400).end(JSON.stringify({ __type: 'UnknownOperationException', message: 'unknown' }));
    } else if ('error' in current) {
      response
        .writeHead(current.status)
        .end(JSON.stringify({ __type: current.error, message: `${current.error} here` }));
    } else {
      response.writeHead(200).end(
        JSON.stringify({
          ARN: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${body.SecretId}`,
          Name: body.SecretId,
          SecretString: current.secretString,
          VersionId: 'v1',
          VersionStages: ['AWSCURRENT'],
          CreatedDate: 1_700_000_000,
        }),
      );
    }
  });
  endpoint.listen = async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  endpoint.awsSdkEnv = () => ({ AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint.url, ...DUMMY_AWS_ENV });
  endpoint.useForAwsSdk = () => {
    const env = endpoint.awsSdkEnv();
    const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
    Object.assign(process.env, env);
    return () => {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    };
  };
  endpoint.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return endpoint;
}

export async function startSecretsManagerEndpoint(behaviour: SecretBehaviour): Promise<SecretsManagerEndpoint> {
  const endpoint = secretsManagerEndpoint(behaviour);
  await endpoint.listen();
  return endpoint;
}

/**
 * For a test file or a `describe`: the endpoint listens, with the AWS SDK pointed at it,
 * before its tests, and is closed (the SDK's environment restored) after them.
 */
export function useSecretsManagerEndpoint(behaviour: SecretBehaviour): SecretsManagerEndpoint {
  const endpoint = secretsManagerEndpoint(behaviour);
  let restore: (() => void) | undefined;
  beforeAll(async () => {
    await endpoint.listen();
    restore = endpoint.useForAwsSdk();
  });
  afterAll(async () => {
    restore?.();
    await endpoint.close();
  });
  return endpoint;
}
