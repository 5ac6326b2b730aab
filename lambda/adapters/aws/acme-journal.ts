/**
 * The ACME issuer's keys and order journal on the AWS backend (the deployed rotation and the CLI's
 * `--backend aws`), so a Lambda that dies between placing an order and finalising it resumes that
 * order on the retry instead of ordering (and being issued) a second certificate:
 *
 * - the account key: one Secrets Manager secret per issuer (`<secretPrefix>acme/<issuer>/account-key`,
 *   under the stack's KMS key), created on first use; concurrent first uses agree on the one created;
 * - each order's certificate key, generated before the order: an item of the state table
 *   (`pk` = `acme-order-keys`, `sk` = `<issuer>#<idempotency key>`), the key envelope-encrypted as
 *   bundles are (KMS data key under the context {certificate, version}, AES-256-GCM with its own
 *   additional data), written only if absent, and gone after the retention by the table's TTL.
 *   Without a KMS key (the CLI outside the deployment), the key goes to a Secrets Manager secret
 *   instead (`<secretPrefix>issuance/<key>`, as ACM PCA issuances do);
 * - the order URL: the state store's `acme-orders` collection (the local journal's too).
 *
 * Key material leaves this file only inside a `SecretKey` and is registered for redaction.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { OperationError } from '../../domain/errors';
import type { StateStore } from '../../domain/ports';
import { SecretKey, registerKeyMaterial } from '../../domain/secret';
import {
  type AcmeKeyFiles,
  type AcmeOrderJournal,
  type AcmeOrderRecord,
  type AcmeOrderSubject,
  ORDER_KEY_RETENTION_MS,
} from '../net/acme/journal';
import type { SecretsManagerIssuanceJournal } from './acm-pca';
import { describeAwsError, isAwsError } from './clients';
import { ENVELOPE_ALGORITHM, encryptionContextFor } from './kms-envelope-bundle-store';

/** The state table collection (partition key) of envelope-encrypted ACME order keys. */
export const ACME_ORDER_KEY_COLLECTION = 'acme-orders-keys';
const ORDERS = 'acme-orders';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface AwsAcmeJournalOptions {
  readonly issuerName: string;
  readonly state: StateStore;
  readonly clock: () => Date;
  readonly secrets: SecretsManagerClient;
  /** The account key's secret name. */
  readonly accountSecretName: string;
  /** KMS key for the account key's secret and the order keys' data keys. */
  readonly kmsKeyId?: string;
  /** The state table, where order keys are envelope-encrypted (needs `kmsKeyId`). */
  readonly table?: { readonly dynamodb: DynamoDBClient; readonly kms: KMSClient; readonly tableName: string };
  /** Where order keys go without a KMS key: Secrets Manager, as ACM PCA issuances. */
  readonly fallbackKeys: SecretsManagerIssuanceJournal;
}

type Item = Record<string, AttributeValue>;

export class AwsAcmeJournal implements AcmeOrderJournal, AcmeKeyFiles {
  constructor(private readonly options: AwsAcmeJournalOptions) {}

  async accountKey(create: () => Promise<SecretKey>): Promise<SecretKey> {
    const existing = await this.readAccountKey();
    if (existing) return existing;
    const key = await create();
    const name = this.options.accountSecretName;
    try {
      await this.options.secrets.send(
        new CreateSecretCommand({
          Name: name,
          Description: `certrotor: ACME account key of issuer ${this.options.issuerName}`,
          SecretString: JSON.stringify({ privateKey: key.reveal() }),
          ...(this.options.kmsKeyId ? { KmsKeyId: this.options.kmsKeyId } : {}),
          Tags: [{ Key: 'certrotor:acme-account', Value: this.options.issuerName }],
        }),
      );
      return key;
    } catch (error) {
      if (!isAwsError(error, 'ResourceExistsException'))
        throw describeAwsError('secretsmanager:CreateSecret', name, error);
    }
    // Another rotation created it first: that one is the account's key.
    const raced = await this.readAccountKey();
    if (!raced)
      throw new OperationError('secretsmanager:CreateSecret', name, 'exists but cannot be read back');
    return raced;
  }

  async lookup(idempotencyKey: string, subject: AcmeOrderSubject): Promise<AcmeOrderRecord | undefined> {
    const privateKey = this.envelope()
      ? await this.readOrderKey(idempotencyKey, subject)
      : (await this.options.fallbackKeys.lookup(this.fallbackKey(idempotencyKey)))?.privateKey;
    const stored = await this.options.state.get<{ orderUrl?: string }>(
      ORDERS,
      idempotencyKey,
      this.options.clock(),
    );
    if (privateKey === undefined && !stored) return undefined;
    return {
      ...(privateKey !== undefined ? { privateKey } : {}),
      ...(stored?.value.orderUrl ? { orderUrl: stored.value.orderUrl } : {}),
    };
  }

  async reserveKey(
    idempotencyKey: string,
    privateKey: SecretKey,
    subject: AcmeOrderSubject,
  ): Promise<SecretKey> {
    const table = this.envelope();
    if (!table) return this.options.fallbackKeys.reserve(this.fallbackKey(idempotencyKey), privateKey);
    const item = await this.seal(idempotencyKey, privateKey, subject);
    try {
      await table.dynamodb.send(
        new PutItemCommand({
          TableName: table.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return privateKey;
    } catch (error) {
      if (!(
        error instanceof ConditionalCheckFailedException ||
        isAwsError(error, 'ConditionalCheckFailedException')
      ))
        throw describeAwsError('PutItem', this.label(idempotencyKey), error);
    }
    // A concurrent first try stored its key: the order is placed with that one.
    const stored = await this.readOrderKey(idempotencyKey, subject);
    if (!stored)
      throw new OperationError('PutItem', this.label(idempotencyKey), 'exists but cannot be read back');
    return stored;
  }

  async recordOrder(idempotencyKey: string, orderUrl: string): Promise<void> {
    const now = this.options.clock();
    await this.options.state.put(ORDERS, idempotencyKey, { orderUrl }, now, {
      expiresAt: new Date(now.getTime() + ORDER_KEY_RETENTION_MS),
    });
  }

  private envelope(): AwsAcmeJournalOptions['table'] | undefined {
    return this.options.kmsKeyId ? this.options.table : undefined;
  }

  private fallbackKey(idempotencyKey: string): string {
    return `acme/${this.options.issuerName}/${idempotencyKey}`;
  }

  private label(idempotencyKey: string): string {
    return `${this.options.table?.tableName ?? ''} ACME order key ${this.options.issuerName}/${idempotencyKey}`;
  }

  private sortKey(idempotencyKey: string): string {
    return `${encodeURIComponent(this.options.issuerName)}#${encodeURIComponent(idempotencyKey)}`;
  }

  private async readAccountKey(): Promise<SecretKey | undefined> {
    const name = this.options.accountSecretName;
    let value: string | undefined;
    try {
      value = (await this.options.secrets.send(new GetSecretValueCommand({ SecretId: name }))).SecretString;
    } catch (error) {
      if (isAwsError(error, 'ResourceNotFoundException')) return undefined;
      throw describeAwsError('secretsmanager:GetSecretValue', name, error);
    }
    const pem = value !== undefined ? (JSON.parse(value) as { privateKey?: string }).privateKey : undefined;
    if (pem === undefined)
      throw new OperationError('secretsmanager:GetSecretValue', name, 'the secret holds no ACME account key');
    registerKeyMaterial(pem);
    return new SecretKey(pem);
  }

  private async readOrderKey(
    idempotencyKey: string,
    subject: AcmeOrderSubject,
  ): Promise<SecretKey | undefined> {
    const table = this.envelope()!;
    let item: Item | undefined;
    try {
      item = (
        await table.dynamodb.send(
          new GetItemCommand({
            TableName: table.tableName,
            Key: { pk: { S: ACME_ORDER_KEY_COLLECTION }, sk: { S: this.sortKey(idempotencyKey) } },
            ConsistentRead: true,
          }),
        )
      ).Item;
    } catch (error) {
      throw describeAwsError('GetItem', this.label(idempotencyKey), error);
    }
    return item ? this.open(item, idempotencyKey, subject) : undefined;
  }

  private async seal(
    idempotencyKey: string,
    privateKey: SecretKey,
    subject: AcmeOrderSubject,
  ): Promise<Item> {
    const table = this.envelope()!;
    const pem = privateKey.reveal();
    registerKeyMaterial(pem);
    let out;
    try {
      out = await table.kms.send(
        new GenerateDataKeyCommand({
          KeyId: this.options.kmsKeyId,
          KeySpec: 'AES_256',
          EncryptionContext: encryptionContextFor(subject.name, subject.version),
        }),
      );
    } catch (error) {
      throw describeAwsError('kms:GenerateDataKey', this.label(idempotencyKey), error);
    }
    if (!out.Plaintext || !out.CiphertextBlob)
      throw new OperationError('kms:GenerateDataKey', this.label(idempotencyKey), 'returned no data key');
    const dataKey = out.Plaintext;
    try {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', dataKey, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(aadFor(this.options.issuerName, idempotencyKey, subject));
      const ciphertext = Buffer.concat([cipher.update(pem, 'utf8'), cipher.final()]);
      const now = this.options.clock();
      return {
        pk: { S: ACME_ORDER_KEY_COLLECTION },
        sk: { S: this.sortKey(idempotencyKey) },
        issuer: { S: this.options.issuerName },
        certificate: { S: subject.name },
        version: { S: subject.version },
        algorithm: { S: ENVELOPE_ALGORITHM },
        keyId: { S: out.KeyId ?? this.options.kmsKeyId! },
        encryptedDataKey: { B: out.CiphertextBlob },
        iv: { B: iv },
        tag: { B: cipher.getAuthTag() },
        ciphertext: { B: ciphertext },
        storedAt: { S: now.toISOString() },
        // The table's TTL attribute (epoch seconds): a retry of this issuance is long over by then.
        expiresAt: { N: String(Math.floor((now.getTime() + ORDER_KEY_RETENTION_MS) / 1000)) },
      };
    } finally {
      dataKey.fill(0);
    }
  }

  private async open(item: Item, idempotencyKey: string, subject: AcmeOrderSubject): Promise<SecretKey> {
    const label = this.label(idempotencyKey);
    const encryptedDataKey = item.encryptedDataKey?.B;
    const iv = item.iv?.B;
    const tag = item.tag?.B;
    const ciphertext = item.ciphertext?.B;
    if (item.algorithm?.S !== ENVELOPE_ALGORITHM || !encryptedDataKey || !iv || !tag || !ciphertext)
      throw new OperationError('GetItem', label, 'the item is not an envelope-encrypted key');
    let dataKey: Uint8Array;
    try {
      const out = await this.envelope()!.kms.send(
        new DecryptCommand({
          CiphertextBlob: encryptedDataKey,
          EncryptionContext: encryptionContextFor(subject.name, subject.version),
          ...(item.keyId?.S ? { KeyId: item.keyId.S } : {}),
        }),
      );
      if (!out.Plaintext) throw new OperationError('kms:Decrypt', label, 'no data key');
      dataKey = out.Plaintext;
    } catch (error) {
      if (error instanceof OperationError) throw error;
      throw describeAwsError('kms:Decrypt', label, error);
    }
    let pem: string;
    try {
      const decipher = createDecipheriv('aes-256-gcm', dataKey, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aadFor(this.options.issuerName, idempotencyKey, subject));
      decipher.setAuthTag(tag);
      pem = Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    } catch {
      throw new OperationError(
        'decrypt',
        label,
        'the encrypted key does not authenticate (altered, or stored for another order)',
      );
    } finally {
      dataKey.fill(0);
    }
    registerKeyMaterial(pem);
    return new SecretKey(pem);
  }
}

function aadFor(issuer: string, idempotencyKey: string, subject: AcmeOrderSubject): Buffer {
  return Buffer.from(
    JSON.stringify(['certrotor-acme-order-key', issuer, idempotencyKey, subject.name, subject.version]),
    'utf8',
  );
}
