/**
 * `npm start`: the whole API on a laptop, no AWS account needed. Settings come from the
 * environment and `.env`; whatever is unset falls back to development values. The call
 * limits count in an in-memory DynamoDB (or AWS_ENDPOINT_URL_DYNAMODB's) unless
 * LOCAL_CALL_LIMITS=off.
 */
import type { AddressInfo } from 'node:net';
import { makeCallConfig } from '../../lib/callWebhook.js';
import { processEnv } from '../../lib/config.js';
import { bannerLines, shownEndpoint, usesDevelopmentJwtSecret } from './banner.js';
import { createGateway } from './gateway.js';
import {
  callLimitsStatus,
  describeError,
  LOCAL_CALL_LIMITS,
  type LocalDynamo,
  startLocalDynamo,
  withLocalCallLimits,
} from './localDynamo.js';
import { localEnv, readDotEnv } from './localEnv.js';
import { localHandlers } from './localHandlers.js';
import { portalToken } from './portalToken.js';
import { makeCallSignatureCheck } from './signatureCheck.js';

const { env: settings, developmentSettings } = localEnv(processEnv(), readDotEnv('.env'));
let dynamo: LocalDynamo | undefined;
try {
  // Before the handlers are built: their settings, and the SDK's endpoint, come from it.
  dynamo = await startLocalDynamo(settings);
} catch (error) {
  const given = settings.AWS_ENDPOINT_URL_DYNAMODB?.trim();
  const where = given ? ` (AWS_ENDPOINT_URL_DYNAMODB ${shownEndpoint(given)})` : '';
  console.error(`npm start: the call limits could not be set up${where}: ${describeError(error)}`);
  console.error(`Fix that, or set ${LOCAL_CALL_LIMITS}=off to start without them.`);
  process.exit(1);
}
const env = withLocalCallLimits(settings, dynamo);
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
  const callLimits = callLimitsStatus(env, dynamo);
  console.log(bannerLines({ base, developmentSettings, signatureCheck, devToken, appSid, callLimits }).join('\n'));
});
