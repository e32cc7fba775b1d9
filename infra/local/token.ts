/**
 * `npm run --silent token -- --user 42`: prints a portal-style JWT for that user, signed
 * with the configured JWT_SECRET (from the environment, `.env`, the secret named by
 * SECRET_ID, or the development default).
 */
import { parseArgs } from 'node:util';
import { processEnv } from '../../lib/config.js';
import { configLoader } from '../../lib/functionConfig.js';
import { isUserId } from '../../lib/portalJwt.js';
import { localEnv, readDotEnv } from './localEnv.js';
import { portalToken } from './portalToken.js';

const { values } = parseArgs({ options: { user: { type: 'string' }, ttl: { type: 'string', default: '3600' } } });
if (!isUserId(values.user) || !/^\d+$/.test(values.ttl)) {
  console.error('usage: npm run --silent token -- --user <id> [--ttl <seconds>]  (id: 1-64 of A-Z a-z 0-9 _)');
  process.exit(2);
}
const { env } = localEnv(processEnv(), readDotEnv('.env'));
try {
  const { JWT_SECRET } = await configLoader(['JWT_SECRET'], env)();
  console.log(await portalToken(values.user, JWT_SECRET, Number(values.ttl)));
} catch (error) {
  console.error(error instanceof Error ? error.message : 'JWT_SECRET could not be read');
  process.exit(1);
}
