/**
 * Builds the voice stack the way `npx cdk synth` does (cdk.json's context, the same
 * createVoiceApp), into a temporary directory, by default without bundling.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { PROJECT_ROOT } from '../../infra/bundling.js';
import { createVoiceApp, type VoiceApp } from '../../infra/voiceApp.js';
import type { Env } from '../../lib/config.js';

/** Fake but valid: what `.ci/run` also synthesizes with. */
export const SETTINGS = {
  TWILIO_ACCOUNT_SID: `AC${'0a'.repeat(16)}`,
  TWILIO_ML_APP_SID: `AP${'1b'.repeat(16)}`,
  TWILIO_ML_APNS_CERT_SID: `CR${'2c'.repeat(16)}`,
  TWILIO_ML_FCM_CERT_SID: `CR${'3d'.repeat(16)}`,
  TWILIO_FROM: '+15005550006',
} as const;

const CDK_JSON_CONTEXT = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')).context as Record<
  string,
  unknown
>;

const outdirs: string[] = [];

export interface Synthesized extends VoiceApp {
  template: Template;
  /** The template as one JSON string, for "appears nowhere" checks. */
  text: string;
  outdir: string;
}

export function tempOutdir(): string {
  const outdir = mkdtempSync(join(tmpdir(), 'voice-cdk-'));
  outdirs.push(outdir);
  return outdir;
}

export function synth(env: Env = SETTINGS, options: { bundle?: boolean; context?: Record<string, unknown> } = {}) {
  const outdir = tempOutdir();
  const context = {
    ...CDK_JSON_CONTEXT,
    ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
    ...options.context,
  };
  const voiceApp = createVoiceApp(env, { context, outdir });
  const template = Template.fromStack(voiceApp.stack);
  return { ...voiceApp, template, text: JSON.stringify(template.toJSON()), outdir } satisfies Synthesized;
}

export function removeOutdirs() {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** The logical id CloudFormation knows a construct's resource by. */
export function logicalId(voiceApp: VoiceApp, construct: { node: { defaultChild?: unknown } }): string {
  return voiceApp.stack.getLogicalId(construct.node.defaultChild as Parameters<VoiceApp['stack']['getLogicalId']>[0]);
}
