/**
 * `npm start`: the whole API on a laptop, no AWS account needed. Settings come from the
 * environment and `.env`; whatever is unset falls back to development values.
 */
import type { AddressInfo } from 'node:net';
import { processEnv } from '../../lib/config.js';
import { ROUTES } from '../routes.js';
import { createGateway } from './gateway.js';
import { localEnv, readDotEnv } from './localEnv.js';
import { localHandlers } from './localHandlers.js';
import { portalToken } from './portalToken.js';

const { env, developmentSettings } = localEnv(processEnv(), readDotEnv('.env'));
const port = Number(env.PORT ?? 3000);
const server = createGateway(localHandlers(env));

server.listen(port, '127.0.0.1', async () => {
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const lines = [`Voice service (local gateway) listening on ${base}`];
  for (const route of ROUTES)
    lines.push(`  ${route.method.padEnd(4)} ${base}${route.path}${route.authorized ? '  (bearer token)' : ''}`);
  if (developmentSettings.length > 0) {
    lines.push('', `Using built-in DEVELOPMENT settings for: ${developmentSettings.join(', ')}.`);
    lines.push('They are fake; set real ones in .env (see .env.example) to talk to Twilio.');
  }
  if (!env.SECRET_ID && !env.TWILIO_AUTH_TOKEN) {
    lines.push('', 'TWILIO_AUTH_TOKEN is not set: make_call does NOT check Twilio signatures (local gateway only).');
  }
  if (env.JWT_SECRET) {
    const token = await portalToken('42', env.JWT_SECRET);
    lines.push('', 'A development token for user 42 (valid 1 hour):', token, '', 'Try:');
    lines.push(`  curl -s -H "Authorization: Bearer ${token}" '${base}/api/v1/call_token?type=apns'`);
  } else {
    lines.push('', 'Try (with a token from `npm run --silent token -- --user 42`):');
    lines.push(`  curl -s -H "Authorization: Bearer $TOKEN" '${base}/api/v1/call_token?type=apns'`);
  }
  lines.push(`  curl -s -X POST --data-urlencode 'to=+14155550123' '${base}/api/v1/make_call'`);
  console.log(lines.join('\n'));
});
