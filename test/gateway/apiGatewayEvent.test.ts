/**
 * The local gateway's event builder against the shape of real HTTP API payload 2.0
 * events (test/fixtures/events/, written after the AWS documentation's examples).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  authorizerEvent,
  httpResponse,
  type LocalRequest,
  proxyEvent,
  requestTarget,
} from '../../infra/local/apiGatewayEvent.js';

const realEvent = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/events/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;

function request(overrides: Partial<LocalRequest> = {}): LocalRequest {
  return {
    method: 'GET',
    url: '/api/v1/call_token?type=apns',
    headers: { host: '127.0.0.1:3000', authorization: 'Bearer abc.def.ghi', 'user-agent': 'curl/8.5.0' },
    body: Buffer.alloc(0),
    sourceIp: '127.0.0.1',
    localPort: 3000,
    ...overrides,
  };
}

const keys = (value: unknown) => Object.keys(value as object).sort();

describe('proxyEvent: an HTTP API payload 2.0 event', () => {
  it('has the top-level fields of a real event', () => {
    const { requestContext: _real, ...real } = realEvent('call_token.json');

    const { requestContext: _built, ...built } = proxyEvent(request(), 'GET /api/v1/call_token');

    expect(keys(built)).toEqual(keys({ ...real, body: undefined }));
  });

  it('has the requestContext and http fields of a real event (authorizer is added after the authorizer runs)', () => {
    const real = realEvent('call_token.json').requestContext as Record<string, unknown>;
    const { authorizer: _authorizer, ...realWithoutAuthorizer } = real;

    const built = proxyEvent(request(), 'GET /api/v1/call_token').requestContext;

    expect(keys(built)).toEqual(keys(realWithoutAuthorizer));
    expect(keys(built.http)).toEqual(keys(real.http));
  });

  it('sets version 2.0 and the routeKey in the event and its requestContext', () => {
    const event = proxyEvent(request(), 'GET /api/v1/call_token');

    expect([event.version, event.routeKey, event.requestContext.routeKey]).toEqual([
      '2.0',
      'GET /api/v1/call_token',
      'GET /api/v1/call_token',
    ]);
  });

  it('splits the URL into rawPath and rawQueryString (without the "?")', () => {
    const event = proxyEvent(request({ url: '/api/v1/call_token?type=fcm&x=1' }), 'GET /api/v1/call_token');

    expect([event.rawPath, event.rawQueryString, event.requestContext.http.path]).toEqual([
      '/api/v1/call_token',
      'type=fcm&x=1',
      '/api/v1/call_token',
    ]);
  });

  it('decodes queryStringParameters and joins a repeated parameter with commas', () => {
    const event = proxyEvent(request({ url: '/p?type=apns&type=fcm&name=a%20b' }), 'GET /p');

    expect(event.queryStringParameters).toEqual({ type: 'apns,fcm', name: 'a b' });
  });

  it('leaves queryStringParameters out when there is no query string', () => {
    const event = proxyEvent(request({ url: '/api/v1/call_token' }), 'GET /api/v1/call_token');

    expect(event.queryStringParameters).toBeUndefined();
    expect(event.rawQueryString).toBe('');
  });

  it('passes the lower-cased headers, joining every value of a repeated one with ","', () => {
    const event = proxyEvent(
      request({ headers: { host: 'h', authorization: ['Bearer a', 'Bearer b'], accept: ['text/xml', 'text/plain'] } }),
      'GET /p',
    );

    expect(event.headers).toMatchObject({ authorization: 'Bearer a,Bearer b', accept: 'text/xml,text/plain' });
    expect(Object.keys(event.headers).every((name) => name === name.toLowerCase())).toBe(true);
  });

  it('hands the authorizer two Authorization headers as one "a,b" identity source', () => {
    const event = authorizerEvent(
      proxyEvent(request({ headers: { authorization: ['Bearer a', 'Bearer b'] } }), 'GET /p'),
    );

    expect(event.identitySource).toEqual(['Bearer a,Bearer b']);
  });

  it('sets X-Forwarded-For to the source ip when the client sent none', () => {
    const event = proxyEvent(request({ sourceIp: '10.1.2.3' }), 'GET /p');

    expect(event.headers['x-forwarded-for']).toBe('10.1.2.3');
  });

  it('appends the source ip to the X-Forwarded-For the client sent: "<sent>, <source ip>"', () => {
    const event = proxyEvent(
      request({ headers: { host: 'h', 'x-forwarded-for': ['203.0.113.9', '198.51.100.1'] }, sourceIp: '10.1.2.3' }),
      'GET /p',
    );

    expect(event.headers['x-forwarded-for']).toBe('203.0.113.9,198.51.100.1, 10.1.2.3');
  });

  it('sets X-Forwarded-Port to the port the gateway listens on and X-Forwarded-Proto to http, whatever the client sent', () => {
    const event = proxyEvent(
      request({
        headers: { host: 'h', 'x-forwarded-port': '443', 'x-forwarded-proto': ['https', 'https'] },
        localPort: 4321,
      }),
      'GET /p',
    );

    expect([event.headers['x-forwarded-port'], event.headers['x-forwarded-proto']]).toEqual(['4321', 'http']);
  });

  it('keeps rawPath as sent: dot segments, repeated slashes and percent-encoding are not normalised', () => {
    const paths = ['/api/v1/x/../make_call', '/api/v1/./make_call', '/api/v1//make_call', '/api/v1/make%5Fcall'];

    const built = paths.map((path) => proxyEvent(request({ url: `${path}?a=1` }), '$default'));

    expect(built.map((event) => [event.rawPath, event.requestContext.http.path])).toEqual(
      paths.map((path) => [path, path]),
    );
  });

  it('keeps rawQueryString as sent and decodes only queryStringParameters', () => {
    const event = proxyEvent(request({ url: '/p?to=%2B1415&name=a+b&x=%7e' }), 'GET /p');

    expect(event.rawQueryString).toBe('to=%2B1415&name=a+b&x=%7e');
    expect(event.queryStringParameters).toEqual({ to: '+1415', name: 'a b', x: '~' });
  });

  it('moves the Cookie header into cookies, as HTTP API does', () => {
    const event = proxyEvent(request({ headers: { host: 'h', cookie: 'a=1; b=2' } }), 'GET /p');

    expect(event.cookies).toEqual(['a=1', 'b=2']);
    expect(event.headers.cookie).toBeUndefined();
  });

  it('moves every cookie of every Cookie header into cookies', () => {
    const event = proxyEvent(request({ headers: { host: 'h', cookie: ['a=1; b=2', 'c=3'] } }), 'GET /p');

    expect(event.cookies).toEqual(['a=1', 'b=2', 'c=3']);
  });

  it('sets requestContext.http.method, sourceIp and userAgent', () => {
    const event = proxyEvent(request({ method: 'POST', sourceIp: '10.1.2.3' }), 'POST /p');

    expect(event.requestContext.http).toMatchObject({ method: 'POST', sourceIp: '10.1.2.3', userAgent: 'curl/8.5.0' });
  });

  it('takes requestContext.domainName from the Host header, without the port', () => {
    const event = proxyEvent(request({ headers: { host: 'voice.localhost:3000' } }), 'GET /p');

    expect(event.requestContext.domainName).toBe('voice.localhost');
  });

  it('writes requestContext.time as HTTP API does ("12/Jan/2025:19:03:58 +0000"), with timeEpoch in ms', () => {
    const real = realEvent('call_token.json').requestContext as { time: string; timeEpoch: number };

    const built = proxyEvent(request(), 'GET /p', new Date(real.timeEpoch)).requestContext;

    expect([built.time, built.timeEpoch]).toEqual([real.time, real.timeEpoch]);
  });

  it('gives every event its own requestContext.requestId', () => {
    const first = proxyEvent(request(), 'GET /p').requestContext.requestId;

    const second = proxyEvent(request(), 'GET /p').requestContext.requestId;

    expect(first).not.toBe(second);
    expect(first.length).toBeGreaterThan(0);
  });

  it('base64-encodes a form body and says so in isBase64Encoded', () => {
    const form = 'To=%2B14155550123&From=client%3AAP_uid42';

    const event = proxyEvent(
      request({
        method: 'POST',
        headers: { host: 'h', 'content-type': 'application/x-www-form-urlencoded' },
        body: Buffer.from(form),
      }),
      'POST /api/v1/make_call',
    );

    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body ?? '', 'base64').toString('utf8')).toBe(form);
  });

  it('passes a JSON body as text', () => {
    const json = '{"type":"apns"}';

    const event = proxyEvent(
      request({ method: 'POST', headers: { host: 'h', 'content-type': 'application/json' }, body: Buffer.from(json) }),
      'POST /p',
    );

    expect([event.isBase64Encoded, event.body]).toEqual([false, json]);
  });

  it('has no body and isBase64Encoded false for a request without a body', () => {
    const event = proxyEvent(request(), 'GET /p');

    expect([event.body, event.isBase64Encoded]).toEqual([undefined, false]);
  });
});

describe('requestTarget: the path and query HTTP API routes on, as sent', () => {
  it('splits a target at the first "?" without normalising either part', () => {
    expect(requestTarget('/api/v1/./make_call?a=1?b=%20')).toEqual({
      rawPath: '/api/v1/./make_call',
      rawQueryString: 'a=1?b=%20',
    });
  });

  it('takes the path of an absolute-form target (GET http://host/path)', () => {
    expect(requestTarget('http://127.0.0.1:3000/api/v1//make_call?x=1')).toEqual({
      rawPath: '/api/v1//make_call',
      rawQueryString: 'x=1',
    });
  });

  it('is undefined for a target that is not a URL (the gateway answers 400)', () => {
    expect(requestTarget('http://[x')).toBeUndefined();
  });
});

describe('authorizerEvent: the REQUEST authorizer event, payload 2.0', () => {
  it('has every field of a real authorizer event (empty cookies/pathParameters/stageVariables may be added)', () => {
    const real = realEvent('authorizer_request.json');

    const built = authorizerEvent(proxyEvent(request(), 'GET /api/v1/call_token'));

    expect(keys(built)).toEqual(expect.arrayContaining(keys(real)));
    expect(keys(built.requestContext)).toEqual(expect.arrayContaining(keys(real.requestContext)));
  });

  it('is type REQUEST, version 2.0, with the Authorization header as identity source', () => {
    const event = authorizerEvent(proxyEvent(request(), 'GET /api/v1/call_token'));

    expect([event.type, event.version, event.identitySource]).toEqual(['REQUEST', '2.0', ['Bearer abc.def.ghi']]);
  });

  it('carries the route and the headers of the request', () => {
    const event = authorizerEvent(proxyEvent(request(), 'GET /api/v1/call_token'));

    expect(event.routeKey).toBe('GET /api/v1/call_token');
    expect(event.routeArn).toMatch(/\/GET\/api\/v1\/call_token$/);
    expect(event.headers?.authorization).toBe('Bearer abc.def.ghi');
  });
});

describe('httpResponse: a Lambda result as HTTP API sends it', () => {
  it('uses a structured result’s status, headers and body', () => {
    const response = httpResponse({ statusCode: 400, headers: { 'Content-Type': 'application/json' }, body: '{}' });

    expect(response).toEqual({
      statusCode: 400,
      headers: { 'content-type': 'application/json' },
      body: Buffer.from('{}'),
    });
  });

  it('decodes a base64-encoded body', () => {
    const response = httpResponse({
      statusCode: 200,
      body: Buffer.from('<Response/>').toString('base64'),
      isBase64Encoded: true,
    });

    expect(response.body.toString()).toBe('<Response/>');
  });

  it('sends a result without statusCode as a 200 JSON body', () => {
    const response = httpResponse({ hello: 'world' } as never);

    expect([response.statusCode, response.headers['content-type'], response.body.toString()]).toEqual([
      200,
      'application/json',
      '{"hello":"world"}',
    ]);
  });
});
