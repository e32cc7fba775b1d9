/**
 * The on-demand build's entry for the DynamoDB client (infra/bundling.ts): only what
 * lib/callLimitStore.ts takes from it. Built from the package itself, the file kept every
 * export (some 60 commands, paginators and waiters: 101 KB to compile at the first call
 * limit); named here, esbuild drops the rest.
 */
export { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
