/**
 * One cold start, in a fresh `node` (plain JavaScript: no loader may sit between Node and the
 * bundle). Loads the bundle (ES module or CommonJS), hands its `handler` one event, and writes
 * the time since the process started (performance.now()) and the answer to fd 3, so that
 * whatever the function logs on stdout stays apart. `-` as the bundle: load nothing (bare node).
 *
 * Node built-ins are `require`d, not imported: Lambda's runtime loads a handler from CommonJS,
 * so a built-in the bundle imports as an ES module (node:crypto, node:fs, …) is the bundle's
 * cost there, and an `import` here would pay it before the clock reads the bundle. Only
 * node:module is imported, as every bundle's banner does. The bare row (`-`) runs the same.
 *
 *   node coldChild.mjs <bundle|-> <event.json>
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { readFileSync, writeSync } = require('node:fs');
const { pathToFileURL } = require('node:url');

const [bundle, eventFile] = process.argv.slice(2);
const event = JSON.parse(readFileSync(eventFile, 'utf8'));
let result = null;
if (bundle !== '-') {
  const loaded = await import(pathToFileURL(bundle).href);
  const handler = loaded.handler ?? loaded.default?.handler;
  // The context Lambda's runtime passes; our handlers take the event alone.
  const context = {
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: '00000000-0000-4000-8000-000000000001',
    getRemainingTimeInMillis: () => 5000,
  };
  result = await handler(event, context);
}
const ms = performance.now();
writeSync(3, JSON.stringify({ ms, result }));
// Do not wait for the SDK's keep-alive sockets: the answer is what a cold start costs.
process.exit(0);
