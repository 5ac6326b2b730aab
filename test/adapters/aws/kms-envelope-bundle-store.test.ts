import { randomUUID } from 'node:crypto';
import { DynamoDBClient, GetItemCommand, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AwsClientPool, createAwsClient } from '../../../lambda/adapters/aws/clients';
import { parseConfigText } from '../../../lambda/adapters/local/config-file';
import { DynamoDbStateStore } from '../../../lambda/adapters/aws/dynamodb-state-store';
import { createStateTable } from '../../../lambda/adapters/aws/dynamodb-state-store';
import {
  BUNDLE_COLLECTION,
  KmsEnvelopeBundleStore,
  sortKeyFor,
} from '../../../lambda/adapters/aws/kms-envelope-bundle-store';
import { validateConfig } from '../../../lambda/config/configuration';
import { RotationRefusedError } from '../../../lambda/domain/errors';
import { buildRotationAdapters, certificatesReadByHosts } from '../../../lambda/wiring/aws';
import { containsPrivateKey, scrubPrivateKeys } from '../../../lambda/domain/secret';
import { buildBundle } from '../../builders/bundles';
import { buildCa, type BuiltCertificate } from '../../builders/certificates';
import { describeBundleStoreContract } from '../../contracts/bundle-store-contract';
import { useMoto } from '../../support/moto';

const moto = useMoto();
const TABLE = 'certrotor-envelope-test';
const dynamo = (): DynamoDBClient => createAwsClient(DynamoDBClient, moto.clientConfig());
const kms = (): KMSClient => createAwsClient(KMSClient, moto.clientConfig());
const unique = (base: string): string => `${base}-${randomUUID().slice(0, 8)}`;

let keyId: string;
const store = (): KmsEnvelopeBundleStore =>
  new KmsEnvelopeBundleStore({ dynamodb: dynamo(), kms: kms(), tableName: TABLE, keyId });

beforeAll(async () => {
  await createStateTable(dynamo(), TABLE);
  const key = await kms().send(new CreateKeyCommand({ Description: 'certrotor envelope test' }));
  keyId = key.KeyMetadata!.Arn!;
});

describeBundleStoreContract('KMS envelope bundle store (state table)', async () => ({ store: store() }));

describe('KMS envelope bundle store', () => {
  let ca: BuiltCertificate;

  beforeAll(async () => {
    ca = await buildCa();
  });

  async function itemOf(name: string, version: string) {
    const out = await dynamo().send(
      new GetItemCommand({
        TableName: TABLE,
        Key: { pk: { S: BUNDLE_COLLECTION }, sk: { S: sortKeyFor(name, version) } },
      }),
    );
    return out.Item!;
  }

  it('keeps one item per version with the key encrypted and the public parts readable', async () => {
    const bundle = await buildBundle({ name: unique('api'), version: 'v1', issuer: ca });

    await store().put(bundle);
    const item = await itemOf(bundle.name, 'v1');

    expect(item.algorithm?.S).toBe('AES-256-GCM');
    expect(item.keyId?.S).toBe(keyId);
    expect(item.fingerprintSha256?.S).toBe(bundle.facts.fingerprintSha256);
    expect(item.certificatePem?.S).toBe(bundle.certificatePem);
    expect(item.iv?.B?.length).toBe(12);
    expect(item.tag?.B?.length).toBe(16);
    expect(item.encryptedDataKey?.B?.length).toBeGreaterThan(0);
    // A key is < 4 KB: the item stays far below DynamoDB's 400 KB.
    expect(JSON.stringify(item).length).toBeLessThan(16_000);
  });

  it('never writes the private key to the table, in any encoding or in pieces', async () => {
    const bundle = await buildBundle({ name: unique('leak'), version: 'v1', issuer: ca });
    const pem = bundle.privateKey.reveal();

    await store().put(bundle);
    const scanned = await dynamo().send(new ScanCommand({ TableName: TABLE }));
    const raw = JSON.stringify(scanned.Items, (_key, value: unknown) =>
      value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value,
    );
    const body = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');

    expect(containsPrivateKey(raw)).toBe(false);
    expect(raw).not.toContain(body.slice(0, 64));
    expect(raw).not.toContain(body.slice(-64));
    expect(scrubPrivateKeys(raw)).toBe(raw);
  });

  it('refuses a different key for a version already stored, and keeps the stored one', async () => {
    const bundle = await buildBundle({ name: unique('api'), version: 'v1', issuer: ca });
    const ref = await store().put(bundle);
    const reissued = await buildBundle({ name: bundle.name, version: 'v1', issuer: ca });

    const attempt = store().put(reissued);

    await expect(attempt).rejects.toBeInstanceOf(RotationRefusedError);
    await expect(attempt).rejects.toThrow(`bundle ${bundle.name} version v1`);
    const kept = await store().get(ref);
    expect(kept.privateKey.reveal()).toBe(bundle.privateKey.reveal());
  });

  it('does not decrypt an item copied to another certificate or version, and says so without material', async () => {
    const bundle = await buildBundle({ name: unique('api'), version: 'v1', issuer: ca });
    await store().put(bundle);
    const item = await itemOf(bundle.name, 'v1');
    const other = unique('other');
    await dynamo().send(
      new PutItemCommand({
        TableName: TABLE,
        Item: { ...item, sk: { S: sortKeyFor(other, 'v1') }, name: { S: other } },
      }),
    );
    const ref = await store().find(other, 'v1');

    const read = store().get(ref!);

    await expect(read).rejects.toThrow(other);
    const message = await read.then(
      () => '',
      (error: Error) => error.message,
    );
    expect(containsPrivateKey(message)).toBe(false);
  });

  it('keeps names and versions apart even when one contains the separator', async () => {
    const base = unique('api');
    const a = await buildBundle({ name: `${base}#v`, version: '1', issuer: ca });
    const b = await buildBundle({ name: base, version: 'v#1', issuer: ca });

    const refA = await store().put(a);
    const refB = await store().put(b);

    expect(refA.location).not.toBe(refB.location);
    expect((await store().get(refA)).privateKey.reveal()).toBe(a.privateKey.reveal());
    expect((await store().get(refB)).privateKey.reveal()).toBe(b.privateKey.reveal());
  });

  it('fails naming the key and the bundle, without material, when KMS refuses the key', async () => {
    const bundle = await buildBundle({ name: unique('api'), version: 'v1', issuer: ca });
    const missingKey = `arn:aws:kms:us-east-1:123456789012:key/${randomUUID()}`;
    const broken = new KmsEnvelopeBundleStore({
      dynamodb: dynamo(),
      kms: kms(),
      tableName: TABLE,
      keyId: missingKey,
    });

    const attempt = broken.put(bundle);

    await expect(attempt).rejects.toThrow(missingKey);
    const message = await attempt.then(
      () => '',
      (error: Error) => error.message,
    );
    expect(message).toContain(bundle.name);
    expect(containsPrivateKey(message)).toBe(false);
    expect(await store().find(bundle.name, 'v1')).toBeUndefined();
  });
});

describe("the deployed rotation's bundle store", () => {
  const file = join(__dirname, '..', '..', '..', 'config', 'certrotor.example.yaml');
  const config = validateConfig(parseConfigText(readFileSync(file, 'utf8'), file), file);
  const pool = () => new AwsClientPool({ ...moto.clientConfig(), maxAttempts: 1 });
  let ca: BuiltCertificate;

  beforeAll(async () => {
    ca = await buildCa();
  });

  it('keeps a secret only for certificates hosts read from Secrets Manager (ssm and agent destinations)', () => {
    expect([...certificatesReadByHosts(config)].sort()).toEqual(['api-public', 'payments-client']);
  });

  it('stores a certificate no host reads in the table, and one an agent reads as a secret', async () => {
    const clients = pool();
    const state = new DynamoDbStateStore({ client: clients.get(DynamoDBClient), tableName: TABLE });
    const { bundles } = buildRotationAdapters(config, clients, {
      clock: () => new Date(),
      state,
      kmsKeyId: keyId,
    });
    const grpc = await buildBundle({ name: 'internal-grpc', version: unique('v'), issuer: ca });
    const api = await buildBundle({ name: 'api-public', version: unique('v'), issuer: ca });

    const grpcRef = await bundles.put(grpc);
    const apiRef = await bundles.put(api);

    expect(grpcRef.location).toMatch(/^kms-envelope:/);
    expect(apiRef.location).toMatch(/^arn:aws:secretsmanager:.*:secret:certrotor\/api-public-.*#/);
    expect((await bundles.get(grpcRef)).privateKey.reveal()).toBe(grpc.privateKey.reveal());
    expect((await bundles.get(apiRef)).privateKey.reveal()).toBe(api.privateKey.reveal());
    expect(await bundles.find('internal-grpc', grpc.version)).toEqual(grpcRef);
  });

  it('stores every new bundle as a secret without a KMS key, and still reads and finds those in the table', async () => {
    const clients = pool();
    const state = new DynamoDbStateStore({ client: clients.get(DynamoDBClient), tableName: TABLE });
    const withKey = buildRotationAdapters(config, clients, {
      clock: () => new Date(),
      state,
      kmsKeyId: keyId,
    });
    const withoutKey = buildRotationAdapters(config, clients, { clock: () => new Date(), state });
    const stored = await buildBundle({ name: 'internal-grpc', version: unique('v'), issuer: ca });
    const later = await buildBundle({ name: 'internal-grpc', version: unique('v'), issuer: ca });
    const storedRef = await withKey.bundles.put(stored);

    const found = await withoutKey.bundles.find('internal-grpc', stored.version);
    const laterRef = await withoutKey.bundles.put(later);

    expect(found).toEqual(storedRef);
    expect((await withoutKey.bundles.get(storedRef)).privateKey.reveal()).toBe(stored.privateKey.reveal());
    expect(laterRef.location).toMatch(/^arn:aws:secretsmanager:/);
  });
});
