/**
 * Alerts for the on-call engineer, in the legacy controller's vendor-failure shape,
 * posted to Slack. An alert never changes a response: it is awaited with a short
 * timeout, and a failure of Slack is only logged. Without a webhook URL the alert is
 * written to the log instead.
 */
import type { FetchFunction } from '@slack/webhook';
import { withDeadline } from './deadline.js';
import { errorName, type Log } from './log.js';
import { type Gate, windowedGate } from './rateLimits.js';
import { isClosedConnection } from './staleConnectionRetry.js';

export interface VendorAlert {
  status: 'ERROR';
  vendor: 'Twilio';
  vendorApi: string;
  originApi: string;
  errorMsg: string;
  /** JSON of the request fields that explain the alert (never headers or tokens), at most META_MAX_CHARS. */
  meta: string;
  /** How many alerts were held back since the last one of this kind, when any were. */
  suppressed?: string;
}

/** Long enough for the fields that explain an alert; short enough that no alert is a payload. */
export const META_MAX_CHARS = 1000;
const CUT_MARKER = '…[cut]';

/** `text` at most `max` characters; a longer one is cut with a visible marker. */
export function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - CUT_MARKER.length)}${CUT_MARKER}`;
}

/** Characters of one request-chosen value a log line or alert shows: enough to tell values apart, never a payload. */
export const SHOWN_CHARS = 64;

/** A value a request chose, as a log line or alert shows it: at most `max` characters. */
export const shown = (value: string | undefined, max = SHOWN_CHARS): string | undefined => value?.slice(0, max);

/** A URL as an alert may show it: no query string (a caller chooses it) and no fragment. */
export function withoutQuery(url: string): string {
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}

export function vendorAlert(
  fields: Pick<VendorAlert, 'vendorApi' | 'originApi' | 'errorMsg'>,
  meta: unknown,
): VendorAlert {
  return { status: 'ERROR', vendor: 'Twilio', ...fields, meta: cut(JSON.stringify(meta ?? {}), META_MAX_CHARS) };
}

/** What the alert says about the alerts held back before it, or nothing when none were. */
export function suppressedNote(suppressed: number, suppressedByCap: number): string | undefined {
  const parts: string[] = [];
  if (suppressed > 0) parts.push(`${suppressed} more of this kind since the last one`);
  if (suppressedByCap > 0) parts.push(`${suppressedByCap} of any kind over the cap of ${ALERTS_PER_MINUTE} a minute`);
  return parts.length > 0 ? `${parts.join('; ')} were not sent` : undefined;
}

/**
 * Slack reads `&`, `<` and `>` as markup (`<!channel>` notifies everyone); request values
 * in an alert are escaped so that a caller cannot format or mention through it.
 */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The Slack message: a one-line summary for the notification, the fields for the reader. */
export function slackMessage(alert: VendorAlert) {
  // Escaping can lengthen a value; cut after it, so the message stays small whatever the meta holds.
  const safe = Object.fromEntries(
    Object.entries(alert).map(([title, value]) => [title, cut(slackEscape(value), META_MAX_CHARS)]),
  );
  return {
    text: `[${safe.status}] ${safe.vendor} ${safe.vendorApi} failed at ${safe.originApi}: ${safe.errorMsg}`,
    attachments: [
      {
        color: 'danger',
        fields: Object.entries(safe).map(([title, value]) => ({ title, value, short: title !== 'meta' })),
      },
    ],
  };
}

export const ALERT_TIMEOUT_MS = 1000;

export type AlertOrigin = Pick<VendorAlert, 'vendorApi' | 'originApi'>;

export type AlertSender = (alert: VendorAlert, webhookUrl: string | undefined) => Promise<void>;

/** `fetch` failed: no answer came. A body cut off after Slack answered is not this. */
class NoAnswer extends Error {
  override readonly name = 'NoAnswer';
  constructor(readonly failure: unknown) {
    super('no answer');
  }
}

/** The Slack client's fetch, its own failures marked: only those can be a connection found closed. */
const fetchMarkingNoAnswer: FetchFunction = (url, init) =>
  fetch(url, init as RequestInit).catch((error: unknown) => {
    throw new NoAnswer(error);
  });

/**
 * The post found its connection closed before any answer, most often a kept-alive one Slack
 * closed while the container was frozen (lib/staleConnectionRetry.ts): it is sent once more,
 * with what is left of the timeout. Not after an answer, even one whose body was cut off, nor
 * after a timeout; an alert posted twice, when Slack took it and the connection broke before
 * its answer, beats one lost. `@slack/webhook` keeps what its fetch threw as `original`.
 */
function closedBeforeAnswer(error: unknown): boolean {
  const original = (error as { original?: unknown } | undefined)?.original;
  return original instanceof NoAnswer && isClosedConnection(original.failure);
}

/**
 * Sends alerts to Slack through `@slack/webhook`, loaded on the first alert only (alerts
 * are rare; the cold start should not pay for the client).
 */
export function slackAlertSender(log: Log, timeoutMs = ALERT_TIMEOUT_MS): AlertSender {
  let slack: Promise<typeof import('@slack/webhook')> | undefined;
  const post = async (url: string, message: ReturnType<typeof slackMessage>, timeout: number) => {
    slack ??= import('@slack/webhook');
    const { IncomingWebhook } = await slack;
    return new IncomingWebhook(url, { timeout, fetch: fetchMarkingNoAnswer }).send(message);
  };
  return async (alert, webhookUrl) => {
    if (!webhookUrl) {
      log.error('Alert (no SLACK_WEBHOOK_URL configured)', { alert });
      return;
    }
    const timedOut = new Error('Slack alert timed out');
    const message = slackMessage(alert);
    const startedAt = Date.now();
    const sent = post(webhookUrl, message, timeoutMs).catch((error: unknown) => {
      const left = timeoutMs - (Date.now() - startedAt);
      return closedBeforeAnswer(error) && left > 0 ? post(webhookUrl, message, left) : Promise.reject(error);
    });
    try {
      await withDeadline(sent, timeoutMs, () => timedOut);
    } catch (error) {
      if (error === timedOut) log.warn('Slack alert timed out', { alert, timeoutMs });
      // The webhook URL is a credential: log the failure's kind, never the URL.
      else log.warn('Slack alert failed', { alert, failure: errorName(error) });
    }
  };
}

export const ALERT_WINDOW_MS = 60_000;
export const ALERTS_PER_MINUTE = 30;

/**
 * The same alert key at most once a minute, and at most 30 alerts a minute of any kind,
 * so a flood of bad requests — from one source or many — cannot flood Slack. Keys are
 * never built from what an unauthenticated caller chooses.
 */
export function alertGate(now: () => number = Date.now): Gate {
  return windowedGate({ windowMs: ALERT_WINDOW_MS, perKey: 1, total: ALERTS_PER_MINUTE, now });
}

/**
 * A route's alerts: built in the legacy shape for `origin`, sent when the gate lets the key
 * through, saying how many were held back before it.
 */
export function routeAlerts(send: AlertSender, gate: Gate, origin: AlertOrigin) {
  return async (key: string, errorMsg: string, meta: unknown, webhookUrl: string | undefined): Promise<void> => {
    const verdict = gate(key);
    if (!verdict.pass) return;
    const alert = vendorAlert({ ...origin, errorMsg }, meta);
    const note = suppressedNote(verdict.suppressed, verdict.suppressedByCap);
    await send(note ? { ...alert, suppressed: note } : alert, webhookUrl);
  };
}
