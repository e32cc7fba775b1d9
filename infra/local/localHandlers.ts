/** The functions as the local gateway runs them: the same handlers, built from the local settings. */
import * as authorizer from '../../functions/authorizer.js';
import * as callEvents from '../../functions/callEvents.js';
import * as callToken from '../../functions/callToken.js';
import * as makeCall from '../../functions/makeCall.js';
import { makeCallConfig } from '../../lib/callWebhook.js';
import type { Env } from '../../lib/config.js';
import type { GatewayHandlers } from './gateway.js';

/** `makeCallLoader`: make_call's configuration loader, when the caller reads it too (the start banner). */
export function localHandlers(env: Env, makeCallLoader = makeCallConfig(env)): GatewayHandlers {
  return {
    authorizer: authorizer.createHandler(authorizer.defaultDeps(env)),
    // The same Powertools log and metric (EMF) lines as on Lambda: what the dashboard will show.
    callToken: callToken.createHandler(callToken.defaultDeps(env)),
    // Locally, and only here, a missing TWILIO_AUTH_TOKEN means "do not check signatures".
    makeCall: makeCall.createHandler({ ...makeCall.defaultDeps(env, makeCallLoader), allowUnsignedRequests: true }),
    callEvents: callEvents.createHandler({
      ...callEvents.defaultDeps(env),
      allowUnsignedRequests: true,
    }),
  };
}
