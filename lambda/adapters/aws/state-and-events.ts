/** The state table and the event bus from a client pool, for composition roots that hold no SDK imports. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { AwsClientProvider } from './clients';
import { DynamoDbStateStore } from './dynamodb-state-store';
import { EventBridgePublisher } from './eventbridge-publisher';

export function awsStateStore(clients: AwsClientProvider, tableName: string): DynamoDbStateStore {
  return new DynamoDbStateStore({ client: clients.get(DynamoDBClient), tableName });
}

export function awsEventPublisher(clients: AwsClientProvider, eventBusName: string): EventBridgePublisher {
  return new EventBridgePublisher({ client: clients.get(EventBridgeClient), eventBusName });
}

/**
 * The region the pool's clients end up in (a flag, the environment or the profile), read from the
 * state table's client; undefined when none of them names one.
 */
export async function resolveAwsRegion(clients: AwsClientProvider): Promise<string | undefined> {
  try {
    return await clients.get(DynamoDBClient).config.region();
  } catch {
    return undefined;
  }
}
