/**
 * What `npm start` prints, as a pure function of plain inputs: start.ts gathers them
 * (the settings, what make_call's configuration says, a development token) and prints
 * the lines; tests read exactly what a newcomer sees.
 */
import { ROUTES } from '../routes.js';

/** Whether make_call checks Twilio signatures, as its own configuration says. */
export type SignatureCheck =
  | { status: 'checked' }
  /** No TWILIO_AUTH_TOKEN where make_call reads it: the environment, or the secret named by SECRET_ID. */
  | { status: 'unchecked'; tokenSource: 'environment' | 'secret' }
  /** The configuration could not be loaded; `problem` names settings, never values. */
  | { status: 'unloadable'; problem: string };

export interface BannerInputs {
  /** `http://127.0.0.1:<port>`, the port the gateway listens on. */
  base: string;
  /** The settings that fell back to development values (`localEnv`). */
  developmentSettings: readonly string[];
  signatureCheck: SignatureCheck;
  /** A token for user 42 signed with the development JWT_SECRET; printed only while that secret is in use. */
  devToken?: string;
  /** TWILIO_ML_APP_SID: the make_call example calls as one of its users. */
  appSid: string | undefined;
}

/** Whether the built-in development JWT_SECRET is in use: the only secret whose tokens may be printed. */
export const usesDevelopmentJwtSecret = (developmentSettings: readonly string[]) =>
  developmentSettings.includes('JWT_SECRET');

function signatureLines(check: SignatureCheck): string[] {
  const unchecked = 'make_call does NOT check Twilio signatures (local gateway only).';
  switch (check.status) {
    case 'checked':
      return [];
    case 'unchecked':
      return check.tokenSource === 'secret'
        ? ['', `The secret named by SECRET_ID has no TWILIO_AUTH_TOKEN: ${unchecked}`]
        : ['', `TWILIO_AUTH_TOKEN is not set: ${unchecked}`];
    case 'unloadable':
      return [
        '',
        `make_call's configuration could not be loaded: ${check.problem}`,
        'Until it can, make_call answers "please try again later" (403 to unsigned requests) and dials nothing.',
      ];
  }
}

export function bannerLines({ base, developmentSettings, signatureCheck, devToken, appSid }: BannerInputs): string[] {
  // Another script parses this first line (the port, with PORT=0): keep it as it is.
  const lines = [`Voice service (local gateway) listening on ${base}`];
  for (const route of ROUTES)
    lines.push(`  ${route.method.padEnd(4)} ${base}${route.path}${route.authorized ? '  (bearer token)' : ''}`);
  if (developmentSettings.length > 0) {
    lines.push('', `Using built-in DEVELOPMENT settings for: ${developmentSettings.join(', ')}.`);
    lines.push('They are fake; set real ones in .env (see .env.example) to talk to Twilio.');
  }
  lines.push(...signatureLines(signatureCheck));
  const callToken = `'${base}/api/v1/call_token?type=apns'`;
  if (devToken && usesDevelopmentJwtSecret(developmentSettings)) {
    lines.push('', 'A development token for user 42 (valid 1 hour):', devToken, '', 'Try:');
    lines.push(`  curl -s -H "Authorization: Bearer ${devToken}" ${callToken}`);
  } else {
    // A token signed with a real JWT_SECRET is a live credential: never print one.
    lines.push('', 'Try (JWT_SECRET is a real secret, so no token is printed; this makes one):');
    lines.push('  TOKEN=$(npm run --silent token -- --user 42)');
    lines.push(`  curl -s -H "Authorization: Bearer $TOKEN" ${callToken}`);
  }
  // make_call answers only callers this service issued tokens to: user 42 of the configured TwiML app.
  const caller = `client:${appSid}_uid42`;
  lines.push(
    `  curl -s -X POST --data-urlencode 'to=+14155550123' --data-urlencode 'From=${caller}' '${base}/api/v1/make_call'`,
  );
  return lines;
}
