/**
 * The DynamoDB client alone: create it and make one UpdateItem (a conditional counter, like
 * a call-limit step) against dynalite (AWS_ENDPOINT_URL_DYNAMODB). Its cold start minus a
 * bare node is what checking a call limit can cost at the least.
 */
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';

export async function handler(event: { key: string }) {
  const client = new DynamoDBClient({});
  await client.send(
    new UpdateItemCommand({
      TableName: process.env.CALL_LIMITS_TABLE,
      Key: { pk: { S: event.key } },
      UpdateExpression: 'ADD n :one',
      ConditionExpression: 'attribute_not_exists(n) OR n < :limit',
      ExpressionAttributeValues: { ':one': { N: '1' }, ':limit': { N: '1000000' } },
    }),
  );
  return { statusCode: 200 };
}
