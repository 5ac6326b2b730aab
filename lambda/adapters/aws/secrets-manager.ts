/**
 * Secrets Manager as the key store, as a destination and as an inventory source.
 *
 * One JSON secret per managed certificate (`certrotor/<name>` by default) holding
 * {name, version, certificatePem, chainPem, privateKeyPem, fingerprintSha256}. Each rotation version
 * is one secret version whose id is derived from the certificate name and rotation version
 * (`requestTokenFor`), so a retried write is recognised instead of duplicated and a retry can never
 * store a second key for the same version.
 *
 * Staging labels carry the rotation: a new version is staged as AWSPENDING, promotion moves AWSCURRENT
 * to it (Secrets Manager moves AWSPREVIOUS to the old one), rollback drops AWSPENDING, or moves
 * AWSCURRENT back once if the version was already promoted. Consumers (agents, applications) read
 * AWSCURRENT only.
 *
 * The store and a destination may be the same secret: `put` stages the version and `deliver` of the
 * same bundle then finds it already staged. A destination refuses a bundle when another rotation's
 * AWSPENDING is still there; `certrotor repair` clears it with `clearPending`.
 *
 * This file holds the secret format, the shared secret operations and the BundleStore; the destination
 * is in secrets-manager-destination.ts, the inventory source in secrets-manager-source.ts.
 */
import { createHash } from 'node:crypto';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { CertificateFacts } from '../../domain/certificate';
import { InvalidInputError, OperationError, RotationRefusedError } from '../../domain/errors';
import type { BundleRef, BundleStore, CertificateBundle } from '../../domain/ports';
import { SecretKey } from '../../domain/secret';
import { parseCertificates } from '../../domain/x509';
import { describeAwsError, isAwsError } from './clients';

export const STAGE_CURRENT = 'AWSCURRENT';
export const STAGE_PENDING = 'AWSPENDING';
export const STAGE_PREVIOUS = 'AWSPREVIOUS';
/** Marks the version a rollback took AWSCURRENT away from, so a repeated rollback does not flip back. */
export const STAGE_ROLLED_BACK = 'CERTROTOR_ROLLEDBACK';

export const MANAGED_TAG = 'certrotor:managed';
export const CERTIFICATE_TAG = 'certrotor:certificate';
export const DEFAULT_SECRET_PREFIX = 'certrotor/';

/** What one secret version holds. Agents parse the same shape (`parseSecretBundle`). */
export interface SecretBundleDocument {
  readonly name: string;
  readonly version: string;
  readonly certificatePem: string;
  readonly chainPem: string;
  readonly privateKeyPem: string;
  readonly fingerprintSha256: string;
}

/**
 * The secret version id for one rotation version: UUID-shaped (36 characters, inside Secrets
 * Manager's 32–64), the same on every retry and different for every certificate and version.
 */
export function requestTokenFor(name: string, version: string): string {
  const hex = createHash('sha256').update(`certrotor:${name}:${version}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Deterministic: the same bundle always serialises to the same string, so a retry is byte-identical. */
export function serializeBundle(bundle: CertificateBundle): string {
  const document: SecretBundleDocument = {
    name: bundle.name,
    version: bundle.version,
    certificatePem: bundle.certificatePem,
    chainPem: bundle.chainPem,
    privateKeyPem: bundle.privateKey.reveal(),
    fingerprintSha256: bundle.facts.fingerprintSha256,
  };
  return JSON.stringify(document);
}

/**
 * Reads a secret version written by certrotor. Throws InvalidInputError naming `secretName` for
 * anything else; the message never quotes the secret's text.
 */
export function parseSecretBundle(secretString: string, secretName: string): CertificateBundle {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    // JSON.parse quotes the text it choked on; that text may be a key.
    throw new InvalidInputError(`${secretName}: is not a certrotor certificate secret (not JSON)`);
  }
  const doc = parsed as Partial<Record<keyof SecretBundleDocument, unknown>>;
  const missing = (['certificatePem', 'privateKeyPem'] as const).filter((k) => typeof doc?.[k] !== 'string');
  if (typeof parsed !== 'object' || parsed === null || missing.length > 0) {
    throw new InvalidInputError(
      `${secretName}: is not a certrotor certificate secret (missing ${missing.join(', ') || 'fields'})`,
    );
  }
  const certificatePem = doc.certificatePem as string;
  const facts = parseLeaf(certificatePem, secretName);
  return {
    name: typeof doc.name === 'string' ? doc.name : secretName,
    version: typeof doc.version === 'string' ? doc.version : '',
    certificatePem,
    chainPem: typeof doc.chainPem === 'string' ? doc.chainPem : '',
    privateKey: new SecretKey(doc.privateKeyPem as string),
    facts,
  };
}

export function parseLeaf(certificatePem: string, inputName: string): CertificateFacts {
  const [leaf] = parseCertificates(certificatePem, inputName);
  if (leaf === undefined) throw new InvalidInputError(`${inputName}: holds no certificate`);
  return leaf.facts;
}

// ---------------------------------------------------------------------------------------------
// Shared secret operations
// ---------------------------------------------------------------------------------------------

interface SecretState {
  readonly arn: string;
  readonly name: string;
  /** Version id → staging labels, for every labelled version. */
  readonly stages: ReadonlyMap<string, readonly string[]>;
}

export interface SecretSettings {
  readonly kmsKeyId?: string;
  readonly tags?: Readonly<Record<string, string>>;
}

export function versionWith(state: SecretState, stage: string): string | undefined {
  for (const [versionId, stages] of state.stages) if (stages.includes(stage)) return versionId;
  return undefined;
}

/** AWSPENDING on a version that is not also AWSCURRENT: a staged rotation not yet promoted or rolled back. */
export function pendingNotCurrent(state: SecretState): string | undefined {
  const pending = versionWith(state, STAGE_PENDING);
  return pending !== undefined && !state.stages.get(pending)?.includes(STAGE_CURRENT) ? pending : undefined;
}

export async function describeSecret(
  client: SecretsManagerClient,
  secretId: string,
): Promise<SecretState | undefined> {
  try {
    const out = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
    if (out.DeletedDate !== undefined) return undefined;
    const stages = new Map<string, readonly string[]>();
    for (const [versionId, labels] of Object.entries(out.VersionIdsToStages ?? {})) {
      if (labels.length > 0) stages.set(versionId, [...labels]);
    }
    return { arn: out.ARN ?? secretId, name: out.Name ?? secretId, stages };
  } catch (error) {
    if (isAwsError(error, 'ResourceNotFoundException')) return undefined;
    throw describeAwsError('DescribeSecret', secretId, error);
  }
}

async function ensureSecret(
  client: SecretsManagerClient,
  secretId: string,
  certificateName: string,
  settings: SecretSettings,
): Promise<SecretState> {
  const existing = await describeSecret(client, secretId);
  if (existing !== undefined) return existing;
  const tags = { [MANAGED_TAG]: 'true', [CERTIFICATE_TAG]: certificateName, ...settings.tags };
  try {
    const out = await client.send(
      new CreateSecretCommand({
        Name: secretId,
        Description: `certrotor: certificate, chain and private key of ${certificateName}`,
        ...(settings.kmsKeyId !== undefined ? { KmsKeyId: settings.kmsKeyId } : {}),
        Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    return { arn: out.ARN ?? secretId, name: out.Name ?? secretId, stages: new Map() };
  } catch (error) {
    // Created concurrently by another step: use it.
    if (isAwsError(error, 'ResourceExistsException')) {
      const raced = await describeSecret(client, secretId);
      if (raced !== undefined) return raced;
    }
    throw describeAwsError('CreateSecret', secretId, error);
  }
}

/** The secret string of one version, or undefined when the secret or the version does not exist. */
export async function readVersion(
  client: SecretsManagerClient,
  secretId: string,
  select: { readonly versionId: string } | { readonly stage: string },
): Promise<{ readonly arn: string; readonly versionId: string; readonly secretString: string } | undefined> {
  try {
    const out = await client.send(
      new GetSecretValueCommand({
        SecretId: secretId,
        ...('versionId' in select ? { VersionId: select.versionId } : { VersionStage: select.stage }),
      }),
    );
    if (out.SecretString === undefined) {
      throw new InvalidInputError(`${secretId}: holds binary data, not a certrotor certificate secret`);
    }
    return { arn: out.ARN ?? secretId, versionId: out.VersionId ?? '', secretString: out.SecretString };
  } catch (error) {
    if (isAwsError(error, 'ResourceNotFoundException')) return undefined;
    if (error instanceof InvalidInputError) throw error;
    throw describeAwsError('GetSecretValue', secretId, error);
  }
}

export async function moveStage(
  client: SecretsManagerClient,
  secretId: string,
  stage: string,
  move: { readonly to?: string; readonly from?: string },
): Promise<void> {
  try {
    await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: stage,
        ...(move.to !== undefined ? { MoveToVersionId: move.to } : {}),
        ...(move.from !== undefined ? { RemoveFromVersionId: move.from } : {}),
      }),
    );
  } catch (error) {
    throw describeAwsError(`UpdateSecretVersionStage ${stage}`, secretId, error);
  }
}

function differentMaterial(
  secretId: string,
  bundle: CertificateBundle,
  versionId: string,
): RotationRefusedError {
  return new RotationRefusedError(
    `secret ${secretId} version ${versionId} (rotation ${bundle.name} ${bundle.version}) already holds different material: a retried step must reuse the stored bundle instead of issuing again`,
  );
}

/**
 * Writes the bundle as its own version, labelled AWSPENDING. A version already written by an earlier
 * try (same token, same bytes) is left as it is; one with different bytes is refused, never replaced.
 */
export async function stageBundle(
  client: SecretsManagerClient,
  secretId: string,
  bundle: CertificateBundle,
  settings: SecretSettings,
): Promise<{ readonly state: SecretState; readonly versionId: string; readonly alreadyStored: boolean }> {
  const versionId = requestTokenFor(bundle.name, bundle.version);
  const value = serializeBundle(bundle);
  const state = await ensureSecret(client, secretId, bundle.name, settings);
  const existing = await readVersion(client, state.arn, { versionId });
  if (existing !== undefined) {
    if (existing.secretString !== value) throw differentMaterial(secretId, bundle, versionId);
    return { state, versionId, alreadyStored: true };
  }
  try {
    await client.send(
      new PutSecretValueCommand({
        SecretId: state.arn,
        ClientRequestToken: versionId,
        SecretString: value,
        VersionStages: [STAGE_PENDING],
      }),
    );
  } catch (error) {
    if (isAwsError(error, 'ResourceExistsException')) throw differentMaterial(secretId, bundle, versionId);
    throw describeAwsError('PutSecretValue', secretId, error);
  }
  return { state, versionId, alreadyStored: false };
}

function parseLocation(
  ref: BundleRef,
): { readonly secretId: string; readonly versionId: string } | undefined {
  const at = ref.location.lastIndexOf('#');
  if (at <= 0 || at === ref.location.length - 1) return undefined;
  return { secretId: ref.location.slice(0, at), versionId: ref.location.slice(at + 1) };
}

// ---------------------------------------------------------------------------------------------
// BundleStore
// ---------------------------------------------------------------------------------------------

export interface SecretsManagerBundleStoreOptions extends SecretSettings {
  readonly client: SecretsManagerClient;
  /** Secret name for a managed certificate. @default `certrotor/<name>` */
  readonly secretNameFor?: (certificateName: string) => string;
}

/** The key store: every issued bundle is a version of its certificate's secret. */
export class SecretsManagerBundleStore implements BundleStore {
  private readonly client: SecretsManagerClient;
  private readonly settings: SecretSettings;
  private readonly secretNameFor: (certificateName: string) => string;

  constructor(options: SecretsManagerBundleStoreOptions) {
    this.client = options.client;
    this.settings = {
      ...(options.kmsKeyId !== undefined ? { kmsKeyId: options.kmsKeyId } : {}),
      ...(options.tags !== undefined ? { tags: options.tags } : {}),
    };
    this.secretNameFor = options.secretNameFor ?? ((name) => `${DEFAULT_SECRET_PREFIX}${name}`);
  }

  /** Stages the bundle as AWSPENDING. Storing the same bundle again is a no-op returning the same reference. */
  async put(bundle: CertificateBundle): Promise<BundleRef> {
    const secretId = this.secretNameFor(bundle.name);
    const { state, versionId } = await stageBundle(this.client, secretId, bundle, this.settings);
    return { name: bundle.name, version: bundle.version, location: `${state.arn}#${versionId}` };
  }

  async get(ref: BundleRef): Promise<CertificateBundle> {
    const where = parseLocation(ref);
    const label = `${ref.name} version ${ref.version}`;
    if (where === undefined) {
      throw new InvalidInputError(
        `bundle ${label}: location ${ref.location} is not <secret ARN>#<version id>`,
      );
    }
    const read = await readVersion(this.client, where.secretId, { versionId: where.versionId });
    if (read === undefined) {
      throw new OperationError(
        'GetSecretValue',
        where.secretId,
        `bundle ${label} is not stored (no version ${where.versionId})`,
      );
    }
    const bundle = parseSecretBundle(read.secretString, `${where.secretId} version ${where.versionId}`);
    if (bundle.name !== ref.name || bundle.version !== ref.version) {
      throw new OperationError(
        'GetSecretValue',
        where.secretId,
        `version ${where.versionId} holds ${bundle.name} version ${bundle.version}, not ${label}`,
      );
    }
    return bundle;
  }

  /** The version a previous try stored for this rotation, whatever its labels now are. */
  async find(name: string, version: string): Promise<BundleRef | undefined> {
    const secretId = this.secretNameFor(name);
    const versionId = requestTokenFor(name, version);
    const read = await readVersion(this.client, secretId, { versionId });
    return read === undefined ? undefined : { name, version, location: `${read.arn}#${versionId}` };
  }
}
