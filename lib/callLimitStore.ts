/**
 * The call-limits store: the steps of lib/callLimits.ts applied to one DynamoDB table with
 * single-item conditional writes (never a read followed by a write), so concurrent calls
 * cannot both take the last unit of a limit. A refused step undoes the steps before it. The
 * steps run one after another (run together, a call refused by one limit holds units of the
 * others meanwhile and turns calls away that fit: the concurrency test dials fewer than the
 * limit); only the write recording a call's slot, which decides nothing, overlaps the next.
 * The DynamoDB client is loaded on the first check only: the authorizer and call_token never
 * load it, nor does a make_call that routes to a message.
 */
import {
  answerWithLimits,
  type LimitedCall,
  type LimitName,
  type LimitOutcome,
  type LimitSettings,
  type LimitStep,
  limitSteps,
} from './callLimits.js';
import { CALL_LIMITS_TABLE_SCHEMA } from './callLimitsTable.js';
import { withDeadline } from './deadline.js';
import type { Gate } from './rateLimits.js';
import type { WebhookAnswer } from './twilioWebhook.js';

export interface CallLimitStore {
  /** Applies the steps; says which limit refused the call, if one did. Throws when the store fails. */
  take(steps: readonly LimitStep[], nowMs: number): Promise<{ allowed: true } | { allowed: false; limit: LimitName }>;
  /** Frees the concurrent-call slot `callSid` holds, if any. */
  release(callSid: string): Promise<void>;
}

type Client = {
  send(command: unknown): Promise<{ Item?: Record<string, { S?: string }> }>;
};
type Sdk = typeof import('@aws-sdk/client-dynamodb');

const { partitionKey: PK, ttlAttribute: TTL } = CALL_LIMITS_TABLE_SCHEMA;
const key = (value: string) => ({ [PK]: { S: value } });
const isConditionFailure = (error: unknown) =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';

/** One per table and container; the SDK is imported on first use. */
export function dynamoCallLimitStore(table: string, timeoutMs = 400): CallLimitStore {
  let loaded: Promise<{ sdk: Sdk; client: Client }> | undefined;
  const load = () => {
    loaded ??= import('@aws-sdk/client-dynamodb').then((sdk) => ({
      sdk,
      client: new sdk.DynamoDBClient({
        maxAttempts: 1,
        requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs, throwOnRequestTimeout: true },
      }) as unknown as Client,
    }));
    return loaded;
  };

  const count = async (step: Extract<LimitStep, { op: 'count' }>, by: 1 | -1) => {
    const { sdk, client } = await load();
    await client.send(
      new sdk.UpdateItemCommand({
        TableName: table,
        Key: key(step.key),
        UpdateExpression: 'ADD n :by SET #ttl = if_not_exists(#ttl, :ttl)',
        ...(by === 1 && step.limit !== undefined
          ? { ConditionExpression: 'attribute_not_exists(n) OR n < :limit' }
          : {}),
        ExpressionAttributeNames: { '#ttl': TTL },
        ExpressionAttributeValues: {
          ':by': { N: String(by) },
          ':ttl': { N: String(step.expiresAt) },
          ...(by === 1 && step.limit !== undefined ? { ':limit': { N: String(step.limit) } } : {}),
        },
      }),
    );
  };

  /**
   * The first slot that is free or whose holder has outlived the longest call; undefined when
   * none is. `indexed` records which slot the call holds (its completed callback knows only
   * the call): an unconditional write, sent without waiting so that it overlaps the next step.
   */
  const takeSlot = async (step: Extract<LimitStep, { op: 'slot' }>, nowMs: number) => {
    const { sdk, client } = await load();
    for (const slot of step.keys) {
      try {
        await client.send(
          new sdk.PutItemCommand({
            TableName: table,
            Item: { ...key(slot), callSid: { S: step.callSid }, [TTL]: { N: String(step.expiresAt) } },
            ConditionExpression: 'attribute_not_exists(#pk) OR #ttl < :now',
            ExpressionAttributeNames: { '#pk': PK, '#ttl': TTL },
            ExpressionAttributeValues: { ':now': { N: String(Math.floor(nowMs / 1000)) } },
          }),
        );
      } catch (error) {
        if (isConditionFailure(error)) continue;
        throw error;
      }
      const indexed = client.send(
        new sdk.PutItemCommand({
          TableName: table,
          Item: { ...key(`call#${step.callSid}`), slot: { S: slot }, [TTL]: { N: String(step.expiresAt) } },
        }),
      );
      indexed.catch(() => undefined); // awaited by take(); never an unhandled rejection meanwhile
      return { slot, indexed };
    }
    return undefined;
  };

  const freeSlot = async (slot: string, callSid: string) => {
    const { sdk, client } = await load();
    try {
      await client.send(
        new sdk.DeleteItemCommand({
          TableName: table,
          Key: key(slot),
          ConditionExpression: 'callSid = :sid',
          ExpressionAttributeValues: { ':sid': { S: callSid } },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error; // another call holds it now
    }
    await client.send(new sdk.DeleteItemCommand({ TableName: table, Key: key(`call#${callSid}`) }));
  };

  return {
    async take(steps, nowMs) {
      const done: { step: LimitStep; slot?: string }[] = [];
      // Index writes still in flight; every one has settled before take() answers or undoes.
      const pending: Promise<unknown>[] = [];
      const settle = () => Promise.all(pending);
      const undo = () =>
        Promise.allSettled(
          done.map(({ step, slot }) =>
            step.op === 'count' ? count(step, -1) : slot ? freeSlot(slot, step.callSid) : Promise.resolve(),
          ),
        );
      const refuse = async (limit: LimitName) => {
        await Promise.allSettled(pending);
        await undo();
        return { allowed: false as const, limit };
      };
      try {
        for (const step of steps) {
          if (step.op === 'slot') {
            const taken = await takeSlot(step, nowMs);
            if (!taken) return await refuse(step.name);
            done.push({ step, slot: taken.slot });
            pending.push(taken.indexed);
            continue;
          }
          try {
            await count(step, 1);
          } catch (error) {
            if (!isConditionFailure(error)) throw error;
            return await refuse(step.name);
          }
          done.push({ step });
        }
        await settle();
      } catch (error) {
        void Promise.allSettled(pending).then(undo);
        throw error;
      }
      return { allowed: true };
    },

    async release(callSid) {
      const { sdk, client } = await load();
      const found = await client.send(new sdk.GetItemCommand({ TableName: table, Key: key(`call#${callSid}`) }));
      const slot = found.Item?.slot?.S;
      if (slot) await freeSlot(slot, callSid);
    },
  };
}

const stores = new Map<string, CallLimitStore>();
/** The store for this table, made once per container. */
export function callLimitStoreFor(table: string): CallLimitStore {
  let store = stores.get(table);
  if (!store) {
    store = dynamoCallLimitStore(table);
    stores.set(table, store);
  }
  return store;
}

/** Rejects when `work` has not settled within `ms`: no request waits on the store longer. */
export function within<T>(work: Promise<T>, ms: number): Promise<T> {
  return withDeadline(work, ms, () => Object.assign(new Error(`no answer within ${ms} ms`), { name: 'Timeout' }));
}

/** The most a make_call waits for the limits; past it the call goes ahead (or not, fail-closed). */
export const CALL_LIMITS_TIMEOUT_MS = 500;

/** What the limits say about this call, within CALL_LIMITS_TIMEOUT_MS. Never throws. */
export async function checkCallLimits(
  store: CallLimitStore,
  call: LimitedCall,
  nowMs: number,
  settings: LimitSettings,
  timeoutMs = CALL_LIMITS_TIMEOUT_MS,
): Promise<LimitOutcome> {
  try {
    return await within(store.take(limitSteps(call, nowMs, settings), nowMs), timeoutMs);
  } catch (error) {
    return { unavailable: true, reason: error instanceof Error ? error.name : 'unknown error' };
  }
}

/**
 * make_call's answer with the limits applied: `routed` as it is when it dials nothing or no
 * table is set, else what the store says. A limited caller's alert goes out once an hour per
 * caller and limit (`hourlyAlerts`); the breaker's is one kind, gated like any other alert.
 */
export async function answerCallWithLimits(
  routed: WebhookAnswer & { limits?: LimitedCall },
  config: LimitSettings & { CALL_LIMITS_TABLE?: string | undefined },
  deps: { store: (table: string) => CallLimitStore; nowMs: number; timeoutMs?: number; hourlyAlerts: Gate },
): Promise<WebhookAnswer> {
  if (!routed.limits || !config.CALL_LIMITS_TABLE) return routed;
  const store = deps.store(config.CALL_LIMITS_TABLE);
  const outcome = await checkCallLimits(store, routed.limits, deps.nowMs, config, deps.timeoutMs);
  const answer = answerWithLimits(routed, routed.limits, outcome, config);
  const hourly = answer.alert?.hourly ? answer.alert.key : undefined;
  return hourly && !deps.hourlyAlerts(hourly).pass ? { ...answer, alert: undefined } : answer;
}
