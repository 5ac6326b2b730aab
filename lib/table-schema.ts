/**
 * The state table's key schema and TTL attribute, as the DynamoDB state store adapter expects them
 * (lambda/adapters/aws/dynamodb-state-store.ts). lib/ does not import adapters, so a test holds the
 * two in agreement.
 */
export const PARTITION_KEY_NAME = 'pk';
export const SORT_KEY_NAME = 'sk';
export const TTL_ATTRIBUTE_NAME = 'expiresAt';
