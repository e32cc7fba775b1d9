/**
 * A function's configuration: the settings it names, from the environment, plus the
 * secrets it names, from the secret source. Settings are validated once, when the
 * loader is made; a bad one is reported on every request rather than crashing the
 * container at import, so the handler can answer 500 and say which setting is wrong.
 */
import { type Config, ConfigError, type Env, FIELDS, type FieldName, parseFields } from './config.js';
import { SECRET_PLUMBING } from './functionFields.js';
import { defaultSecretSource, type SecretSource, type SecretValues } from './secrets.js';

export type ConfigLoader<K extends FieldName> = () => Promise<Pick<Config, K>>;

export interface ConfigLoaderOptions<K extends FieldName> {
  /** Where the secrets come from; by default Secrets Manager with SECRET_ID, else `env`. */
  secrets?: SecretSource;
  /** Problems with the settings that their own parsers cannot see (each naming its setting). */
  check?: (settings: Pick<Config, K>) => string[];
}

export function configLoader<K extends FieldName>(
  names: readonly K[],
  env: Env,
  options: ConfigLoaderOptions<K> = {},
): ConfigLoader<K> {
  const settingNames = names.filter((name) => !FIELDS[name].secret);
  const secretNames = names.filter((name) => FIELDS[name].secret);
  let settings: Pick<Config, K> | undefined;
  let settingsError: unknown;
  let source = options.secrets;
  try {
    settings = parseFields(settingNames, env) as Pick<Config, K>;
    const problems = options.check?.(settings) ?? [];
    if (problems.length > 0) throw new ConfigError(problems);
    if (!source && secretNames.length > 0) {
      const plumbing = parseFields(SECRET_PLUMBING, env);
      source = defaultSecretSource(env, plumbing.SECRET_ID, plumbing.SECRETS_CACHE_TTL);
    }
  } catch (error) {
    settingsError = error;
  }

  // The secret source returns the same object until its cache expires; parse each object once.
  let parsedFrom: SecretValues | undefined;
  let parsed: Pick<Config, K> | undefined;
  return async () => {
    if (settingsError !== undefined) throw settingsError;
    if (!source) return settings as Pick<Config, K>;
    const values = await source();
    if (values !== parsedFrom || !parsed) {
      parsed = { ...settings, ...parseFields(secretNames, values) } as Pick<Config, K>;
      parsedFrom = values;
    }
    return parsed;
  };
}
