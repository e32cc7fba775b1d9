/**
 * `npm start`: the whole API on a laptop, no AWS account needed. Settings come from the
 * environment and `.env`; whatever is unset falls back to development values.
 */
import type { AddressInfo } from 'node:net';
import { makeCallConfig } from '../../lib/callWebhook.js';
import { processEnv } from '../../lib/config.js';
import { bannerLines, usesDevelopmentJwtSecret } from './banner.js';
import { createGateway } from './gateway.js';
import { localEnv, readDotEnv } from './localEnv.js';
import { localHandlers } from './localHandlers.js';
import { portalToken } from './portalToken.js';
import { makeCallSignatureCheck } from './signatureCheck.js';

const { env, developmentSettings } = localEnv(processEnv(), readDotEnv('.env'));
const port = Number(env.PORT ?? 3000);
const makeCallLoader = makeCallConfig(env);
const server = createGateway(localHandlers(env, makeCallLoader));

server.listen(port, '127.0.0.1', async () => {
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const [signatureCheck, devToken] = await Promise.all([
    makeCallSignatureCheck(env, makeCallLoader),
    usesDevelopmentJwtSecret(developmentSettings) && env.JWT_SECRET ? portalToken('42', env.JWT_SECRET) : undefined,
  ]);
  const appSid = env.TWILIO_ML_APP_SID;
  console.log(bannerLines({ base, developmentSettings, signatureCheck, devToken, appSid }).join('\n'));
});
