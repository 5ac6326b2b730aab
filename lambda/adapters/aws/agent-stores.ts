/**
 * What a host agent uses with the deployed service: bundles and their AWSCURRENT version in Secrets
 * Manager (`<secretPrefix><certificate>`), desired records and reports in the state table.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { AwsClientProvider } from './clients';
import { DynamoDbStateStore } from './dynamodb-state-store';
import { SecretsManagerBundleStore } from './secrets-manager';
import { SecretsManagerDesiredSource } from './secrets-manager-desired-source';

export interface AwsAgentStoreOptions {
  readonly secretPrefix: string;
  readonly tableName: string;
}

export interface AwsAgentStores {
  readonly bundles: SecretsManagerBundleStore;
  readonly state: DynamoDbStateStore;
  /** The version Secrets Manager marks AWSCURRENT: what a host should hold outside a rollout. */
  readonly currentSecrets: SecretsManagerDesiredSource;
}

export function awsAgentStores(clients: AwsClientProvider, options: AwsAgentStoreOptions): AwsAgentStores {
  const sm = clients.get(SecretsManagerClient);
  const secretNameFor = (name: string) => `${options.secretPrefix}${name}`;
  return {
    bundles: new SecretsManagerBundleStore({ client: sm, secretNameFor }),
    state: new DynamoDbStateStore({ client: clients.get(DynamoDBClient), tableName: options.tableName }),
    currentSecrets: new SecretsManagerDesiredSource({ client: sm, secretNameFor }),
  };
}
