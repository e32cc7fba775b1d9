/**
 * Each function's environment exactly as the stack deploys it: the synthesized template's
 * `Environment.Variables` (NODE_OPTIONS and POWERTOOLS_* included, whatever they are today),
 * its CloudFormation references resolved to bench values, plus what Lambda itself provides.
 *
 * The synth (test/infra/stackFixture.ts: cdk.json's context, no bundling) runs in a child
 * process: aws-cdk-lib is large, and the bench process, which serves the loopback endpoints
 * while cold starts are timed, should stay small and quiet.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { SECRET_NAMES } from '../../lib/config.js';
import { FUNCTION_FIELDS, type FunctionName } from '../../lib/functionFields.js';
import { BENCH_SECRETS, type FunctionProps, lambdaProvidedEnv, STACK_REFERENCES } from './benchEnv.js';

export interface DeployedFunction extends FunctionProps {
  /** The template's Environment.Variables, as synthesized (references unresolved). */
  variables: Record<string, unknown>;
}

export type Deployed = Record<FunctionName, DeployedFunction>;

/** Synthesizes the stack in a child process and reads every function's settings from the template. */
export async function synthesizeFunctions(tempDir: string): Promise<Deployed> {
  const out = join(tempDir, 'deployed.json');
  await promisify(execFile)(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), out], {
    cwd: join(import.meta.dirname, '..', '..'),
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(readFileSync(out, 'utf8')) as Deployed;
}

/**
 * Where the secrets come from and whether the call limits are on:
 * - `env`: secrets in the environment (no SECRET_ID), limits off (no CALL_LIMITS_TABLE);
 * - `secretsManager`: the template's SECRET_ID, read from the loopback endpoint; limits off;
 * - `callLimits`: secrets in the environment, the template's CALL_LIMITS_TABLE in dynalite.
 */
export type Scenario = 'env' | 'secretsManager' | 'callLimits';

export interface Endpoints {
  secretsManager: string;
  dynamodb: string;
}

/** The environment a fresh Lambda container of `name` would have, for one scenario. */
export function functionEnv(
  deployed: Deployed,
  name: FunctionName,
  scenario: Scenario,
  endpoints: Endpoints,
): Record<string, string> {
  const fn = deployed[name];
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(fn.variables)) {
    if (typeof value === 'string') env[key] = value;
    else if (key in STACK_REFERENCES) env[key] = STACK_REFERENCES[key as keyof typeof STACK_REFERENCES] as string;
    else
      throw new Error(`${name}: ${key} is ${JSON.stringify(value)} in the template, and the bench has no value for it`);
  }
  const secretsFromStore = scenario === 'secretsManager' && env.SECRET_ID !== undefined;
  if (secretsFromStore) {
    env.AWS_ENDPOINT_URL_SECRETS_MANAGER = endpoints.secretsManager;
  } else {
    delete env.SECRET_ID;
    // The secrets this function reads, as an operator could give them without Secrets Manager.
    for (const field of FUNCTION_FIELDS[name]) {
      if ((SECRET_NAMES as readonly string[]).includes(field)) env[field] = BENCH_SECRETS[field] ?? '';
    }
  }
  if (scenario === 'callLimits') {
    if (env.CALL_LIMITS_TABLE === undefined) throw new Error(`the stack gives ${name} no CALL_LIMITS_TABLE`);
    env.AWS_ENDPOINT_URL_DYNAMODB = endpoints.dynamodb;
  } else {
    delete env.CALL_LIMITS_TABLE;
  }
  // Lambda's own variables last: the template cannot set reserved ones.
  return { ...env, ...lambdaProvidedEnv(fn) };
}

/** NODE_OPTIONS with or without one flag, the rest as the template has it. */
export function withNodeOption(env: Record<string, string>, flag: string, on: boolean): Record<string, string> {
  const others = (env.NODE_OPTIONS ?? '').split(/\s+/).filter((option) => option !== '' && option !== flag);
  const options = on ? [...others, flag] : others;
  const { NODE_OPTIONS: _dropped, ...rest } = env;
  return options.length > 0 ? { ...rest, NODE_OPTIONS: options.join(' ') } : rest;
}

/** The child: synthesize and write each function's settings to the file named in argv. */
async function main(out: string) {
  const { logicalId, removeOutdirs, SETTINGS, synth } = await import('../infra/stackFixture.js');
  const { FUNCTION_NAMES } = await import('../../infra/settings.js');
  const voiceApp = synth(SETTINGS);
  const resources = voiceApp.template.toJSON().Resources as Record<string, { Properties: Record<string, unknown> }>;
  const deployed = {} as Record<FunctionName, DeployedFunction>;
  for (const name of FUNCTION_NAMES) {
    const id = logicalId(voiceApp, voiceApp.stack.functions[name]);
    const props = resources[id]?.Properties;
    if (!props) throw new Error(`no ${id} in the template`);
    const logging = (props.LoggingConfig ?? {}) as { LogFormat?: string; ApplicationLogLevel?: string };
    deployed[name] = {
      functionName: `${voiceApp.stack.stackName}-${name}`,
      memorySize: Number(props.MemorySize ?? 128),
      runtime: String(props.Runtime),
      handler: String(props.Handler),
      logFormat: logging.LogFormat,
      applicationLogLevel: logging.ApplicationLogLevel,
      variables: ((props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ??
        {}) as Record<string, unknown>,
    };
  }
  removeOutdirs();
  writeFileSync(out, JSON.stringify(deployed));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv[2] as string);
}
