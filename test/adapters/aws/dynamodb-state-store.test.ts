import { randomUUID } from 'node:crypto';
import {
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  GetItemCommand,
} from '@aws-sdk/client-dynamodb';
import { createAwsClient } from '../../../lambda/adapters/aws/clients';
import { DynamoDbStateStore, createStateTable } from '../../../lambda/adapters/aws/dynamodb-state-store';
import { OperationError } from '../../../lambda/domain/errors';
import { ConditionFailedError } from '../../../lambda/domain/ports';
import { describeStateStoreContract } from '../../contracts/state-store-contract';
import { useMoto } from '../../support/moto';
import { startThrottlingProxy } from '../../support/throttling-proxy';

const moto = useMoto();
const TABLE = 'certrotor-state';
const dynamo = (): DynamoDBClient => createAwsClient(DynamoDBClient, moto.clientConfig());

beforeAll(async () => {
  await createStateTable(dynamo(), TABLE);
});

describeStateStoreContract('DynamoDB state store', async () => ({
  store: new DynamoDbStateStore({ client: dynamo(), tableName: TABLE }),
}));

describe('DynamoDB state store against the emulator', () => {
  const now = new Date('2026-03-01T12:00:00.500Z');
  const collection = (): string => `locks-${randomUUID().slice(0, 8)}`;

  it('creates an on-demand table keyed by collection and id, with TTL on expiresAt, and accepts being asked again', async () => {
    await createStateTable(dynamo(), TABLE);

    const table = await dynamo().send(new DescribeTableCommand({ TableName: TABLE }));
    const ttl = await dynamo().send(new DescribeTimeToLiveCommand({ TableName: TABLE }));

    expect(table.Table?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(table.Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(ttl.TimeToLiveDescription).toMatchObject({
      AttributeName: 'expiresAt',
      TimeToLiveStatus: 'ENABLED',
    });
  });

  it('stores expiry as epoch seconds for DynamoDB TTL while reporting the exact time', async () => {
    const store = new DynamoDbStateStore({ client: dynamo(), tableName: TABLE });
    const locks = collection();
    const expiresAt = new Date('2026-03-01T12:15:00.250Z');

    const written = await store.put(locks, 'rotation:api', { owner: 'planner' }, now, {
      ifAbsent: true,
      expiresAt,
    });

    const raw = await dynamo().send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: locks }, sk: { S: 'rotation:api' } } }),
    );
    expect(raw.Item?.expiresAt).toEqual({ N: String(Math.ceil(expiresAt.getTime() / 1000)) });
    expect(written.expiresAt).toBe('2026-03-01T12:15:00.250Z');
  });

  it('treats a lock as free from the millisecond it expires, before DynamoDB TTL has removed it', async () => {
    const store = new DynamoDbStateStore({ client: dynamo(), tableName: TABLE });
    const locks = collection();
    const expiresAt = new Date(now.getTime() + 1_000);
    await store.put(locks, 'rotation:api', { owner: 'a' }, now, { ifAbsent: true, expiresAt });

    const early = store.put(locks, 'rotation:api', { owner: 'b' }, new Date(expiresAt.getTime() - 1), {
      ifAbsent: true,
    });
    await expect(early).rejects.toBeInstanceOf(ConditionFailedError);
    const taken = await store.put(locks, 'rotation:api', { owner: 'b' }, expiresAt, { ifAbsent: true });

    expect(taken.value).toEqual({ owner: 'b' });
  });

  it('deduplicates alerts with one conditional write per key', async () => {
    const store = new DynamoDbStateStore({ client: dynamo(), tableName: TABLE });
    const alerts = collection();
    const key = 'Certificate Expiring|api|30';

    const first = await store.put(alerts, key, { sentAt: now.toISOString() }, now, { ifAbsent: true });
    const second = store.put(alerts, key, { sentAt: now.toISOString() }, now, { ifAbsent: true });

    expect(first.revision).toBe(1);
    await expect(second).rejects.toThrow(ConditionFailedError);
  });

  it('names the operation, the table and the item when the table does not exist', async () => {
    const store = new DynamoDbStateStore({ client: dynamo(), tableName: 'no-such-table' });

    const read = store.get('observations', 'api', now);

    await expect(read).rejects.toBeInstanceOf(OperationError);
    await expect(read).rejects.toThrow(/^GetItem no-such-table observations\/api: ResourceNotFoundException/);
  });

  it('retries a throttled write through the client retry strategy', async () => {
    const proxy = await startThrottlingProxy(moto.endpoint, { throttle: 1 });
    try {
      const client = createAwsClient(DynamoDBClient, { ...moto.clientConfig(), endpoint: proxy.endpoint });
      const store = new DynamoDbStateStore({ client, tableName: TABLE });

      const written = await store.put(collection(), 'api', { n: 1 }, now);

      expect(written.revision).toBe(1);
      expect(proxy.throttled()).toBe(1);
    } finally {
      await proxy.close();
    }
  });
});
