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
