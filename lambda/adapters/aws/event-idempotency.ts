/**
 * At-most-once handling of a redelivered EventBridge event (same `id`), recorded in the state table:
 * Powertools idempotency with its records in their own partition, holding only the event id's hash
 * and the result, expiring with the table's TTL.
 */
import { IdempotencyConfig } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AwsClientProvider } from './clients';

export interface EventIdempotencyOptions {
  readonly tableName: string;
  /** Partition of the records: `idempotency#<partition>`. */
  readonly partition: string;
  /** @default 86400 (one day) */
  readonly expiresAfterSeconds?: number;
}

/** The options `makeIdempotent` takes, keyed by the event's `id`; an event without one runs normally. */
export function eventIdempotency(clients: AwsClientProvider, options: EventIdempotencyOptions) {
  return {
    persistenceStore: new DynamoDBPersistenceLayer({
      tableName: options.tableName,
      keyAttr: 'pk',
      sortKeyAttr: 'sk',
      staticPkValue: `idempotency#${options.partition}`,
      expiryAttr: 'expiresAt',
      awsSdkV3Client: clients.get(DynamoDBClient),
    }),
    config: new IdempotencyConfig({
      eventKeyJmesPath: 'id',
      expiresAfterSeconds: options.expiresAfterSeconds ?? 86_400,
      throwOnNoIdempotencyKey: false,
    }),
  };
}
