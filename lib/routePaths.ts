/**
 * The API's paths. `infra/routes.ts` builds the one route table from them; the webhooks
 * read them to hand Twilio the URLs of the next steps of a call (lib never imports infra).
 */
export const ROUTE_PATHS = {
  callToken: '/api/v1/call_token',
  makeCall: '/api/v1/make_call',
  dialStatus: '/api/v1/dial_status',
  callStatus: '/api/v1/call_status',
} as const;

/**
 * The query parameter of the status webhooks' URLs (call_status's, dial_status's) naming the
 * caller whose concurrent-call slot the call holds (make_call adds it when the call takes
 * one): the release then needs no lookup.
 * Twilio signs the URL with it, so nobody else can name a caller.
 */
export const SLOT_HOLDER_PARAM = 'caller';
