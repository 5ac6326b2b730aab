/**
 * StateStore on one DynamoDB table: partition key `pk` = collection, sort key `sk` = id.
 *
 * Attributes: `value` (the JSON text of the value, so what comes back is exactly what JSON gives),
 * `revision` (N), `updatedAt` (ISO), and for items with an expiry `expiresAtIso` (exact),
 * `expiresAtMs` (N, used in conditions) and `expiresAt` (N, epoch seconds: the table's TTL attribute,
 * so DynamoDB deletes expired observations and locks by itself; its deletion lags, so reads filter
 * expired items too).
 *
 * Locks and alert deduplication are single conditional writes (`ifAbsent`: no item, or an expired
 * one); `expectedRevision` is a condition on `revision`. An unconditional write reads the revision
 * and writes revision+1 guarded by what it read, re-reading when another writer got in between, so
 * concurrent writers never lose a count.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateTimeToLiveCommand,
  paginateQuery,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { OperationError } from '../../domain/errors';
import { ConditionFailedError, type PutOptions, type StateStore, type StoredItem } from '../../domain/ports';
import { describeAwsError, isAwsError } from './clients';

export const TTL_ATTRIBUTE = 'expiresAt';
/** Unconditional writes that keep losing the race give up after this many tries. */
const MAX_WRITE_TRIES = 25;

export interface DynamoDbStateStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
}

type Item = Record<string, AttributeValue>;

export class DynamoDbStateStore implements StateStore {
  private readonly client: DynamoDBClient;
  readonly tableName: string;

  constructor(options: DynamoDbStateStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
  }

  async get<T>(collection: string, id: string, now: Date): Promise<StoredItem<T> | undefined> {
    const item = await this.read(collection, id);
    return item !== undefined && isLive(item, now) ? toStored<T>(item) : undefined;
  }

  async put<T>(
    collection: string,
    id: string,
    value: T,
    now: Date,
    options: PutOptions = {},
  ): Promise<StoredItem<T>> {
    checkCollection(collection);
    const json = JSON.stringify(value);
    if (json === undefined) {
      throw new OperationError(
        'PutItem',
        `${this.tableName} ${collection}/${id}`,
        'value cannot be represented as JSON',
      );
    }
    if (options.ifAbsent || options.expectedRevision !== undefined) {
      return this.conditionalPut<T>(collection, id, json, now, options);
    }
    for (let attempt = 0; attempt < MAX_WRITE_TRIES; attempt += 1) {
      const existing = await this.read(collection, id);
      const live = existing !== undefined && isLive(existing, now) ? existing : undefined;
      const item = buildItem(collection, id, json, (live ? revisionOf(live) : 0) + 1, now, options.expiresAt);
      const guard =
        existing === undefined
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : {
              ConditionExpression: 'revision = :seen',
              ExpressionAttributeValues: { ':seen': { N: String(revisionOf(existing)) } },
            };
      try {
        await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: item, ...guard }));
        return toStored<T>(item);
      } catch (error) {
        if (!isConditionFailure(error))
          throw describeAwsError('PutItem', `${this.tableName} ${collection}/${id}`, error);
        // Another writer got in between the read and the write: read again.
      }
    }
    throw new ConditionFailedError(collection, id);
  }

  private async conditionalPut<T>(
    collection: string,
    id: string,
    json: string,
    now: Date,
    options: PutOptions,
  ): Promise<StoredItem<T>> {
    const conditions: string[] = [];
    const values: Item = { ':now': { N: String(now.getTime()) } };
    if (options.ifAbsent) conditions.push('(attribute_not_exists(pk) OR expiresAtMs <= :now)');
    if (options.expectedRevision !== undefined) {
      conditions.push(
        '(attribute_exists(pk) AND revision = :expected AND (attribute_not_exists(expiresAtMs) OR expiresAtMs > :now))',
      );
      values[':expected'] = { N: String(options.expectedRevision) };
    }
    const revision = options.expectedRevision !== undefined ? options.expectedRevision + 1 : 1;
    const item = buildItem(collection, id, json, revision, now, options.expiresAt);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new ConditionFailedError(collection, id);
      throw describeAwsError('PutItem', `${this.tableName} ${collection}/${id}`, error);
    }
    return toStored<T>(item);
  }

  async list<T>(collection: string, now: Date, prefix = ''): Promise<StoredItem<T>[]> {
    checkCollection(collection);
    const items: StoredItem<T>[] = [];
    const values: Item = { ':pk': { S: collection } };
    if (prefix !== '') values[':prefix'] = { S: prefix };
    try {
      for await (const page of paginateQuery(
        { client: this.client },
        {
          TableName: this.tableName,
          KeyConditionExpression: prefix === '' ? 'pk = :pk' : 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: values,
          ConsistentRead: true,
        },
      )) {
        for (const item of page.Items ?? []) if (isLive(item, now)) items.push(toStored<T>(item));
      }
    } catch (error) {
      throw describeAwsError('Query', `${this.tableName} ${collection}/${prefix}*`, error);
    }
    // DynamoDB orders sort keys by UTF-8 bytes; the port orders ids as strings compare.
    return items.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async delete(collection: string, id: string, options: { expectedRevision?: number } = {}): Promise<void> {
    checkCollection(collection);
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: collection }, sk: { S: id } },
          ...(options.expectedRevision !== undefined
            ? {
                ConditionExpression: 'revision = :expected',
                ExpressionAttributeValues: { ':expected': { N: String(options.expectedRevision) } },
              }
            : {}),
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new ConditionFailedError(collection, id);
      throw describeAwsError('DeleteItem', `${this.tableName} ${collection}/${id}`, error);
    }
  }

  private async read(collection: string, id: string): Promise<Item | undefined> {
    checkCollection(collection);
    try {
      const out = await this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: collection }, sk: { S: id } },
          ConsistentRead: true,
        }),
      );
      return out.Item;
    } catch (error) {
      throw describeAwsError('GetItem', `${this.tableName} ${collection}/${id}`, error);
    }
  }
}

/**
 * Creates the state table (on-demand, TTL on `expiresAt`) and waits until it is active. For tests and
 * the CLI on the emulator; deployments create it with CDK. An existing table is left as it is.
 */
export async function createStateTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (error) {
    if (!isAwsError(error, 'ResourceInUseException')) throw describeAwsError('CreateTable', tableName, error);
  }
  await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 1, maxDelay: 2 }, { TableName: tableName });
  try {
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
    const status = ttl.TimeToLiveDescription?.TimeToLiveStatus;
    if (status !== 'ENABLED' && status !== 'ENABLING') {
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: tableName,
          TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
        }),
      );
    }
  } catch (error) {
    throw describeAwsError('UpdateTimeToLive', tableName, error);
  }
}

function checkCollection(collection: string): void {
  if (collection.length === 0) throw new OperationError('use', 'state collection', 'name is empty');
}

function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException || isAwsError(error, 'ConditionalCheckFailedException')
  );
}

function buildItem(
  collection: string,
  id: string,
  json: string,
  revision: number,
  now: Date,
  expiresAt: Date | undefined,
): Item {
  const item: Item = {
    pk: { S: collection },
    sk: { S: id },
    value: { S: json },
    revision: { N: String(revision) },
    updatedAt: { S: now.toISOString() },
  };
  if (expiresAt !== undefined) {
    item.expiresAtIso = { S: expiresAt.toISOString() };
    item.expiresAtMs = { N: String(expiresAt.getTime()) };
    item[TTL_ATTRIBUTE] = { N: String(Math.ceil(expiresAt.getTime() / 1000)) };
  }
  return item;
}

function revisionOf(item: Item): number {
  return Number(item.revision?.N ?? '0');
}

function isLive(item: Item, now: Date): boolean {
  const ms = item.expiresAtMs?.N;
  return ms === undefined || Number(ms) > now.getTime();
}

function toStored<T>(item: Item): StoredItem<T> {
  const id = item.sk?.S ?? '';
  const text = item.value?.S;
  let value: T;
  try {
    value = (text === undefined ? null : JSON.parse(text)) as T;
  } catch (cause) {
    throw new OperationError('read', `state item ${item.pk?.S ?? '?'}/${id}`, 'value is not valid JSON', {
      cause,
    });
  }
  return {
    id,
    value,
    revision: revisionOf(item),
    updatedAt: item.updatedAt?.S ?? '',
    ...(item.expiresAtIso?.S !== undefined ? { expiresAt: item.expiresAtIso.S } : {}),
  };
}
