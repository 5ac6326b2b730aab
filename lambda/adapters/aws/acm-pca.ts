/**
 * AWS Private CA (ACM PCA) as an issuer.
 *
 * Primary course: look the rotation's idempotency key up in the issuance journal; if nothing is
 * there, generate the key locally and persist it in the journal; make a CSR; `IssueCertificate` with
 * an idempotency token derived from the rotation; persist the returned certificate ARN in the journal
 * before anything else; wait with the SDK waiter; `GetCertificate`; return the bundle.
 *
 * Why the journal: a step that times out after the CA issued but before the result was stored is
 * retried. PCA's own idempotency token only deduplicates for a few minutes, and a fresh key would
 * make the same CSR impossible anyway, so a retry must find both the key and the ARN of the first
 * attempt. With both persisted first, a retry at any point completes the same issuance.
 */
import { createHash, createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import {
  type ACMPCAClient,
  DescribeCertificateAuthorityCommand,
  GetCertificateAuthorityCertificateCommand,
  GetCertificateCommand,
  IssueCertificateCommand,
  type SigningAlgorithm,
  waitUntilCertificateIssued,
} from '@aws-sdk/client-acm-pca';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  type SecretsManagerClient,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { CertrotorError, OperationError, describeError } from '../../domain/errors';
import type {
  CertificateBundle,
  CertificateMaterial,
  CertificateUsage,
  IssueRequest,
  Issuer,
  IssuerWithCaExpiry,
  KeySpec,
} from '../../domain/ports';
import { SecretKey } from '../../domain/secret';
import { keyMatchesCertificate } from '../../domain/private-keys';
import { parseCertificates } from '../../domain/x509';
import { createCsr, exportPrivateKey, generateKeyPair } from '../crypto/mint';
import { describeAwsError, isAwsError } from './clients';

// ---------------------------------------------------------------------------------------------
// Issuance journal
// ---------------------------------------------------------------------------------------------

/** What the journal holds for one idempotency key. */
export interface IssuanceRecord {
  readonly privateKey: SecretKey;
  /** Set once the CA answered `IssueCertificate`. */
  readonly certificateArn?: string;
}

/**
 * Durable memory of issuances in flight, keyed by the rotation's idempotency key. Written before the
 * CA is called (the key) and right after it answers (the ARN), so a retried step resumes instead of
 * issuing a second certificate. It holds private keys: the AWS implementation keeps them in Secrets
 * Manager (encrypted at rest with the stack's KMS key), never in DynamoDB.
 */
export interface IssuanceJournal {
  lookup(idempotencyKey: string): Promise<IssuanceRecord | undefined>;
  /**
   * Persists the key generated for `idempotencyKey` and returns the key now on record: the one given,
   * or the one a concurrent attempt persisted first.
   */
  reserve(idempotencyKey: string, privateKey: SecretKey): Promise<SecretKey>;
  /** Persists the certificate ARN the CA returned for `idempotencyKey`. */
  record(idempotencyKey: string, certificateArn: string): Promise<void>;
}

/** A journal in process memory: for the CLI (one process per rotation) and tests. */
export class MemoryIssuanceJournal implements IssuanceJournal {
  private readonly records = new Map<string, IssuanceRecord>();

  async lookup(idempotencyKey: string): Promise<IssuanceRecord | undefined> {
    return this.records.get(idempotencyKey);
  }

  async reserve(idempotencyKey: string, privateKey: SecretKey): Promise<SecretKey> {
    const existing = this.records.get(idempotencyKey);
    if (existing) return existing.privateKey;
    this.records.set(idempotencyKey, { privateKey });
    return privateKey;
  }

  async record(idempotencyKey: string, certificateArn: string): Promise<void> {
    const existing = this.records.get(idempotencyKey);
    if (!existing)
      throw new CertrotorError(
        `issuance ${idempotencyKey}: no key was reserved before recording ${certificateArn}`,
      );
    this.records.set(idempotencyKey, { ...existing, certificateArn });
  }
}

export const CERTIFICATE_ARN_TAG = 'certrotor:certificate-arn';

export interface SecretsManagerIssuanceJournalOptions {
  readonly client: SecretsManagerClient;
  /** Secret name prefix. @default 'certrotor/issuance/' */
  readonly prefix?: string;
  /** KMS key for the secrets. @default the account's aws/secretsmanager key */
  readonly kmsKeyId?: string;
}

/**
 * One secret per issuance: the private key as its value (encrypted at rest by Secrets Manager), the
 * certificate ARN as a tag (an ARN is not secret, and a tag is written without a new secret version).
 * The secret is created with a `ClientRequestToken` derived from the idempotency key, so a retried
 * `reserve` with another key fails instead of replacing the first one; the first key is returned.
 */
export class SecretsManagerIssuanceJournal implements IssuanceJournal {
  private readonly prefix: string;

  constructor(private readonly options: SecretsManagerIssuanceJournalOptions) {
    this.prefix = options.prefix ?? 'certrotor/issuance/';
  }

  secretName(idempotencyKey: string): string {
    return `${this.prefix}${idempotencyKey.replace(/[^\w/+=.@-]/g, '-')}`;
  }

  async lookup(idempotencyKey: string): Promise<IssuanceRecord | undefined> {
    const name = this.secretName(idempotencyKey);
    let tags: { Key?: string; Value?: string }[];
    try {
      tags = (await this.options.client.send(new DescribeSecretCommand({ SecretId: name }))).Tags ?? [];
    } catch (error) {
      if (isAwsError(error, 'ResourceNotFoundException')) return undefined;
      throw describeAwsError('secretsmanager:DescribeSecret', name, error);
    }
    let value: string | undefined;
    try {
      value = (await this.options.client.send(new GetSecretValueCommand({ SecretId: name }))).SecretString;
    } catch (error) {
      throw describeAwsError('secretsmanager:GetSecretValue', name, error);
    }
    const privateKey =
      value !== undefined ? (JSON.parse(value) as { privateKey?: string }).privateKey : undefined;
    if (privateKey === undefined) {
      throw new OperationError(
        'secretsmanager:GetSecretValue',
        name,
        'the issuance secret holds no private key',
      );
    }
    const certificateArn = tags.find((t) => t.Key === CERTIFICATE_ARN_TAG)?.Value;
    return { privateKey: new SecretKey(privateKey), ...(certificateArn ? { certificateArn } : {}) };
  }

  async reserve(idempotencyKey: string, privateKey: SecretKey): Promise<SecretKey> {
    const name = this.secretName(idempotencyKey);
    try {
      await this.options.client.send(
        new CreateSecretCommand({
          Name: name,
          Description: `certrotor: private key of issuance ${idempotencyKey} (kept until the rotation completes)`,
          SecretString: JSON.stringify({ privateKey: privateKey.reveal() }),
          ClientRequestToken: requestToken(idempotencyKey),
          ...(this.options.kmsKeyId ? { KmsKeyId: this.options.kmsKeyId } : {}),
          Tags: [{ Key: 'certrotor:issuance', Value: idempotencyKey }],
        }),
      );
      return privateKey;
    } catch (error) {
      if (!isAwsError(error, 'ResourceExistsException'))
        throw describeAwsError('secretsmanager:CreateSecret', name, error);
    }
    const existing = await this.lookup(idempotencyKey);
    if (!existing)
      throw new OperationError('secretsmanager:CreateSecret', name, 'exists but cannot be read back');
    return existing.privateKey;
  }

  async record(idempotencyKey: string, certificateArn: string): Promise<void> {
    const name = this.secretName(idempotencyKey);
    try {
      await this.options.client.send(
        new TagResourceCommand({
          SecretId: name,
          Tags: [{ Key: CERTIFICATE_ARN_TAG, Value: certificateArn }],
        }),
      );
    } catch (error) {
      throw describeAwsError('secretsmanager:TagResource', name, error);
    }
  }
}

/** Secrets Manager request tokens are 32–64 characters. */
function requestToken(idempotencyKey: string): string {
  return createHash('sha256').update(`certrotor-issuance:${idempotencyKey}`).digest('hex').slice(0, 64);
}

// ---------------------------------------------------------------------------------------------
// Issuer
// ---------------------------------------------------------------------------------------------

/**
 * PCA's `IdempotencyToken`: at most 36 characters of `[\w-]`. A key that already fits is used as is
 * (readable in CloudTrail); any other becomes a prefix of its SHA-256, the same for every retry.
 */
export function pcaIdempotencyToken(idempotencyKey: string): string {
  if (/^[\w-]{1,36}$/.test(idempotencyKey)) return idempotencyKey;
  return `cr-${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 33)}`;
}

const TEMPLATES: Record<CertificateUsage, string> = {
  server: 'arn:aws:acm-pca:::template/EndEntityServerAuthCertificate/V1',
  client: 'arn:aws:acm-pca:::template/EndEntityClientAuthCertificate/V1',
  'server-and-client': 'arn:aws:acm-pca:::template/EndEntityCertificate/V1',
};

export interface AcmPcaIssuerOptions {
  readonly client: ACMPCAClient;
  readonly certificateAuthorityArn: string;
  readonly journal: IssuanceJournal;
  /** Issuer name from configuration. @default 'acm-pca' */
  readonly name?: string;
  /** @default the CA's own signing algorithm, read once with DescribeCertificateAuthority */
  readonly signingAlgorithm?: SigningAlgorithm;
  /**
   * Certificate template for every issuance (`issuers[].templateArn`), e.g. one with a custom
   * extension or path length. @default by usage: EndEntityServerAuthCertificate/V1,
   * EndEntityClientAuthCertificate/V1 or EndEntityCertificate/V1
   */
  readonly templateArn?: string;
  /** Longest wait for the certificate to be issued. @default 120 */
  readonly maxWaitSeconds?: number;
  /** Shortest delay between waiter polls. @default 1 */
  readonly minPollSeconds?: number;
}

export class AcmPcaIssuer implements Issuer, IssuerWithCaExpiry {
  readonly name: string;
  private signingAlgorithm: SigningAlgorithm | undefined;

  constructor(private readonly options: AcmPcaIssuerOptions) {
    this.name = options.name ?? 'acm-pca';
    this.signingAlgorithm = options.signingAlgorithm;
  }

  async issue(request: IssueRequest, _now: Date): Promise<CertificateBundle> {
    const { journal } = this.options;
    const key = request.idempotencyKey;
    const previous = await journal.lookup(key);
    let privateKey = previous?.privateKey;
    if (privateKey === undefined) {
      privateKey = await journal.reserve(key, await exportPrivateKey(await generateKeyPair(request.keySpec)));
    }

    let certificateArn = previous?.certificateArn;
    if (certificateArn === undefined) {
      const csr = await createCsr({
        subject: `CN=${request.commonName}`,
        dnsNames: request.dnsNames,
        ...(request.ipAddresses ? { ipAddresses: request.ipAddresses } : {}),
        keys: await keyPairFromPem(privateKey, request.keySpec),
      });
      certificateArn = await this.requestCertificate(request, csr);
      await journal.record(key, certificateArn);
    }

    const { certificatePem, chainPem } = await this.fetchIssued(certificateArn);
    if (!keyMatchesCertificate(certificatePem, privateKey)) {
      throw new OperationError(
        'acm-pca:GetCertificate',
        certificateArn,
        `the issued certificate does not match the key on record for issuance ${key}`,
      );
    }
    const facts = parseCertificates(certificatePem, certificateArn)[0]!.facts;
    return { name: request.name, version: request.version, certificatePem, chainPem, privateKey, facts };
  }

  async caCertificate(): Promise<CertificateMaterial> {
    return readPcaCaCertificate(this.options.client, this.options.certificateAuthorityArn);
  }

  private async requestCertificate(request: IssueRequest, csrPem: string): Promise<string> {
    const arn = this.options.certificateAuthorityArn;
    try {
      const response = await this.options.client.send(
        new IssueCertificateCommand({
          CertificateAuthorityArn: arn,
          Csr: Buffer.from(csrPem),
          SigningAlgorithm: await this.caSigningAlgorithm(),
          TemplateArn: this.options.templateArn ?? TEMPLATES[request.usage],
          Validity: { Type: 'DAYS', Value: request.validityDays },
          IdempotencyToken: pcaIdempotencyToken(request.idempotencyKey),
        }),
      );
      if (!response.CertificateArn) throw new Error('the response holds no certificate ARN');
      return response.CertificateArn;
    } catch (error) {
      throw describeAwsError(
        'acm-pca:IssueCertificate',
        `${arn} (${request.name} ${request.version})`,
        error,
      );
    }
  }

  private async caSigningAlgorithm(): Promise<SigningAlgorithm> {
    if (this.signingAlgorithm) return this.signingAlgorithm;
    const arn = this.options.certificateAuthorityArn;
    try {
      const described = await this.options.client.send(
        new DescribeCertificateAuthorityCommand({ CertificateAuthorityArn: arn }),
      );
      const algorithm = described.CertificateAuthority?.CertificateAuthorityConfiguration?.SigningAlgorithm;
      if (!algorithm) throw new Error('the CA configuration names no signing algorithm');
      this.signingAlgorithm = algorithm;
      return algorithm;
    } catch (error) {
      throw describeAwsError('acm-pca:DescribeCertificateAuthority', arn, error);
    }
  }

  private async fetchIssued(certificateArn: string): Promise<{ certificatePem: string; chainPem: string }> {
    const input = {
      CertificateAuthorityArn: this.options.certificateAuthorityArn,
      CertificateArn: certificateArn,
    };
    try {
      await waitUntilCertificateIssued(
        {
          client: this.options.client,
          maxWaitTime: this.options.maxWaitSeconds ?? 120,
          minDelay: this.options.minPollSeconds ?? 1,
        },
        input,
      );
    } catch (error) {
      throw new OperationError(
        'acm-pca:GetCertificate',
        certificateArn,
        `the certificate was not issued in time: ${describeError(error)}`,
        { cause: error },
      );
    }
    try {
      const response = await this.options.client.send(new GetCertificateCommand(input));
      if (!response.Certificate) throw new Error('the response holds no certificate');
      return {
        certificatePem: response.Certificate.trim() + '\n',
        chainPem: response.CertificateChain ? response.CertificateChain.trim() + '\n' : '',
      };
    } catch (error) {
      throw describeAwsError('acm-pca:GetCertificate', certificateArn, error);
    }
  }
}

/**
 * The certificate of a private CA, read without issuing anything: `DescribeCertificateAuthority`
 * (a CA with no certificate installed yet has no `NotAfter`), then
 * `GetCertificateAuthorityCertificate`. There is no AWS event for a CA nearing expiry, so this is
 * what the inventory watches.
 */
export async function readPcaCaCertificate(client: ACMPCAClient, arn: string): Promise<CertificateMaterial> {
  let notAfter: Date | undefined;
  try {
    const described = await client.send(
      new DescribeCertificateAuthorityCommand({ CertificateAuthorityArn: arn }),
    );
    notAfter = described.CertificateAuthority?.NotAfter;
  } catch (error) {
    throw describeAwsError('acm-pca:DescribeCertificateAuthority', arn, error);
  }
  if (notAfter === undefined) {
    throw new OperationError(
      'acm-pca:DescribeCertificateAuthority',
      arn,
      'the CA has no certificate installed yet',
    );
  }
  let pem: string | undefined;
  try {
    pem = (await client.send(new GetCertificateAuthorityCertificateCommand({ CertificateAuthorityArn: arn })))
      .Certificate;
  } catch (error) {
    throw describeAwsError('acm-pca:GetCertificateAuthorityCertificate', arn, error);
  }
  if (!pem)
    throw new OperationError('acm-pca:GetCertificateAuthorityCertificate', arn, 'no certificate returned');
  return parseCertificates(pem, arn)[0]!;
}

/** The WebCrypto key pair of a persisted PKCS#8 key, to sign a CSR with the key on record. */
async function keyPairFromPem(privateKey: SecretKey, spec: KeySpec): Promise<CryptoKeyPair> {
  const keyObject = createPrivateKey(privateKey.reveal());
  const algorithm = spec.startsWith('EC_')
    ? { name: 'ECDSA', namedCurve: spec === 'EC_P384' ? 'P-384' : 'P-256' }
    : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const pkcs8 = keyObject.export({ format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(keyObject).export({ format: 'der', type: 'spki' });
  const [priv, pub] = await Promise.all([
    webcrypto.subtle.importKey('pkcs8', pkcs8, algorithm, true, ['sign']),
    webcrypto.subtle.importKey('spki', spki, algorithm, true, ['verify']),
  ]);
  return { privateKey: priv, publicKey: pub } as unknown as CryptoKeyPair;
}
