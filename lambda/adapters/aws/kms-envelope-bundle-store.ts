/**
 * The key store as items of the state table, each private key envelope-encrypted with KMS: no
 * Secrets Manager secret per bundle ($0.40 a month each), one small item per issued version instead.
 *
 * Per bundle: KMS GenerateDataKey (AES_256) under the stack's key with the encryption context
 * {certificate, version}; AES-256-GCM (node:crypto) over the private key PEM with a fresh 96-bit IV
 * and the certificate name and version as additional authenticated data; the plaintext data key is
 * zeroed once used. One item (`pk` = `bundles`, `sk` = `<name>#<version>`) holds the ciphertext, IV,
 * tag and encrypted data key next to the public parts (certificate, chain, fingerprint, validity).
 * `get` decrypts the data key with KMS Decrypt (same context: an item copied to another certificate
 * or version does not decrypt) and then the key.
 *
 * Idempotent: the item is written only if absent; storing the same name and version again compares
 * the stored material with the given one (decrypting it) and returns the same reference, and a
 * different key or certificate for a stored version is refused, never replaced.
 *
 * Key material never leaves this file except inside a `SecretKey`: it is not logged, not returned in
 * a reference and not quoted in an error; every key read or written is registered for redaction.
 *
 * Use it where no destination needs the bundle as a secret of its own: hosts (`ssm`, `agent`
 * destinations) read their bundle from Secrets Manager, so certificates delivered to them keep the
 * Secrets Manager store (see lambda/wiring/aws.ts).
 */
import { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { InvalidInputError, OperationError, RotationRefusedError } from '../../domain/errors';
import type { CertificateFacts } from '../../domain/certificate';
import type { BundleRef, BundleStore, CertificateBundle } from '../../domain/ports';
import { SecretKey, registerKeyMaterial } from '../../domain/secret';
import { parseCertificates } from '../../domain/x509';
import { describeAwsError, isAwsError } from './clients';

/** The state table collection (partition key) holding envelope-encrypted bundles. */
export const BUNDLE_COLLECTION = 'bundles';
export const ENVELOPE_ALGORITHM = 'AES-256-GCM';
/** Prefix of the references this store returns: `kms-envelope:<table>/bundles/<name>#<version>`. */
export const ENVELOPE_LOCATION_PREFIX = 'kms-envelope:';

const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface KmsEnvelopeBundleStoreOptions {
  /** The state table's client (the same one the DynamoDB state store uses). */
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
  readonly kms: KMSClient;
  /**
   * The KMS key (id, ARN or alias) that wraps each new bundle's data key. Without one the store only
   * reads (the encrypted data key names its key) and `put` fails.
   */
  readonly keyId?: string;
}

type Item = Record<string, AttributeValue>;

/** The encryption context of one bundle's data key: KMS refuses to decrypt it under any other. */
export function encryptionContextFor(name: string, version: string): Record<string, string> {
  return { certificate: name, version };
}

export class KmsEnvelopeBundleStore implements BundleStore {
  private readonly dynamodb: DynamoDBClient;
  private readonly kms: KMSClient;
  readonly tableName: string;
  private readonly keyId: string | undefined;

  constructor(options: KmsEnvelopeBundleStoreOptions) {
    this.dynamodb = options.dynamodb;
    this.kms = options.kms;
    this.tableName = options.tableName;
    this.keyId = options.keyId;
  }

  async put(bundle: CertificateBundle): Promise<BundleRef> {
    const existing = await this.read(bundle.name, bundle.version);
    if (existing !== undefined) return this.sameOrRefuse(existing, bundle);
    const item = await this.seal(bundle);
    try {
      await this.dynamodb.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw describeAwsError('PutItem', this.resource(bundle), error);
      // Another try stored this version in between: same material is the same bundle.
      const raced = await this.read(bundle.name, bundle.version);
      if (raced === undefined) throw describeAwsError('PutItem', this.resource(bundle), error);
      return this.sameOrRefuse(raced, bundle);
    }
    return this.refOf(bundle.name, bundle.version);
  }

  async get(ref: BundleRef): Promise<CertificateBundle> {
    const label = `bundle ${ref.name} version ${ref.version}`;
    if (ref.location !== this.locationOf(ref.name, ref.version)) {
      throw new OperationError(
        'GetItem',
        this.tableName,
        `${label}: location ${ref.location} is not a bundle of this store (${this.locationOf(ref.name, ref.version)})`,
      );
    }
    const item = await this.read(ref.name, ref.version);
    if (item === undefined) throw new OperationError('GetItem', this.tableName, `${label} is not stored`);
    return this.open(item, ref.name, ref.version);
  }

  async find(name: string, version: string): Promise<BundleRef | undefined> {
    const item = await this.read(name, version);
    return item === undefined ? undefined : this.refOf(name, version);
  }

  private async sameOrRefuse(item: Item, bundle: CertificateBundle): Promise<BundleRef> {
    const stored = await this.open(item, bundle.name, bundle.version);
    const sameKey = equalText(stored.privateKey.reveal(), bundle.privateKey.reveal());
    if (!sameKey || stored.certificatePem.trim() !== bundle.certificatePem.trim()) {
      throw new RotationRefusedError(
        `bundle ${bundle.name} version ${bundle.version} in ${this.tableName} already holds different material: a retried step must reuse the stored bundle instead of issuing again`,
      );
    }
    return this.refOf(bundle.name, bundle.version);
  }

  /** The item for `bundle`: the key encrypted under a fresh data key, the rest in the clear. */
  private async seal(bundle: CertificateBundle): Promise<Item> {
    if (this.keyId === undefined) {
      throw new OperationError(
        'kms:GenerateDataKey',
        this.resource(bundle),
        'no KMS key configured for envelope-encrypted bundles',
      );
    }
    const pem = bundle.privateKey.reveal();
    registerKeyMaterial(pem);
    let dataKey: Uint8Array;
    let encryptedDataKey: Uint8Array;
    let keyArn: string;
    try {
      const out = await this.kms.send(
        new GenerateDataKeyCommand({
          KeyId: this.keyId,
          KeySpec: 'AES_256',
          EncryptionContext: encryptionContextFor(bundle.name, bundle.version),
        }),
      );
      if (out.Plaintext === undefined || out.CiphertextBlob === undefined) {
        throw new OperationError('kms:GenerateDataKey', this.keyId, 'returned no data key');
      }
      dataKey = out.Plaintext;
      encryptedDataKey = out.CiphertextBlob;
      keyArn = out.KeyId ?? this.keyId;
    } catch (error) {
      if (error instanceof OperationError) throw error;
      throw describeAwsError('kms:GenerateDataKey', `${this.keyId} (${this.resource(bundle)})`, error);
    }
    const iv = randomBytes(IV_BYTES);
    try {
      const cipher = createCipheriv('aes-256-gcm', dataKey, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(aadFor(bundle.name, bundle.version));
      const ciphertext = Buffer.concat([cipher.update(pem, 'utf8'), cipher.final()]);
      return {
        pk: { S: BUNDLE_COLLECTION },
        sk: { S: sortKeyFor(bundle.name, bundle.version) },
        name: { S: bundle.name },
        version: { S: bundle.version },
        certificatePem: { S: bundle.certificatePem },
        chainPem: { S: bundle.chainPem },
        fingerprintSha256: { S: bundle.facts.fingerprintSha256 },
        notBefore: { S: bundle.facts.notBefore },
        notAfter: { S: bundle.facts.notAfter },
        subject: { S: bundle.facts.subject },
        algorithm: { S: ENVELOPE_ALGORITHM },
        keyId: { S: keyArn },
        encryptedDataKey: { B: encryptedDataKey },
        iv: { B: iv },
        tag: { B: cipher.getAuthTag() },
        ciphertext: { B: ciphertext },
        storedAt: { S: new Date().toISOString() },
      };
    } finally {
      dataKey.fill(0);
    }
  }

  /** The bundle in `item`, its key decrypted; errors name the bundle, never the material. */
  private async open(item: Item, name: string, version: string): Promise<CertificateBundle> {
    const label = `bundle ${name} version ${version}`;
    const text = (k: string) => item[k]?.S;
    const bytes = (k: string) => item[k]?.B;
    const encryptedDataKey = bytes('encryptedDataKey');
    const iv = bytes('iv');
    const tag = bytes('tag');
    const ciphertext = bytes('ciphertext');
    const certificatePem = text('certificatePem');
    if (
      text('algorithm') !== ENVELOPE_ALGORITHM ||
      !encryptedDataKey ||
      !iv ||
      !tag ||
      !ciphertext ||
      certificatePem === undefined
    ) {
      throw new OperationError(
        'GetItem',
        this.tableName,
        `${label}: the item is not an envelope-encrypted bundle`,
      );
    }
    let dataKey: Uint8Array;
    try {
      const out = await this.kms.send(
        new DecryptCommand({
          CiphertextBlob: encryptedDataKey,
          EncryptionContext: encryptionContextFor(name, version),
          ...(text('keyId') !== undefined ? { KeyId: text('keyId') } : {}),
        }),
      );
      if (out.Plaintext === undefined)
        throw new OperationError('kms:Decrypt', this.tableName, `${label}: no data key`);
      dataKey = out.Plaintext;
    } catch (error) {
      if (error instanceof OperationError) throw error;
      throw describeAwsError('kms:Decrypt', `${this.tableName} ${label}`, error);
    }
    let pem: string;
    try {
      const decipher = createDecipheriv('aes-256-gcm', dataKey, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aadFor(name, version));
      decipher.setAuthTag(tag);
      pem = Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    } catch {
      // The cipher's own message says nothing useful and must never carry material.
      throw new OperationError(
        'decrypt',
        this.tableName,
        `${label}: the encrypted key does not authenticate (altered, or stored for another certificate or version)`,
      );
    } finally {
      dataKey.fill(0);
    }
    registerKeyMaterial(pem);
    return {
      name,
      version,
      certificatePem,
      chainPem: text('chainPem') ?? '',
      privateKey: new SecretKey(pem),
      facts: parseLeaf(certificatePem, `${this.tableName} ${label}`),
    };
  }

  private async read(name: string, version: string): Promise<Item | undefined> {
    try {
      const out = await this.dynamodb.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: BUNDLE_COLLECTION }, sk: { S: sortKeyFor(name, version) } },
          ConsistentRead: true,
        }),
      );
      return out.Item;
    } catch (error) {
      throw describeAwsError('GetItem', `${this.tableName} bundle ${name} version ${version}`, error);
    }
  }

  private refOf(name: string, version: string): BundleRef {
    return { name, version, location: this.locationOf(name, version) };
  }

  private locationOf(name: string, version: string): string {
    return `${ENVELOPE_LOCATION_PREFIX}${this.tableName}/${BUNDLE_COLLECTION}/${sortKeyFor(name, version)}`;
  }

  private resource(bundle: CertificateBundle): string {
    return `${this.tableName} bundle ${bundle.name} version ${bundle.version}`;
  }
}

/** `<name>#<version>`, each part escaped so no name or version can run into the other. */
export function sortKeyFor(name: string, version: string): string {
  return `${encodeURIComponent(name)}#${encodeURIComponent(version)}`;
}

function parseLeaf(certificatePem: string, inputName: string): CertificateFacts {
  const [leaf] = parseCertificates(certificatePem, inputName);
  if (leaf === undefined) throw new InvalidInputError(`${inputName}: holds no certificate`);
  return leaf.facts;
}

function aadFor(name: string, version: string): Buffer {
  return Buffer.from(JSON.stringify(['certrotor-bundle', name, version]), 'utf8');
}

function equalText(a: string, b: string): boolean {
  const x = Buffer.from(a.trim(), 'utf8');
  const y = Buffer.from(b.trim(), 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException || isAwsError(error, 'ConditionalCheckFailedException')
  );
}

export interface BundleStoreRoutingOptions {
  /** Bundles no host reads as a secret. */
  readonly envelope: KmsEnvelopeBundleStore;
  /** Bundles hosts read from Secrets Manager (`ssm` and `agent` destinations). */
  readonly secrets: BundleStore;
  /** True for certificates whose bundle must be a secret. */
  readonly needsSecret: (certificateName: string) => boolean;
}

/**
 * One BundleStore over both: `put` stores a certificate's bundle where its destinations need it;
 * `get` follows the reference (an envelope location or a secret), so a bundle stays readable
 * whichever store held it when it was stored; `find` asks the certificate's store first, then the
 * other, so a retried step resumes even if the configuration moved the certificate in between.
 */
export class RoutedBundleStore implements BundleStore {
  constructor(private readonly options: BundleStoreRoutingOptions) {}

  put(bundle: CertificateBundle): Promise<BundleRef> {
    return this.storeFor(bundle.name).put(bundle);
  }

  get(ref: BundleRef): Promise<CertificateBundle> {
    const { envelope, secrets } = this.options;
    return (ref.location.startsWith(ENVELOPE_LOCATION_PREFIX) ? envelope : secrets).get(ref);
  }

  async find(name: string, version: string): Promise<BundleRef | undefined> {
    const primary = this.storeFor(name);
    const other = primary === this.options.envelope ? this.options.secrets : this.options.envelope;
    return (await primary.find(name, version)) ?? (await other.find(name, version));
  }

  private storeFor(name: string): BundleStore {
    return this.options.needsSecret(name) ? this.options.secrets : this.options.envelope;
  }
}
