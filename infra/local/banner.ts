/**
 * What `npm start` prints, as a pure function of plain inputs: start.ts gathers them
 * (the settings, what make_call's configuration says, a development token) and prints
 * the lines; tests read exactly what a newcomer sees.
 */
import type { Config } from '../../lib/config.js';
import type { CALL_LIMIT_SETTINGS } from '../../lib/functionFields.js';
import { ROUTES } from '../routes.js';

/** Whether make_call checks Twilio signatures, as its own configuration says. */
export type SignatureCheck =
  | { status: 'checked' }
  /** No TWILIO_AUTH_TOKEN where make_call reads it: the environment, or the secret named by SECRET_ID. */
  | { status: 'unchecked'; tokenSource: 'environment' | 'secret' }
  /** The configuration could not be loaded; `problem` names settings, never values. */
  | { status: 'unloadable'; problem: string };

/** The values of the call limits, as make_call's configuration reads them (defaults included). */
export type CallLimitValues = Pick<Config, (typeof CALL_LIMIT_SETTINGS)[number]>;

/** Whether npm start runs make_call's call limits, where their table is, and what they are. */
export type CallLimits =
  /** LOCAL_CALL_LIMITS=off. */
  | { status: 'off' }
  | {
      status: 'on';
      /** `in-memory dynalite`: the server npm start runs itself; else AWS_ENDPOINT_URL_DYNAMODB's. */
      inMemory: boolean;
      endpoint: string;
      table: string;
      /** Whether the server deletes expired items; dynalite does not. */
      ttl: boolean;
      /** The limits, or why they cannot be read (a bad setting, named but not its value). */
      limits: CallLimitValues | { problem: string };
    };

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
  callLimits: CallLimits;
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
        'Until it can, make_call answers "please try again later" and dials nothing.',
      ];
  }
}

/** An endpoint as printed: without any user name or password in it. */
export function shownEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    if (!url.username && !url.password) return endpoint;
    url.username = '';
    url.password = '';
    return url.href;
  } catch {
    return endpoint;
  }
}

function callLimitLines(callLimits: CallLimits): string[] {
  if (callLimits.status === 'off') {
    return ['', 'Call limits: OFF (LOCAL_CALL_LIMITS=off): make_call counts no calls. Unset it to switch them on.'];
  }
  const where = callLimits.inMemory
    ? `an in-memory dynalite at ${callLimits.endpoint} (emptied when npm start stops)`
    : `AWS_ENDPOINT_URL_DYNAMODB ${shownEndpoint(callLimits.endpoint)}`;
  const lines = ['', `Call limits: ON, counted in DynamoDB table ${callLimits.table} on ${where}.`];
  const { limits } = callLimits;
  if ('problem' in limits) {
    lines.push(`  The limits could not be read: ${limits.problem}`);
  } else {
    const failClosed = limits.CALL_LIMITS_FAIL_CLOSED;
    lines.push(
      `  Per caller: ${limits.MAX_PHONE_CALLS_PER_HOUR} phone calls an hour (MAX_PHONE_CALLS_PER_HOUR), ` +
        `${limits.MAX_PHONE_CALLS_PER_DAY} a day (MAX_PHONE_CALLS_PER_DAY), ` +
        `${limits.MAX_CONCURRENT_PHONE_CALLS} at a time (MAX_CONCURRENT_PHONE_CALLS); ` +
        `${limits.MAX_CLIENT_CALLS_PER_HOUR} app-to-app calls an hour (MAX_CLIENT_CALLS_PER_HOUR).`,
      `  Service-wide: ${limits.MAX_PHONE_CALLS_PER_MINUTE} phone calls a minute (MAX_PHONE_CALLS_PER_MINUTE).`,
      failClosed
        ? '  When the table cannot be read in time, calls are refused: fail-closed (CALL_LIMITS_FAIL_CLOSED=true).'
        : '  When the table cannot be read in time, calls go through unchecked: fail-open (CALL_LIMITS_FAIL_CLOSED=false).',
    );
  }
  if (!callLimits.ttl) lines.push('  This server has no TTL: expired counters are not deleted.');
  lines.push('  LOCAL_CALL_LIMITS=off switches them off.');
  return lines;
}

export function bannerLines({
  base,
  developmentSettings,
  signatureCheck,
  devToken,
  appSid,
  callLimits,
}: BannerInputs): string[] {
  // Another script parses this first line (the port, with PORT=0): keep it as it is.
  const lines = [`Voice service (local gateway) listening on ${base}`];
  for (const route of ROUTES)
    lines.push(`  ${route.method.padEnd(4)} ${base}${route.path}${route.authorized ? '  (bearer token)' : ''}`);
  if (developmentSettings.length > 0) {
    lines.push('', `Using built-in DEVELOPMENT settings for: ${developmentSettings.join(', ')}.`);
    lines.push('They are fake; set real ones in .env (see .env.example) to talk to Twilio.');
  }
  lines.push(...signatureLines(signatureCheck));
  lines.push(...callLimitLines(callLimits));
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
  const makeCall = `${base}/api/v1/make_call`;
  if (signatureCheck.status === 'checked') {
    // An unsigned curl would only get 403: say what a request needs instead.
    lines.push(
      `  make_call answers requests signed for ${makeCall} with TWILIO_AUTH_TOKEN, as Twilio signs them; others get 403.`,
    );
    return lines;
  }
  // make_call answers only callers this service issued tokens to: user 42 of the configured TwiML
  // app; Twilio sends a CallSid with every call, and with the call limits on one without is not dialed.
  const caller = `client:${appSid}_uid42`;
  lines.push(
    `  curl -s -X POST --data-urlencode 'to=+14155550123' --data-urlencode 'From=${caller}' --data-urlencode "CallSid=CA$(openssl rand -hex 16)" '${makeCall}'`,
  );
  return lines;
}
