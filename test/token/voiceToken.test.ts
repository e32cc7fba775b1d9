/** Issuing the Twilio Voice token directly (the handler tests go through callToken). */
import { jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { issueVoiceToken, type VoiceTokenConfig } from '../../lib/voiceToken.js';
import { SETTINGS } from './settings.js';

const CONFIG: VoiceTokenConfig = { ...SETTINGS, TWILIO_TOKEN_TTL: 3600 };

const verify = (token: string, secret: string) =>
  jwtVerify(token, new TextEncoder().encode(secret), { algorithms: ['HS256'] });

describe('issueVoiceToken', () => {
  it('signs with the new TWILIO_API_KEY_SECRET after it changes (rotation)', async () => {
    issueVoiceToken(CONFIG, '42', 'apns');
    const rotated = { ...CONFIG, TWILIO_API_KEY_SECRET: 'rotated-api-key-secret-0099' };

    const { token } = issueVoiceToken(rotated, '42', 'apns');

    await expect(verify(token, rotated.TWILIO_API_KEY_SECRET)).resolves.toBeDefined();
  });

  it('signs with the API key secret as UTF-8 text, as the Python helper does', async () => {
    const config = { ...CONFIG, TWILIO_API_KEY_SECRET: 'secret-with-ünïcödé-and-€-signs' };

    const { token } = issueVoiceToken(config, '42', 'fcm');

    await expect(verify(token, config.TWILIO_API_KEY_SECRET)).resolves.toBeDefined();
  });

  it('keeps a string user id as it is in the identity', async () => {
    const { token } = issueVoiceToken(CONFIG, 'driver_123', 'apns');

    const { payload } = await verify(token, CONFIG.TWILIO_API_KEY_SECRET);

    expect((payload.grants as { identity: string }).identity).toBe(`${CONFIG.TWILIO_ML_APP_SID}_uiddriver_123`);
  });
});
