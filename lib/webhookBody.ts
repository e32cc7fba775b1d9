/**
 * Reads a webhook's body as API Gateway delivers it (plain or base64) into parameters.
 * Twilio posts forms; JSON is accepted too (Twilio signs it through `bodySHA256`).
 * Anything else is answered before any logic runs.
 */
export const MAX_BODY_BYTES = 16 * 1024;

export type WebhookParams = Readonly<Record<string, string | readonly string[]>>;

export type WebhookBody =
  | { kind: 'form'; params: WebhookParams }
  | { kind: 'json'; params: WebhookParams; raw: string };

export type BodyRejection = { status: 400 | 413 | 415; message: string };

export interface RawBody {
  body: string | undefined;
  isBase64Encoded: boolean;
  contentType: string | undefined;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function decode(raw: RawBody): string | BodyRejection {
  const body = raw.body ?? '';
  if (!raw.isBase64Encoded) {
    return Buffer.byteLength(body, 'utf8') > MAX_BODY_BYTES ? { status: 413, message: 'Payload Too Large' } : body;
  }
  // Check the size before decoding: base64 is 4 characters for every 3 bytes.
  if (Math.floor((body.length * 3) / 4) > MAX_BODY_BYTES + 2) return { status: 413, message: 'Payload Too Large' };
  if (body.length % 4 !== 0 || !BASE64.test(body))
    return { status: 400, message: 'Bad Request: body is not valid base64' };
  const bytes = Buffer.from(body, 'base64');
  if (bytes.length > MAX_BODY_BYTES) return { status: 413, message: 'Payload Too Large' };
  try {
    return utf8.decode(bytes);
  } catch {
    return { status: 400, message: 'Bad Request: body is not valid UTF-8' };
  }
}

/**
 * Parameters keyed by any name a body sends: no prototype, so `constructor`, `toString` or
 * `__proto__` are parameters like any other (Twilio signs them), not Object's own.
 */
const noPrototype = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;

function formParams(text: string): WebhookParams {
  const params = noPrototype<string | string[]>();
  for (const [name, value] of new URLSearchParams(text)) {
    const existing = params[name];
    params[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return params;
}

function jsonParams(text: string): WebhookParams | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const params = noPrototype<string>();
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value === 'string') params[name] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') params[name] = String(value);
    else if (value !== null) return undefined;
  }
  return params;
}

export function parseWebhookBody(raw: RawBody): WebhookBody | BodyRejection {
  const text = decode(raw);
  if (typeof text !== 'string') return text;
  const mediaType = (raw.contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (mediaType === 'application/x-www-form-urlencoded' || (mediaType === '' && text === '')) {
    return { kind: 'form', params: formParams(text) };
  }
  if (mediaType === 'application/json') {
    const params = jsonParams(text);
    return params
      ? { kind: 'json', params, raw: text }
      : { status: 400, message: 'Bad Request: body is not a JSON object of strings' };
  }
  return { status: 415, message: 'Unsupported Media Type: send application/x-www-form-urlencoded or application/json' };
}

/** A parameter's value; when repeated, the first one (Twilio never repeats these). */
export function param(params: WebhookParams, name: string): string | undefined {
  const value = params[name];
  return typeof value === 'string' ? value : value?.[0];
}
