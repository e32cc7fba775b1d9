/**
 * The on-demand build's entry for Slack's client (infra/bundling.ts). `@slack/webhook` is
 * CommonJS: built as an entry of its own, esbuild would give it one export, `default` (its
 * `module.exports`), and lib/alerts.ts's `import('@slack/webhook')` would find no
 * `IncomingWebhook`. Named here, it is an ES module export like any other.
 */
export { IncomingWebhook } from '@slack/webhook';
