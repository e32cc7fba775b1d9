/**
 * cdk-nag (AWS Solutions): no unacknowledged finding, and every acknowledgement is one
 * rule on one construct, with a reason, for a finding that really fires there.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { parseStackSettings } from '../../infra/settings.js';
import { VoiceStack } from '../../infra/voiceStack.js';
import { removeOutdirs, SETTINGS, synth, tempOutdir } from './stackFixture.js';

afterAll(removeOutdirs);
afterEach(() => vi.restoreAllMocks());

/** Rule and construct path of every finding AwsSolutions raises on the stack. */
function findings(stack: IConstruct) {
  const report = new AwsSolutionsChecks().validateScope(stack);
  return report.violations.flatMap((violation) =>
    violation.violatingResources.map((resource) => ({ rule: violation.ruleName, path: resource.constructPath })),
  );
}

function acknowledgements(stack: IConstruct) {
  return stack.node
    .findAll()
    .flatMap((construct) =>
      construct.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .map((entry) => ({ path: construct.node.path, rules: entry.data as Record<string, string> })),
    );
}

const EXPECTED = [
  { rule: 'AwsSolutions-SMG4', path: 'VoiceService/Secrets' },
  { rule: 'AwsSolutions-APIG4', path: 'VoiceService/Api/POST--api--v1--make_call' },
  { rule: 'AwsSolutions-APIG4', path: 'VoiceService/Api/POST--api--v1--dial_status' },
  { rule: 'AwsSolutions-APIG4', path: 'VoiceService/Api/POST--api--v1--call_status' },
  { rule: 'AwsSolutions-DDB3', path: 'VoiceService/CallLimitsTable' },
];

describe('cdk-nag AwsSolutions', () => {
  it.each([
    ['defaults', SETTINGS],
    [
      'an imported secret, alarm email, custom domain',
      {
        ...SETTINGS,
        SECRET_NAME: 'prod/voice',
        ALARM_EMAIL: 'oncall@example.com',
        PUBLIC_BASE_URL: 'https://voice.example.com',
      },
    ],
    ['call limits off', { ...SETTINGS, CALL_LIMITS: 'off' }],
  ])('finds nothing unacknowledged (%s), and synth with the plugin passes', (_, env) => {
    const { stack } = synth(env);
    expect(findings(stack)).toEqual([]);
  });

  it('has exactly the expected acknowledgements, each one rule on one construct with a reason', () => {
    const acks = acknowledgements(synth().stack);
    expect(acks.map((ack) => ({ path: ack.path, ids: Object.keys(ack.rules) }))).toEqual(
      EXPECTED.map(({ rule, path }) => ({ path, ids: [`Annotation::${rule}`] })),
    );
    for (const ack of acks) {
      for (const reason of Object.values(ack.rules)) expect(reason.length, ack.path).toBeGreaterThan(80);
    }
  });

  it('call limits off: no table, so no DDB3 acknowledgement, and the others unchanged', () => {
    const acks = acknowledgements(synth({ ...SETTINGS, CALL_LIMITS: 'off' }).stack);
    expect(acks.map((ack) => ({ path: ack.path, ids: Object.keys(ack.rules) }))).toEqual(
      EXPECTED.filter(({ rule }) => rule !== 'AwsSolutions-DDB3').map(({ rule, path }) => ({
        path,
        ids: [`Annotation::${rule}`],
      })),
    );
  });

  it('each acknowledged rule really fires on its construct (no stale acknowledgement), and nothing else does', () => {
    vi.spyOn(Validations.prototype, 'acknowledge').mockImplementation(() => undefined);
    // The stack alone, not synthesized: with the plugin registered, synth itself would fail.
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, outdir: tempOutdir() });
    const stack = new VoiceStack(app, 'VoiceService', { settings: parseStackSettings(SETTINGS) });
    const raised = findings(stack);
    expect(raised).toEqual(EXPECTED.map(({ rule, path }) => ({ rule, path: `${path}/Resource` })));
  });
});
