/**
 * The CDK app: settings from context or the environment, validated; the voice stack;
 * cdk-nag's AWS Solutions checks on everything. `infra/app.ts` runs it for the CLI; the
 * tests build it the same way.
 */
import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Env } from '../lib/config.js';
import { parseStackSettings, settingValues } from './settings.js';
import { VoiceStack } from './voiceStack.js';

export interface VoiceApp {
  app: App;
  stack: VoiceStack;
}

/** Throws a ConfigError naming every missing or malformed setting before anything is built. */
export function createVoiceApp(env: Env, props: AppProps = {}): VoiceApp {
  const app = new App(props);
  const settings = parseStackSettings(settingValues(app.node, env));
  const stack = new VoiceStack(app, settings.stackName, {
    settings,
    description: 'Voice service: Twilio voice tokens and webhook behind API Gateway (HTTP API)',
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
