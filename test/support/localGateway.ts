/**
 * Starts the local gateway (the real one, over real HTTP on loopback) for a test. Every
 * response it sends is checked against the API contract (`infra/openapi.json`): a response
 * that breaks it fails the test that was running when it was sent, or, sent outside a test
 * (a `beforeAll`), makes `close()` throw.
 */
import type { IncomingMessage, OutgoingHttpHeaders, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { onTestFinished } from 'vitest';
import { requestTarget } from '../../infra/local/apiGatewayEvent.js';
import { createGateway, type GatewayHandlers } from '../../infra/local/gateway.js';
import { localEnv } from '../../infra/local/localEnv.js';
import { localHandlers } from '../../infra/local/localHandlers.js';
import { ROUTES } from '../../infra/routes.js';
import type { Env } from '../../lib/config.js';
import { type ApiContract, apiContract } from './apiContract.js';

export interface RunningGateway {
  baseUrl: string;
  env: Env;
  /** Every response sent so far that broke the contract, one message per departure. */
  readonly contractViolations: readonly string[];
  /** How many responses were checked against the contract, and how many were not (a stand-in answered). */
  readonly contractChecks: { checked: number; skipped: number };
  close(): Promise<void>;
}

/** Fails the running test with `messages`; false when no test is running (a hook, a late response). */
function failRunningTest(messages: string[]): boolean {
  try {
    onTestFinished(() => {
      throw new Error(`The local gateway broke the API contract (infra/openapi.json):\n${messages.join('\n')}`);
    });
    return true;
  } catch {
    return false;
  }
}

/**
 * Records what each response really sends — status, headers, body as written to the
 * socket — and checks it when it ends. Requests to a route whose function a test replaced
 * are not checked: a stand-in's answer is the test's, not the API's (the gateway's own
 * answers on such a route go unchecked with it).
 */
function checkEveryResponse(server: Server, replaced: ReadonlySet<string>, contract: ApiContract) {
  const violations: string[] = [];
  const unreported: string[] = [];
  const checks = { checked: 0, skipped: 0 };
  server.prependListener('request', (request: IncomingMessage, response: ServerResponse) => {
    const method = request.method ?? 'GET';
    const target = requestTarget(request.url ?? '/');
    const route = target && ROUTES.find((r) => r.method === method && r.path === target.rawPath);
    if (route && replaced.has(route.function)) {
      checks.skipped += 1;
      return;
    }
    let written: OutgoingHttpHeaders = {};
    const chunks: Buffer[] = [];
    const keep = (chunk: unknown, encoding?: unknown) => {
      if (typeof chunk === 'string')
        chunks.push(Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'));
      else if (chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk));
    };
    const writeHead = response.writeHead;
    response.writeHead = function (this: ServerResponse, statusCode: number, ...rest: unknown[]) {
      const headers = rest.find((arg) => typeof arg === 'object' && arg !== null && !Array.isArray(arg));
      if (headers) written = headers as OutgoingHttpHeaders;
      return (writeHead as (...args: unknown[]) => ServerResponse).call(this, statusCode, ...rest);
    } as typeof response.writeHead;
    const write = response.write;
    response.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
      keep(chunk, rest[0]);
      return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof response.write;
    const end = response.end;
    response.end = function (this: ServerResponse, ...args: unknown[]) {
      if (typeof args[0] !== 'function') keep(args[0], args[1]);
      checks.checked += 1;
      let found: string[];
      try {
        found = contract.checkResponse(method, target?.rawPath, {
          status: response.statusCode,
          headers: { ...response.getHeaders(), ...written },
          body: Buffer.concat(chunks),
        });
      } catch (error) {
        found = [`${method} ${request.url}: the contract could not be checked: ${(error as Error).message}`];
      }
      if (found.length > 0) {
        violations.push(...found);
        if (!failRunningTest(found)) unreported.push(...found);
      }
      return (end as (...args: unknown[]) => ServerResponse).apply(this, args);
    } as typeof response.end;
  });
  return { violations, unreported, checks };
}

/**
 * `settings` are laid over the development defaults, as `.env` would be; `handlers` replace
 * the named functions (the gateway and the others stay real). `options.contract` replaces
 * the document the responses are checked against (for the tests of the check itself).
 */
export async function startLocalGateway(
  settings: Env = {},
  handlers: Partial<GatewayHandlers> = {},
  options: { contract?: ApiContract } = {},
): Promise<RunningGateway> {
  const { env } = localEnv(settings, {});
  const server = createGateway({ ...localHandlers(env), ...handlers });
  const recorded = checkEveryResponse(server, new Set(Object.keys(handlers)), options.contract ?? apiContract());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    env,
    contractViolations: recorded.violations,
    contractChecks: recorded.checks,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      if (recorded.unreported.length > 0) {
        throw new Error(
          `The local gateway broke the API contract (infra/openapi.json) outside any test:\n${recorded.unreported.join('\n')}`,
        );
      }
    },
  };
}
