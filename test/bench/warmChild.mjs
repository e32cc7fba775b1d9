/**
 * Warm requests, in one `node` running a deployed bundle with the deployed environment (plain
 * JavaScript: no loader between Node and the bundle). After a warm-up, times every invocation
 * and, in alternating blocks in the same process, the handler's floor: the least work that
 * answers the same request (test/bench/warm.ts says which). The floor is built from the
 * handler's own first answer and must reproduce it exactly, so it is the same work.
 * Results go to a file: stdout belongs to the function's log lines (sent to /dev/null).
 *
 *   node warmChild.mjs <config.json>
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import VoiceResponse from 'twilio/lib/twiml/VoiceResponse.js';

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

const xmlText = (text) =>
  text.replace(/&(amp|lt|gt|quot|apos);/g, (_, name) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[name]);
const attributes = (text) =>
  Object.fromEntries([...text.matchAll(/([\w:]+)="([^"]*)"/g)].map(([, k, v]) => [k, xmlText(v)]));
const base64url = (json) => Buffer.from(JSON.stringify(json)).toString('base64url');

/** Each floor: `run` does the work once; `matches` says it reproduces the handler's answer. */
const floors = {
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
  // makeCall: render the handler's own <Dial><Number> with twilio's VoiceResponse.
  voiceResponse: () => {
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
const floor = config.floor ? floors[config.floor.kind](config.floor) : undefined;

// Warm-up: JIT tiers, inline caches and Powertools' first few thousand lines.
let failures = 0;
for (let i = 1; i <= config.warmup; i++) {
  if (answered(await handler(eventAt(i), context)) !== expected) failures++;
  floor?.run();
}

const BLOCK = 100;
const handlerTimes = new Float64Array(config.iterations);
const floorTimes = new Float64Array(floor ? config.iterations : 0);
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
  if (!floor) continue;
  for (let i = start; i < end; i++) {
    const t0 = process.hrtime.bigint();
    const out = floor.run();
    floorTimes[i] = Number(process.hrtime.bigint() - t0) / 1000;
    sink += out ? 1 : 0;
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
    floorMatches: floor?.matches,
    handler: stats(handlerTimes),
    floor: stats(floorTimes),
    sink,
  }),
);
process.exit(0);
