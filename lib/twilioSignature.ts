/**
 * Twilio's request signature (`X-Twilio-Signature`), checked with twilio's own
 * validators. One verifier for every Twilio webhook.
 */
import { validateRequest, validateRequestWithBody } from 'twilio/lib/webhooks/webhooks.js';
import type { WebhookBody } from './webhookBody.js';

export interface SignedRequest {
  /** The route's path from `routeKey`, e.g. `/api/v1/make_call`. */
  routePath: string;
  rawPath: string;
  rawQueryString: string;
  headers: Readonly<Record<string, string | undefined>>;
  domainName: string;
}

/**
 * The URL Twilio signed: `PUBLIC_BASE_URL` + the route's path when set (a custom domain
 * with a base path, where the Host header no longer tells it); otherwise the URL as
 * received, from the forwarded scheme and the Host header.
 */
export function signedUrl(request: SignedRequest, publicBaseUrl: string | undefined): string {
  const query = request.rawQueryString ? `?${request.rawQueryString}` : '';
  if (publicBaseUrl) return `${publicBaseUrl}${request.routePath}${query}`;
  const scheme = request.headers['x-forwarded-proto']?.split(',')[0]?.trim() || 'https';
  const host = request.headers.host || request.domainName;
  return `${scheme}://${host}${request.rawPath}${query}`;
}

/** An API's own default endpoint: only this API answers there. */
const EXECUTE_API_HOST = /^[a-z0-9]+\.execute-api\.[a-z0-9-]+\.amazonaws\.com$/;

/**
 * The URLs a signature is checked against: the signed URL and, when PUBLIC_BASE_URL names
 * another host, the API's own execute-api URL when that is where the request came. Only
 * this API answers there, so a request signed for it was meant for us; and while Twilio
 * moves to a custom domain (the TwiML App's Voice URL changed after the deploy, the callback
 * URLs of calls dialed before it) its requests still come there.
 */
export function signedUrls(request: SignedRequest, publicBaseUrl: string | undefined): [string, ...string[]] {
  const url = signedUrl(request, publicBaseUrl);
  const host = request.headers.host || request.domainName;
  if (!publicBaseUrl || host !== request.domainName || !EXECUTE_API_HOST.test(host)) return [url];
  const received = signedUrl(request, undefined);
  return received === url ? [url] : [url, received];
}

export function isSignedByTwilio(
  authToken: string,
  signature: string | undefined,
  url: string,
  body: WebhookBody,
): boolean {
  if (!signature) return false;
  try {
    return body.kind === 'json'
      ? validateRequestWithBody(authToken, signature, url, body.raw)
      : validateRequest(authToken, signature, url, body.params);
  } catch {
    // twilio's validator parses the URL; one built from a hostile Host header may not parse.
    return false;
  }
}
