/**
 * A function's configuration: the settings it names, from the environment, plus the
 * secrets it names, from the secret source through `secretCache`. Settings are validated
 * once, when the loader is made; a bad one is reported on every request rather than
 * crashing the container at import, so the handler can answer and say which setting is
 * wrong. Secrets are validated on every read of the store, so a bad edit of the secret is
 * a failed read and the last good value keeps serving.
 */
import { type Config, ConfigError, type Env, FIELDS, type FieldName, parseFields } from './config.js';
import { SECRET_PLUMBING } from './functionFields.js';
import {
  type SecretNotice,
  type SecretSource,
  secretCache,
  secretsFromEnv,
  secretsFromSecretsManager,
} from './secrets.js';

export interface LoadedConfig<K extends FieldName> {
  config: Pick<Config, K>;
  /** The secrets are past SECRETS_CACHE_TTL: the store could not be read. */
  stale: boolean;
  /** What the secret cache has to report since the last load (stale, recovered). */
  notices: readonly SecretNotice[];
}

/** Called, the configuration; `read()` also tells how fresh the secrets are. */
export type ConfigLoader<K extends FieldName> = (() => Promise<Pick<Config, K>>) & {
  read(): Promise<LoadedConfig<K>>;
};

export interface ConfigLoaderOptions<K extends FieldName> {
  /** Where the secrets come from; by default Secrets Manager with SECRET_ID, else `env`. */
  secrets?: SecretSource;
  /** Problems with the settings that their own parsers cannot see (each naming its setting). */
  check?: (settings: Pick<Config, K>) => string[];
  /** The cache's clock (tests). */
  now?: () => number;
}

export function configLoader<K extends FieldName>(
  names: readonly K[],
  env: Env,
  options: ConfigLoaderOptions<K> = {},
): ConfigLoader<K> {
  const settingNames = names.filter((name) => !FIELDS[name].secret);
  const secretNames = names.filter((name) => FIELDS[name].secret);
  let read: (() => Promise<LoadedConfig<K>>) | undefined;
  let settingsError: unknown;
  try {
    const settings = parseFields(settingNames, env) as Pick<Config, K>;
    const problems = options.check?.(settings) ?? [];
    if (problems.length > 0) throw new ConfigError(problems);
    if (secretNames.length === 0) {
      const loaded = { config: settings, stale: false, notices: [] };
      read = async () => loaded;
    } else {
      const plumbing = parseFields(SECRET_PLUMBING, env);
      const source =
        options.secrets ?? (plumbing.SECRET_ID ? secretsFromSecretsManager(plumbing.SECRET_ID) : secretsFromEnv(env));
      const cache = secretCache(
        async () => ({ ...settings, ...parseFields(secretNames, await source()) }) as Pick<Config, K>,
        {
          ttlMs: plumbing.SECRETS_CACHE_TTL * 1000,
          maxStaleMs: plumbing.SECRETS_MAX_STALE * 1000,
          ...(options.now ? { now: options.now } : {}),
        },
      );
      read = async () => {
        const { value, stale, notices } = await cache();
        return { config: value, stale, notices };
      };
    }
  } catch (error) {
    settingsError = error;
  }
  const load = async () => {
    if (!read) throw settingsError;
    return read();
  };
  return Object.assign(async () => (await load()).config, { read: load });
}
