/**
 * Alerts for the on-call engineer, in the legacy controller's vendor-failure shape,
 * posted to Slack. An alert never changes a response: it is awaited with a short
 * timeout, and a failure of Slack is only logged. Without a webhook URL the alert is
 * written to the log instead.
 */
import type { IncomingWebhook } from '@slack/webhook';
import { describeError, type Log } from './log.js';

export interface VendorAlert {
  status: 'ERROR';
  vendor: 'Twilio';
  vendorApi: string;
  originApi: string;
  errorMsg: string;
  /** JSON of the request fields that explain the alert (never headers or tokens). */
  meta: string;
}

export function vendorAlert(
  fields: Pick<VendorAlert, 'vendorApi' | 'originApi' | 'errorMsg'>,
  meta: unknown,
): VendorAlert {
  return { status: 'ERROR', vendor: 'Twilio', ...fields, meta: JSON.stringify(meta ?? {}) };
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
  const safe = Object.fromEntries(Object.entries(alert).map(([title, value]) => [title, slackEscape(value)]));
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

/**
 * Sends alerts to Slack through `@slack/webhook`, loaded on the first alert only (alerts
 * are rare; the cold start should not pay for the client).
 */
export function slackAlertSender(log: Log, timeoutMs = ALERT_TIMEOUT_MS): AlertSender {
  const webhooks = new Map<string, Promise<IncomingWebhook>>();
  const webhookFor = (url: string) => {
    let webhook = webhooks.get(url);
    if (!webhook) {
      webhook = import('@slack/webhook').then(
        ({ IncomingWebhook }) => new IncomingWebhook(url, { timeout: timeoutMs }),
      );
      webhooks.set(url, webhook);
    }
    return webhook;
  };
  return async (alert, webhookUrl) => {
    if (!webhookUrl) {
      log.error('Alert (no SLACK_WEBHOOK_URL configured)', { alert });
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const send = webhookFor(webhookUrl).then((webhook) => webhook.send(slackMessage(alert)));
    try {
      const outcome = await Promise.race([send, deadline]);
      if (outcome === 'timeout') {
        send.catch(() => undefined);
        log.warn('Slack alert timed out', { alert, timeoutMs });
      }
    } catch (error) {
      // The webhook URL is a credential: log the failure's kind, never the URL.
      log.warn('Slack alert failed', { alert, failure: describeError(error).name });
    } finally {
      clearTimeout(timer);
    }
  };
}

/**
 * Lets the same alert through at most once per window, and at most `maxPerWindow`
 * alerts of any kind per window, so a flood of bad requests — from one source or many —
 * cannot flood Slack. State is per container, which is enough to cap the rate.
 */
export function alertDeduplicator(windowMs: number, now: () => number = Date.now, maxPerWindow = 30) {
  const lastSent = new Map<string, number>();
  return (key: string): boolean => {
    const time = now();
    for (const [k, t] of lastSent) if (time - t >= windowMs) lastSent.delete(k);
    if (lastSent.has(key) || lastSent.size >= maxPerWindow) return false;
    lastSent.set(key, time);
    return true;
  };
}

/**
 * A route's alerts: built in the legacy shape for `origin`, sent unless `shouldAlert`
 * says the same key (kind and value) went out within the window.
 */
export function routeAlerts(send: AlertSender, shouldAlert: (key: string) => boolean, origin: AlertOrigin) {
  return async (key: string, errorMsg: string, meta: unknown, webhookUrl: string | undefined): Promise<void> => {
    if (shouldAlert(key)) await send(vendorAlert({ ...origin, errorMsg }, meta), webhookUrl);
  };
}
