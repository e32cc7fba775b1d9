/**
 * Whether make_call will check Twilio signatures, found out the way make_call finds out:
 * through its own configuration loader, so with SECRET_ID the secret is read too.
 */
import { makeCallConfig } from '../../lib/callWebhook.js';
import type { Env } from '../../lib/config.js';
import type { SignatureCheck } from './banner.js';

/** `load`: make_call's own loader when the gateway runs it, so the secret is read once, not twice. */
export async function makeCallSignatureCheck(env: Env, load = makeCallConfig(env)): Promise<SignatureCheck> {
  try {
    const config = await load();
    if (config.TWILIO_AUTH_TOKEN) return { status: 'checked' };
    return { status: 'unchecked', tokenSource: env.SECRET_ID?.trim() ? 'secret' : 'environment' };
  } catch (error) {
    // A ConfigError names settings, a SecretStoreError the store's failure; neither quotes a value.
    return { status: 'unloadable', problem: error instanceof Error ? error.message : 'unknown error' };
  }
}
