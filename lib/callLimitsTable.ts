/**
 * The call-limits table's shape, shared by the DynamoDB store (lib/callLimitStore.ts), the
 * CDK stack and the local gateway's in-memory DynamoDB, so the three cannot drift; and the
 * one rule on the settings that turn the limits on, shared by make_call and synth.
 */
export const CALL_LIMITS_TABLE_SCHEMA = {
  /** The partition key (string): the caller's phone limits, or the window counter, the item is. No sort key. */
  partitionKey: 'pk',
  /** Epoch seconds after which DynamoDB's TTL deletes the item (counters outlive their window). */
  ttlAttribute: 'expiresAt',
} as const;

/** The table name `npm start` uses when it has to create one. */
export const LOCAL_CALL_LIMITS_TABLE = 'voice-call-limits';

/** The DynamoDB actions the store uses: what the functions' IAM policy allows, and nothing else. */
export const CALL_LIMITS_ACTIONS = ['dynamodb:UpdateItem', 'dynamodb:GetItem'] as const;

/**
 * A phone call's slot is freed by its completed callback, which only CALL_STATUS_CALLBACK
 * asks Twilio for: with the limits on and it off, every call would hold its slot until it
 * expired, and a caller could call once an hour. Named, as config errors are.
 * `limitsOn`: how the settings at hand turn the limits on (make_call's CALL_LIMITS_TABLE,
 * the stack's CALL_LIMITS), as the problem names it; undefined when they are off.
 */
export function callLimitProblems(limitsOn: string | undefined, statusCallbacks: boolean): string[] {
  return limitsOn && !statusCallbacks
    ? [`CALL_STATUS_CALLBACK must be true ${limitsOn}: only a call's completed callback frees its slot`]
    : [];
}
