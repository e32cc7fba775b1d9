/**
 * The call-limits store: the steps of lib/callLimits.ts applied to one DynamoDB table, each
 * step one conditional `UpdateItem` (never a read followed by a write), so concurrent calls
 * cannot both take the last unit of a limit. A dialed phone call costs two round trips, one
 * after the other: the caller's item (slot, hour, day), then the service's minute. Only a
 * refused write reads the item back, to say which limit refused it (or that this call holds
 * its slot already: Twilio delivered its webhook again; or to free slots whose calls outlived
 * the longest call, and try again); a refused step undoes the steps before
 * it. Releasing a slot is one write to the caller's item. The DynamoDB client is loaded on
 * the first check only: the authorizer and call_token never load it, nor does a make_call
 * that routes to a message.
 */
import {
  answerWithLimits,
  type LimitedCall,
  type LimitItem,
  type LimitName,
  type LimitOutcome,
  type LimitSettings,
  type LimitStep,
  limitSteps,
  phoneItemKey,
  refusalOf,
  refusedWhenUnavailable,
  slotExpiry,
} from './callLimits.js';
import { CALL_LIMITS_TABLE_SCHEMA } from './callLimitsTable.js';
import { withDeadline } from './deadline.js';
import { errorName } from './log.js';
import type { Gate } from './rateLimits.js';
import { STALE_CONNECTION_RETRY } from './staleConnectionRetry.js';
import type { WebhookAnswer } from './twilioWebhook.js';

export interface TakeOptions {
  /**
   * When the store fails, give back the writes that may have landed before throwing: for a
   * call that will be refused for want of the limits. A call that goes ahead keeps them.
   */
  undoOnFailure?: boolean;
}

export interface CallLimitStore {
  /** Applies the steps; says which limit refused the call, if one did. Throws when the store fails. */
  take(
    steps: readonly LimitStep[],
    nowMs: number,
    options?: TakeOptions,
  ): Promise<Extract<LimitOutcome, { allowed: boolean }>>;
  /**
   * Gives back what a take of these steps took: each counter down one, the slot freed while
   * this call holds it. For a take that answered allowed after its caller stopped waiting.
   */
  giveBack(steps: readonly LimitStep[]): Promise<void>;
  /** Frees the concurrent-call slot call `callSid` of caller `userId` holds, if it still does. */
  release(callSid: string, userId: string): Promise<void>;
}

type Value = { S?: string; N?: string; SS?: string[] };
type Client = { send(command: unknown): Promise<{ Item?: Record<string, Value> }> };
type Sdk = typeof import('@aws-sdk/client-dynamodb');

const { partitionKey: PK, ttlAttribute: TTL } = CALL_LIMITS_TABLE_SCHEMA;
/** The attribute of a caller's phone item holding the CallSids of its calls in progress (a string set). */
const SLOTS = 'slots';
const key = (value: string) => ({ [PK]: { S: value } });
const isConditionFailure = (error: unknown) =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';
/** Tries of one step whose refusal the item read back does not explain (it changed meanwhile). */
const MAX_TRIES = 3;

type Clauses = Record<'ADD' | 'SET' | 'DELETE' | 'REMOVE', string[]>;
/** `ADD a, b SET c …`: the clauses that have actions, in DynamoDB's syntax. */
const updateExpression = (clauses: Clauses) =>
  Object.entries(clauses)
    .filter(([, actions]) => actions.length > 0)
    .map(([clause, actions]) => `${clause} ${actions.join(', ')}`)
    .join(' ');

/** What gives back the slots of these calls: out of the set, their expiry removed. */
function freeing(callSids: string[]) {
  return {
    names: { '#slots': SLOTS, ...Object.fromEntries(callSids.map((callSid, i) => [`#x${i}`, slotExpiry(callSid)])) },
    values: { ':free': { SS: callSids } },
    clauses: { DELETE: ['#slots :free'], REMOVE: callSids.map((_, i) => `#x${i}`) },
  };
}

/**
 * The one write of a step: its counters up (or down, to undo), its slot taken (or given
 * back). Given back only while the item holds this call's slot: the slot and the counters
 * are one write, so a call whose write never landed (timed out on our side) gives back
 * nothing it did not take.
 */
function stepUpdate(step: LimitStep, by: 1 | -1) {
  const names: Record<string, string> = {};
  const values: Record<string, Value> = {};
  const clauses: Clauses = { ADD: [], SET: [], DELETE: [], REMOVE: [] };
  const conditions: string[] = [];
  step.counters.forEach((counter, i) => {
    names[`#c${i}`] = counter.attribute;
    values[':by'] = { N: String(by) };
    clauses.ADD.push(`#c${i} :by`);
    if (by === 1 && counter.limit !== undefined) {
      values[`:l${i}`] = { N: String(counter.limit) };
      conditions.push(`(attribute_not_exists(#c${i}) OR #c${i} < :l${i})`);
    }
  });
  if (step.slot && by === 1) {
    Object.assign(names, { '#slots': SLOTS, '#slot': slotExpiry(step.slot.callSid) });
    Object.assign(values, {
      ':slot': { SS: [step.slot.callSid] },
      ':sid': { S: step.slot.callSid },
      ':slotExpires': { N: String(step.slot.expiresAt) },
      ':slots': { N: String(step.slot.limit) },
    });
    clauses.ADD.push('#slots :slot');
    clauses.SET.push('#slot = :slotExpires');
    // A call already holding its slot is not counted again (refusalOf says it is held).
    conditions.push('(attribute_not_exists(#slots) OR (size(#slots) < :slots AND NOT contains(#slots, :sid)))');
  } else if (step.slot) {
    const free = freeing([step.slot.callSid]);
    Object.assign(names, free.names);
    Object.assign(values, free.values, { ':held': { S: step.slot.callSid } });
    clauses.DELETE.push(...free.clauses.DELETE);
    clauses.REMOVE.push(...free.clauses.REMOVE);
    conditions.push('contains(#slots, :held)');
  }
  if (by === 1) {
    names['#ttl'] = TTL;
    values[':ttl'] = { N: String(step.expiresAt) };
    clauses.SET.push('#ttl = :ttl');
    step.ended.forEach((attribute, i) => {
      names[`#e${i}`] = attribute;
      clauses.REMOVE.push(`#e${i}`);
    });
  }
  return {
    Key: key(step.key),
    UpdateExpression: updateExpression(clauses),
    ...(conditions.length > 0 ? { ConditionExpression: conditions.join(' AND ') } : {}),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/** An item as read back, for refusalOf. */
function limitItem(item: Record<string, Value> | undefined): LimitItem {
  const counts: Record<string, number> = {};
  for (const [name, value] of Object.entries(item ?? {})) if (value.N !== undefined) counts[name] = Number(value.N);
  const slots = (item?.[SLOTS]?.SS ?? []).map((callSid) => ({
    callSid,
    expiresAt: counts[slotExpiry(callSid)] ?? 0,
  }));
  return { counts, slots };
}

/** One per table and container; the SDK is imported on first use. */
export function dynamoCallLimitStore(table: string, timeoutMs = 400): CallLimitStore {
  let loaded: Promise<{ sdk: Sdk; client: Client }> | undefined;
  const load = () => {
    loaded ??= import('@aws-sdk/client-dynamodb').then((sdk) => ({
      sdk,
      client: new sdk.DynamoDBClient({
        // One attempt, and one more only on a kept-alive connection found closed.
        maxAttempts: 2,
        retryStrategy: STALE_CONNECTION_RETRY,
        requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs, throwOnRequestTimeout: true },
      }) as unknown as Client,
    }));
    return loaded;
  };
  const update = async (input: Record<string, unknown>) => {
    const { sdk, client } = await load();
    return client.send(new sdk.UpdateItemCommand({ TableName: table, ...input } as never));
  };
  /** Frees slots of an item that exists: a release never creates one (it would never expire). */
  const freeSlots = async (itemKey: string, callSids: string[]) => {
    const free = freeing(callSids);
    try {
      await update({
        Key: key(itemKey),
        UpdateExpression: updateExpression({ ADD: [], SET: [], ...free.clauses }),
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: { ...free.names, '#pk': PK },
        ExpressionAttributeValues: free.values,
      });
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  };

  /** One step: taken, held already by this call (an earlier delivery took it), or the limit that refused it. */
  const apply = async (step: LimitStep, nowMs: number): Promise<LimitName | 'held' | undefined> => {
    for (let tries = 1; ; tries++) {
      try {
        await update(stepUpdate(step, 1));
        return undefined;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      const { sdk, client } = await load();
      const read = await client.send(
        new sdk.GetItemCommand({ TableName: table, Key: key(step.key), ConsistentRead: true }),
      );
      const refusal = refusalOf(step, limitItem(read.Item), nowMs);
      if (refusal && 'held' in refusal) return 'held';
      if (refusal && 'limit' in refusal) return refusal.limit;
      // Still unexplained after MAX_TRIES: calls of this caller race; refuse rather than let one through uncounted.
      if (tries === MAX_TRIES) return step.slot?.name ?? step.counters[0]?.name;
      if (refusal) await freeSlots(step.key, refusal.expired);
    }
  };

  /**
   * Each step's write undone; a refused undo (the call holds no slot there) is nothing to
   * undo. False when an undo failed otherwise: what it took stays taken.
   */
  const undo = async (steps: readonly LimitStep[]): Promise<boolean> => {
    const undone = await Promise.allSettled(steps.map((taken) => update(stepUpdate(taken, -1))));
    return undone.every((result) => result.status === 'fulfilled' || isConditionFailure(result.reason));
  };

  return {
    async take(steps, nowMs, { undoOnFailure = false } = {}) {
      const done: LimitStep[] = [];
      let sent: LimitStep | undefined;
      try {
        for (const step of steps) {
          sent = step;
          const refused = await apply(step, nowMs);
          sent = undefined;
          // The call was counted when Twilio first delivered it: its slot step comes first, so nothing here is taken twice.
          if (refused === 'held') return { allowed: true };
          if (refused) {
            return (await undo(done))
              ? { allowed: false, limit: refused }
              : { allowed: false, limit: refused, notGivenBack: true };
          }
          done.push(step);
        }
      } catch (error) {
        // A write that failed on our side may still have landed: one with a slot gives back
        // only what it holds (stepUpdate), so it is undone too; a bare counter's stays counted.
        if (undoOnFailure) await undo(sent?.slot ? [...done, sent] : done);
        throw error;
      }
      return { allowed: true };
    },

    async giveBack(steps) {
      await undo(steps);
    },

    release(callSid, userId) {
      return freeSlots(phoneItemKey(userId), [callSid]);
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

/**
 * How long a refusal for want of the limits (CALL_LIMITS_FAIL_CLOSED) waits, past the
 * deadline, for the writes still under way to be given back.
 */
export const GIVE_BACK_WAIT_MS = 2_000;

/**
 * What the limits say about this call, within CALL_LIMITS_TIMEOUT_MS. Never throws.
 *
 * When the store fails or answers late, some writes may have landed (a slot taken, the call
 * counted). A call that goes ahead keeps them: it is a call, its completed callback frees its
 * slot, and the caller's limits go on holding while the store half works. A call refused for
 * want of the limits (CALL_LIMITS_FAIL_CLOSED, not the support line) is never placed, so
 * nothing would free its slot until it expired, locking the caller out: what its writes take
 * is given back, and the refusal waits up to GIVE_BACK_WAIT_MS for that (Lambda may freeze
 * the container once the handler answers).
 */
export async function checkCallLimits(
  store: CallLimitStore,
  call: LimitedCall,
  nowMs: number,
  settings: LimitSettings,
  timeoutMs = CALL_LIMITS_TIMEOUT_MS,
): Promise<LimitOutcome> {
  const steps = limitSteps(call, nowMs, settings);
  const refused = refusedWhenUnavailable(call, settings);
  const taking = store.take(steps, nowMs, { undoOnFailure: refused });
  try {
    return await within(taking, timeoutMs);
  } catch (error) {
    if (refused) {
      // A take that failed gave back its own writes; one that answered allowed, too late, is given back here.
      const givenBack = taking.then((outcome) => (outcome.allowed ? store.giveBack(steps) : undefined));
      await within(givenBack, GIVE_BACK_WAIT_MS).catch(() => undefined);
    }
    return { unavailable: true, reason: errorName(error) };
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
