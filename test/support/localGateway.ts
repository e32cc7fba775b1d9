/** Starts the local gateway (the real one, over real HTTP on loopback) for a test. */
import type { AddressInfo } from 'node:net';
import { createGateway, type GatewayHandlers } from '../../infra/local/gateway.js';
import { localEnv } from '../../infra/local/localEnv.js';
import { localHandlers } from '../../infra/local/localHandlers.js';
import type { Env } from '../../lib/config.js';

export interface RunningGateway {
  baseUrl: string;
  env: Env;
  close(): Promise<void>;
}

/**
 * `settings` are laid over the development defaults, as `.env` would be; `handlers` replace
 * the named functions (the gateway and the others stay real).
 */
export async function startLocalGateway(
  settings: Env = {},
  handlers: Partial<GatewayHandlers> = {},
): Promise<RunningGateway> {
  const { env } = localEnv(settings, {});
  const server = createGateway({ ...localHandlers(env), ...handlers });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    env,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
