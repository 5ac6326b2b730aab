/**
 * The ACME issuer's keys and order journal on the AWS backend (AwsAcmeJournal) against moto: the
 * account key a secret created once, order keys envelope-encrypted in the state table (first one
 * wins, bound to their certificate version), or issuance secrets without a KMS key, order URLs in
 * the state store.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerIssuanceJournal } from '../../../lambda/adapters/aws/acm-pca';
import { ACME_ORDER_KEY_COLLECTION, AwsAcmeJournal } from '../../../lambda/adapters/aws/acme-journal';
import { createAwsClient } from '../../../lambda/adapters/aws/clients';
import { DynamoDbStateStore, createStateTable } from '../../../lambda/adapters/aws/dynamodb-state-store';
import { exportPrivateKey, generateKeyPair } from '../../../lambda/adapters/crypto/mint';
import { containsPrivateKey } from '../../../lambda/domain/secret';
import { useMoto } from '../../support/moto';

const moto = useMoto();
const TABLE = 'certrotor-acme-journal-test';
const config = () => ({ ...moto.clientConfig(), maxAttempts: 1 });
const dynamo = () => createAwsClient(DynamoDBClient, config());
const secrets = () => createAwsClient(SecretsManagerClient, config());
let keyId: string;

beforeAll(async () => {
  await createStateTable(dynamo(), TABLE);
  keyId = (await createAwsClient(KMSClient, config()).send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
});

function journal(options: { issuer?: string; kms?: boolean } = {}): AwsAcmeJournal {
  const issuerName = options.issuer ?? `pebble-${randomUUID().slice(0, 8)}`;
  return new AwsAcmeJournal({
    issuerName,
    state: new DynamoDbStateStore({ client: dynamo(), tableName: TABLE }),
    clock: () => new Date(),
    secrets: secrets(),
    accountSecretName: `certrotor/acme/${issuerName}/account-key`,
    ...(options.kms === false ? {} : { kmsKeyId: keyId }),
    table: { dynamodb: dynamo(), kms: createAwsClient(KMSClient, config()), tableName: TABLE },
    fallbackKeys: new SecretsManagerIssuanceJournal({ client: secrets(), prefix: 'certrotor/issuance/' }),
  });
}

const newKey = async () => exportPrivateKey(await generateKeyPair('EC_P256'));
const subject = { name: 'api', version: 'v1' };

describe('the ACME journal on the AWS backend', () => {
  it('creates the account key once, as a secret, and hands the same key to every later use', async () => {
    const issuer = `acct-${randomUUID().slice(0, 8)}`;
    let created = 0;
    const create = async () => {
      created++;
      return newKey();
    };

    const [a, b] = await Promise.all([
      journal({ issuer }).accountKey(create),
      journal({ issuer }).accountKey(create),
    ]);
    const later = await journal({ issuer }).accountKey(create);

    expect(a.reveal()).toBe(b.reveal());
    expect(later.reveal()).toBe(a.reveal());
    const described = await secrets().send(
      new DescribeSecretCommand({ SecretId: `certrotor/acme/${issuer}/account-key` }),
    );
    expect(described.Tags).toContainEqual({ Key: 'certrotor:acme-account', Value: issuer });
    expect(created).toBeGreaterThanOrEqual(1);
  });

  it('keeps the first order key of an issuance sealed in the table; a second reservation gets the first key', async () => {
    const j = journal();
    const first = await newKey();
    const idempotencyKey = `api-v1-${randomUUID().slice(0, 8)}`;

    expect((await j.reserveKey(idempotencyKey, first, subject)).reveal()).toBe(first.reveal());
    const second = await j.reserveKey(idempotencyKey, await newKey(), subject);
    await j.recordOrder(idempotencyKey, 'https://ca.example/order/1');

    expect(second.reveal()).toBe(first.reveal());
    expect(await j.lookup(idempotencyKey, subject)).toMatchObject({ orderUrl: 'https://ca.example/order/1' });
    expect((await j.lookup(idempotencyKey, subject))?.privateKey?.reveal()).toBe(first.reveal());
    expect(await j.lookup(`never-${idempotencyKey}`, subject)).toBeUndefined();
  });

  it('stores no key in the clear, and an order key does not open for another certificate version', async () => {
    const j = journal({ issuer: 'sealed' });
    const idempotencyKey = `api-v1-${randomUUID().slice(0, 8)}`;
    await j.reserveKey(idempotencyKey, await newKey(), subject);
    const scan = await dynamo().send(
      new GetItemCommand({
        TableName: TABLE,
        Key: {
          pk: { S: ACME_ORDER_KEY_COLLECTION },
          sk: { S: `sealed#${encodeURIComponent(idempotencyKey)}` },
        },
      }),
    );
    expect(scan.Item).toBeDefined();
    expect(containsPrivateKey(JSON.stringify(scan.Item))).toBe(false);

    const other = { name: 'api', version: 'v2' };
    await expect(j.lookup(idempotencyKey, other)).rejects.toThrow(/ACME order key/);
    await j.lookup(idempotencyKey, other).catch((error: Error) => {
      expect(containsPrivateKey(error.message)).toBe(false);
    });
  });

  it('falls back to an issuance secret for the order key without a KMS key', async () => {
    const j = journal({ issuer: 'no-kms', kms: false });
    const key = await newKey();
    const idempotencyKey = `api-v1-${randomUUID().slice(0, 8)}`;

    await j.reserveKey(idempotencyKey, key, subject);

    expect((await j.lookup(idempotencyKey, subject))?.privateKey?.reveal()).toBe(key.reveal());
    const secret = await secrets().send(
      new DescribeSecretCommand({ SecretId: `certrotor/issuance/acme/no-kms/${idempotencyKey}` }),
    );
    expect(secret.Name).toBe(`certrotor/issuance/acme/no-kms/${idempotencyKey}`);
    const item = await dynamo().send(
      new GetItemCommand({
        TableName: TABLE,
        Key: {
          pk: { S: ACME_ORDER_KEY_COLLECTION },
          sk: { S: `no-kms#${encodeURIComponent(idempotencyKey)}` },
        },
      }),
    );
    expect(item.Item).toBeUndefined();
  });

  it('refuses an altered item with one line naming the order, never the material', async () => {
    const j = journal({ issuer: 'tamper' });
    const idempotencyKey = `api-v1-${randomUUID().slice(0, 8)}`;
    await j.reserveKey(idempotencyKey, await newKey(), subject);
    const key = {
      pk: { S: ACME_ORDER_KEY_COLLECTION },
      sk: { S: `tamper#${encodeURIComponent(idempotencyKey)}` },
    };
    const item = (await dynamo().send(new GetItemCommand({ TableName: TABLE, Key: key }))).Item!;
    const ciphertext = Buffer.from(item.ciphertext!.B!);
    ciphertext[0] = ciphertext[0]! ^ 0xff;
    await dynamo().send(
      new PutItemCommand({ TableName: TABLE, Item: { ...item, ciphertext: { B: ciphertext } } }),
    );

    await expect(j.lookup(idempotencyKey, subject)).rejects.toThrow(
      `ACME order key tamper/${idempotencyKey}: the encrypted key does not authenticate`,
    );
  });
});
