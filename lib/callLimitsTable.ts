/**
 * The call-limits table's shape, shared by the DynamoDB store (lib/callLimitStore.ts), the
 * CDK stack and the local gateway's in-memory DynamoDB, so the three cannot drift.
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
