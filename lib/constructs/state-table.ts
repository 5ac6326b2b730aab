/**
 * The state table and the customer key that encrypts it (and the secrets, queues, topic and logs of
 * the same CertRotor). The table's key schema is the one the DynamoDB state store adapter expects.
 *
 * Created directly in the CertRotor's scope (not under a child construct) so the logical ids of a
 * deployed stack — and with them the retained table and key — do not change.
 */
import { RemovalPolicy, Stack, aws_dynamodb as dynamodb, aws_iam as iam, aws_kms as kms } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { PARTITION_KEY_NAME, SORT_KEY_NAME, TTL_ATTRIBUTE_NAME } from '../table-schema';

export interface StateTableProps {
  readonly removalPolicy: RemovalPolicy;
}

export interface StateStore {
  readonly key: kms.Key;
  readonly table: dynamodb.Table;
}

/** `Key` and `State` in `scope`: a rotating customer key and an on-demand table with PITR and TTL. */
export function createStateTable(scope: Construct, props: StateTableProps): StateStore {
  const key = new kms.Key(scope, 'Key', {
    description: 'certrotor: state table, certificate and webhook secrets, queues, logs',
    enableKeyRotation: true,
    removalPolicy: props.removalPolicy,
  });
  // CloudWatch Logs encrypts the function and workflow log groups with the same key.
  key.grantEncryptDecrypt(new iam.ServicePrincipal(`logs.${Stack.of(scope).region}.amazonaws.com`));

  const table = new dynamodb.Table(scope, 'State', {
    partitionKey: { name: PARTITION_KEY_NAME, type: dynamodb.AttributeType.STRING },
    sortKey: { name: SORT_KEY_NAME, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    timeToLiveAttribute: TTL_ATTRIBUTE_NAME,
    encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
    encryptionKey: key,
    removalPolicy: props.removalPolicy,
  });
  return { key, table };
}
