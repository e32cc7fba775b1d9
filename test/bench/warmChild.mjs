/**
 * Warm requests, in one `node` running a bundle with the deployed environment (plain
 * JavaScript: no loader between Node and the bundle). After a warm-up, times every invocation
 * and, in alternating blocks in the same process, each of its floors: the least work that
 * answers the same request, or a library call alone (test/bench/warm.ts says which). A floor
 * is built from the handler's own first answer and must reproduce it exactly, so it is the
 * same work. Results go to a file: stdout belongs to the function's log lines (sent to /dev/null).
 *
 * As in coldChild.mjs, Node built-ins are `require`d (only node:module is imported), and what
 * the floors need is loaded after the bundle, so that the bundle loads as Lambda loads it.
 *
 *   node warmChild.mjs <config.json>
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { readFileSync, writeFileSync } = require('node:fs');
const { pathToFileURL } = require('node:url');

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const events = JSON.parse(readFileSync(config.eventsFile, 'utf8'));
const { handler } = await import(pathToFileURL(config.bundle).href);
const context = {
  functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
  awsRequestId: '00000000-0000-4000-8000-000000000002',
  getRemainingTimeInMillis: () => 5000,
};
const eventAt = (i) => events[i % events.length];

const first = await handler(eventAt(0), context);
const answered = (result) => JSON.stringify([result?.statusCode, result?.isAuthorized]);
const expected = answered(first);
const { createHmac, timingSafeEqual } = require('node:crypto');

const xmlText = (text) =>
  text.replace(/&(amp|lt|gt|quot|apos);/g, (_, name) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[name]);
const attributes = (text) =>
  Object.fromEntries([...text.matchAll(/([\w:]+)="([^"]*)"/g)].map(([, k, v]) => [k, xmlText(v)]));
const base64url = (json) => Buffer.from(JSON.stringify(json)).toString('base64url');

/**
 * Each floor: `run` does the work once (`async`: it answers a promise); `matches` says it
 * reproduces the handler's answer.
 */
const floorMakers = {
  // callToken: sign the same header and payload the handler's token carries, HS256.
  jwtSign: ({ secret }) => {
    const token = JSON.parse(first.body).data.token;
    const [header, payload] = token
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
    const run = () => {
      const signed = `${base64url(header)}.${base64url(payload)}`;
      return `${signed}.${createHmac('sha256', secret).update(signed).digest('base64url')}`;
    };
    return { run, matches: run() === token };
  },
  // authorizer: check the bearer token's HS256 signature.
  jwtVerify: ({ secret, token }) => {
    const run = () => {
      const dot = token.lastIndexOf('.');
      const given = Buffer.from(token.slice(dot + 1), 'base64url');
      const expectedMac = createHmac('sha256', secret).update(token.slice(0, dot)).digest();
      return given.length === expectedMac.length && timingSafeEqual(given, expectedMac);
    };
    return { run, matches: run() === true && first.isAuthorized === true };
  },
  // authorizer, for information: jose's jwtVerify alone, with the options ours passes and a
  // CryptoKey imported as ours imports it (once).
  joseVerify: async ({ secret, token }) => {
    const { jwtVerify } = await import('jose');
    const key = await crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['verify'],
    );
    const options = { algorithms: ['HS256'], requiredClaims: ['exp'], clockTolerance: 30 };
    const run = async () => (await jwtVerify(token, key, { ...options, currentDate: new Date() })).payload;
    const payload = await run();
    return { run, async: true, matches: String(payload.user?.id) === first.context?.userId };
  },
  // makeCall: render the handler's own <Dial><Number> with twilio's VoiceResponse.
  voiceResponse: () => {
    const VoiceResponse = require('twilio/lib/twiml/VoiceResponse.js');
    const shape = /^<\?xml[^>]*\?><Response><Dial([^>]*)><Number([^>]*)>([^<]*)<\/Number><\/Dial><\/Response>$/;
    const found = shape.exec(first.body);
    if (!found) return { run: () => '', matches: false };
    const [, dialAttributes, numberAttributes, number] = found;
    const dial = attributes(dialAttributes);
    const numberOptions = attributes(numberAttributes);
    const dialed = xmlText(number);
    const run = () => {
      const response = new VoiceResponse();
      response.dial(dial).number(numberOptions, dialed);
      return response.toString();
    };
    return { run, matches: run() === first.body };
  },
  // Status webhooks: check the request's X-Twilio-Signature (HMAC-SHA1 of URL and sorted parameters).
  twilioSignature: ({ authToken, url }) => {
    const event = eventAt(0);
    const body = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString() : event.body;
    const header = event.headers['x-twilio-signature'];
    const run = () => {
      const params = new URLSearchParams(body);
      const keys = [...params.keys()].sort();
      const data = keys.reduce((text, key) => text + key + params.get(key), url);
      const mac = createHmac('sha1', authToken).update(data).digest();
      const given = Buffer.from(header, 'base64');
      return given.length === mac.length && timingSafeEqual(given, mac);
    };
    return { run, matches: run() === true };
  },
};
const floors = await Promise.all(config.floors.map((floor) => floorMakers[floor.kind](floor)));

// Warm-up: JIT tiers, inline caches and Powertools' first few thousand lines.
let failures = 0;
for (let i = 1; i <= config.warmup; i++) {
  if (answered(await handler(eventAt(i), context)) !== expected) failures++;
  for (const floor of floors) await floor.run();
}

const BLOCK = 100;
const handlerTimes = new Float64Array(config.iterations);
const floorTimes = floors.map(() => new Float64Array(config.iterations));
let sink = 0;
for (let start = 0; start < config.iterations; start += BLOCK) {
  const end = Math.min(start + BLOCK, config.iterations);
  for (let i = start; i < end; i++) {
    const event = eventAt(config.warmup + 1 + i);
    const t0 = process.hrtime.bigint();
    const result = await handler(event, context);
    handlerTimes[i] = Number(process.hrtime.bigint() - t0) / 1000;
    if (answered(result) !== expected) failures++;
  }
  for (const [f, floor] of floors.entries()) {
    const times = floorTimes[f];
    for (let i = start; i < end; i++) {
      const t0 = process.hrtime.bigint();
      // A synchronous floor is not awaited: an await would add a microtask turn to its time.
      const out = floor.async ? await floor.run() : floor.run();
      times[i] = Number(process.hrtime.bigint() - t0) / 1000;
      sink += out ? 1 : 0;
    }
  }
}

const stats = (times) => {
  if (times.length === 0) return undefined;
  const sorted = Float64Array.from(times).sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
  return { n: times.length, mean: times.reduce((a, b) => a + b, 0) / times.length, p50: at(0.5), p99: at(0.99) };
};
writeFileSync(
  config.outFile,
  JSON.stringify({
    first,
    failures,
    handler: stats(handlerTimes),
    floors: floors.map((floor, f) => ({
      kind: config.floors[f].kind,
      stats: stats(floorTimes[f]),
      matches: floor.matches,
    })),
    sink,
  }),
);
process.exit(0);
