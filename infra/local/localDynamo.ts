/**
 * The call limits' DynamoDB table for `npm start`, so that the limits run on a laptop
 * through the same code path as on Lambda: an in-memory dynalite in the gateway process,
 * or whatever DynamoDB-compatible server AWS_ENDPOINT_URL_DYNAMODB names. The functions
 * read CALL_LIMITS_TABLE through their configuration and the AWS SDK reads
 * AWS_ENDPOINT_URL_DYNAMODB from the process environment, so both are laid over.
 *
 * LOCAL_CALL_LIMITS=off (a local-gateway-only setting) switches the limits off.
 */
import type { AddressInfo } from 'node:net';
import { CALL_LIMITS_TABLE_SCHEMA, LOCAL_CALL_LIMITS_TABLE } from '../../lib/callLimitsTable.js';
import { ConfigError, type Env, parseFields } from '../../lib/config.js';
import { CALL_LIMIT_SETTINGS } from '../../lib/functionFields.js';
import type { CallLimits } from './banner.js';

/** The local-gateway-only setting that switches the call limits on (the default) or off. */
export const LOCAL_CALL_LIMITS = 'LOCAL_CALL_LIMITS';

/** `on` (or unset) or `off`, nothing else: a typo must not silently mean either. */
export function localCallLimitsOn(env: Env): boolean {
  const raw = env[LOCAL_CALL_LIMITS]?.trim() ?? '';
  if (raw === '' || raw === 'on') return true;
  if (raw === 'off') return false;
  throw new ConfigError([`${LOCAL_CALL_LIMITS} must be on or off`]);
}

export interface Dynalite {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  close(): Promise<void>;
}

/** An in-memory dynalite on a free loopback port; tables are ACTIVE as soon as they are created. */
export async function startDynalite(): Promise<Dynalite> {
  const { default: dynalite } = await import('dynalite');
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

export interface TableOptions {
  /** Without them, the SDK's default chain (the environment, a profile, …). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  region?: string;
}

export interface CreatedTable {
  /** Whether it was there already (with the right key), rather than created now. */
  existed: boolean;
  /** Whether the server expires items by TTL attribute (dynalite does not). */
  ttl: boolean;
}

/**
 * Creates the call-limits table at `endpoint` unless it exists: partition key `pk` (S),
 * on-demand, TTL on `expiresAt` where the server supports it. A table of that name with
 * another key is an error, not something to count calls in.
 */
export async function createCallLimitsTable(
  endpoint: string,
  name: string,
  options: TableOptions = {},
): Promise<CreatedTable> {
  const sdk = await import('@aws-sdk/client-dynamodb');
  const client = new sdk.DynamoDBClient({
    endpoint,
    ...(options.region ? { region: options.region } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: 3,
    // An endpoint that never answers must fail the start, not hang it.
    requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000, throwOnRequestTimeout: true },
  });
  const key = CALL_LIMITS_TABLE_SCHEMA.partitionKey;
  try {
    let existed = false;
    try {
      await client.send(
        new sdk.CreateTableCommand({
          TableName: name,
          AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }],
          KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    } catch (error) {
      if (!(error instanceof sdk.ResourceInUseException)) throw error;
      existed = true;
    }
    await sdk.waitUntilTableExists({ client, minDelay: 1, maxDelay: 2, maxWaitTime: 60 }, { TableName: name });
    const { Table } = await client.send(new sdk.DescribeTableCommand({ TableName: name }));
    const keySchema = Table?.KeySchema ?? [];
    const keyType = Table?.AttributeDefinitions?.find((a) => a.AttributeName === key)?.AttributeType;
    if (keySchema.length !== 1 || keySchema[0]?.AttributeName !== key || keyType !== 'S') {
      throw new Error(`the table ${name} exists with another key: the call limits need partition key ${key} (S) alone`);
    }
    return { existed, ttl: await enableTtl(sdk, client, name) };
  } finally {
    client.destroy();
  }
}

type Sdk = typeof import('@aws-sdk/client-dynamodb');

/** TTL on `expiresAt`: true when the server has it on. A server without TTL (dynalite) is tolerated. */
async function enableTtl(sdk: Sdk, client: InstanceType<Sdk['DynamoDBClient']>, name: string): Promise<boolean> {
  const attribute = CALL_LIMITS_TABLE_SCHEMA.ttlAttribute;
  try {
    const { TimeToLiveDescription: ttl } = await client.send(new sdk.DescribeTimeToLiveCommand({ TableName: name }));
    if (ttl?.AttributeName === attribute && (ttl.TimeToLiveStatus === 'ENABLED' || ttl.TimeToLiveStatus === 'ENABLING'))
      return true;
    await client.send(
      new sdk.UpdateTimeToLiveCommand({
        TableName: name,
        TimeToLiveSpecification: { AttributeName: attribute, Enabled: true },
      }),
    );
    return true;
  } catch (error) {
    const errorName = (error as { name?: unknown }).name;
    // dynalite knows DescribeTimeToLive (always DISABLED) but not UpdateTimeToLive.
    if (errorName === 'UnknownOperationException' || errorName === 'UnknownOperation') return false;
    throw error;
  }
}

export interface LocalDynamo {
  /** `http://127.0.0.1:<port>` of the in-memory dynalite, or AWS_ENDPOINT_URL_DYNAMODB as given. */
  endpoint: string;
  /** Whether npm start runs the server itself (dynalite), rather than using AWS_ENDPOINT_URL_DYNAMODB's. */
  inMemory: boolean;
  table: string;
  /** Whether the server deletes expired items (TTL); dynalite does not. */
  ttl: boolean;
  /** To lay over the functions' settings. */
  env: { AWS_ENDPOINT_URL_DYNAMODB: string; CALL_LIMITS_TABLE: string };
  close(): Promise<void>;
}

const DUMMY_AWS = {
  AWS_ACCESS_KEY_ID: 'AKIDLOCALDYNAMO',
  AWS_SECRET_ACCESS_KEY: 'local-dynamo-secret-access-key',
  AWS_REGION: 'us-east-1',
} as const;

const isLoopback = (endpoint: string) => {
  try {
    return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(endpoint).hostname);
  } catch {
    return false;
  }
};

/**
 * Dummy credentials and region, each only where unset, for a server that takes any: not
 * when the gateway talks to AWS (SECRET_ID, AWS_PROFILE) or the endpoint is not on this
 * machine, where they would shadow the developer's own (a profile in ~/.aws).
 */
function fillDummyAwsSettings(env: Env, processEnvironment: NodeJS.ProcessEnv, endpoint: string, inMemory: boolean) {
  if (env.SECRET_ID || env.AWS_PROFILE || processEnvironment.AWS_PROFILE) return;
  if (!inMemory && !isLoopback(endpoint)) return;
  if (!processEnvironment.AWS_ACCESS_KEY_ID && !processEnvironment.AWS_SECRET_ACCESS_KEY) {
    processEnvironment.AWS_ACCESS_KEY_ID = DUMMY_AWS.AWS_ACCESS_KEY_ID;
    processEnvironment.AWS_SECRET_ACCESS_KEY = DUMMY_AWS.AWS_SECRET_ACCESS_KEY;
  }
  if (!processEnvironment.AWS_REGION) processEnvironment.AWS_REGION = DUMMY_AWS.AWS_REGION;
}

/** What the functions' SDK clients will find in `processEnvironment`, for the client that creates the table. */
function sdkSettings(processEnvironment: NodeJS.ProcessEnv): TableOptions {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = processEnvironment;
  const sessionToken = processEnvironment.AWS_SESSION_TOKEN;
  return {
    ...(accessKeyId && secretAccessKey
      ? { credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } }
      : {}),
    ...(processEnvironment.AWS_REGION ? { region: processEnvironment.AWS_REGION } : {}),
  };
}

/**
 * With the limits on: the endpoint (AWS_ENDPOINT_URL_DYNAMODB's, else an in-memory
 * dynalite started here) and the table CALL_LIMITS_TABLE (default `voice-call-limits`),
 * created when missing. Sets AWS_ENDPOINT_URL_DYNAMODB in `processEnvironment` too, where
 * the SDK reads it. With LOCAL_CALL_LIMITS=off: undefined. Throws when the table cannot
 * be had (a bad setting, an endpoint that does not answer).
 */
export async function startLocalDynamo(
  env: Env,
  processEnvironment: NodeJS.ProcessEnv = process.env,
): Promise<LocalDynamo | undefined> {
  if (!localCallLimitsOn(env)) return undefined;
  const table = parseFields(['CALL_LIMITS_TABLE'], env).CALL_LIMITS_TABLE ?? LOCAL_CALL_LIMITS_TABLE;
  const given = env.AWS_ENDPOINT_URL_DYNAMODB?.trim();
  if (given && !URL.canParse(given)) throw new ConfigError(['AWS_ENDPOINT_URL_DYNAMODB must be an absolute URL']);
  if (given && !['http:', 'https:'].includes(new URL(given).protocol)) {
    throw new ConfigError(['AWS_ENDPOINT_URL_DYNAMODB must be a URL starting with http:// or https://']);
  }
  const dynalite = given ? undefined : await startDynalite();
  const endpoint = given || (dynalite as Dynalite).endpoint;
  try {
    fillDummyAwsSettings(env, processEnvironment, endpoint, !given);
    processEnvironment.AWS_ENDPOINT_URL_DYNAMODB = endpoint;
    const { ttl } = await createCallLimitsTable(endpoint, table, sdkSettings(processEnvironment));
    return {
      endpoint,
      inMemory: !given,
      table,
      ttl,
      env: { AWS_ENDPOINT_URL_DYNAMODB: endpoint, CALL_LIMITS_TABLE: table },
      close: async () => {
        await dynalite?.close();
      },
    };
  } catch (error) {
    await dynalite?.close();
    throw error;
  }
}

/**
 * The functions' settings with the limits as npm start runs them: on, the table and
 * endpoint laid over, and the status callbacks on unless given (only a call's completed
 * callback frees its slot, as in the stack); off, no CALL_LIMITS_TABLE (even one from
 * `.env`), so nothing counts.
 */
export function withLocalCallLimits(env: Env, dynamo: LocalDynamo | undefined): Env {
  if (!dynamo) return { ...env, CALL_LIMITS_TABLE: undefined };
  return { ...env, CALL_STATUS_CALLBACK: env.CALL_STATUS_CALLBACK?.trim() || 'true', ...dynamo.env };
}

/** What the banner says about the limits: read from the settings as make_call reads them, defaults included. */
export function callLimitsStatus(env: Env, dynamo: LocalDynamo | undefined): CallLimits {
  if (!dynamo) return { status: 'off' };
  let limits: Extract<CallLimits, { status: 'on' }>['limits'];
  try {
    limits = parseFields(CALL_LIMIT_SETTINGS, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    limits = { problem: error.message };
  }
  const { endpoint, inMemory, table, ttl } = dynamo;
  return { status: 'on', endpoint, inMemory, table, ttl, limits };
}

/** An error in one line: its message, else its name or code (a refused connection can carry an empty message). */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const detail = error.message || (typeof code === 'string' ? code : '') || error.name;
  if (error instanceof AggregateError && error.errors.length > 0 && !error.message) {
    return error.errors.map(describeError).join('; ');
  }
  return detail;
}
