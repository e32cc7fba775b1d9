/**
 * `cdk.json`'s app: `npx cdk synth` / `npx cdk deploy`. Settings come from `-c NAME=value`
 * or the environment (see the README's "Deploy" section); a missing or malformed one stops
 * synth with a message naming it.
 */
import { ConfigError, processEnv } from '../lib/config.js';
import { createVoiceApp } from './voiceApp.js';

try {
  createVoiceApp(processEnv()).app.synth();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(
    [
      'Cannot synthesize the voice stack; give these settings with -c NAME=value or in the environment:',
      ...error.problems.map((problem) => `  - ${problem}`),
    ].join('\n'),
  );
  process.exitCode = 1;
}
