/**
 * ACM exportable public certificates as an issuer (kind `acm`, issue 17): ACM's public CA signs, ACM
 * keeps the key and renews the certificate itself, and certrotor exports each version and delivers it
 * to hosts ACM cannot reach (EC2, on-premises servers, appliances).
 *
 * Primary course of `issue`: find the ACM certificate recorded for this managed certificate (state
 * collection `acm-issuance`, one item per issuer and certificate); if there is none, or its names or
 * key algorithm changed, or ACM gave up on it, `RequestCertificate` with `Options.Export = ENABLED`,
 * DNS validation and an idempotency token of the rotation, and record its ARN before anything else.
 * Then write ACM's validation CNAMEs in the configured Route 53 zone (UPSERT, wait for INSYNC; they
 * stay: ACM's managed renewal validates through them again), wait until ACM says ISSUED,
 * `ExportCertificate` with a passphrase made for this export only, and decrypt the PKCS#8 key in
 * process. The passphrase is never logged, stored or returned; the decrypted key leaves only as the
 * bundle's `SecretKey` (stored by the rotation in the bundle store like every other key).
 *
 * ACM's own renewal keeps the ARN: a rotation after a renewal exports the renewed material of the
 * same certificate, no new request. A rotation before ACM renewed is refused before anything is
 * stored (ACM still holds the version already distributed), so the version's bundle is not pinned to
 * the old material. What starts those rotations: lambda/use-cases/acm-renewals.ts.
 */
import { createHash, createPrivateKey, randomBytes } from 'node:crypto';
import {
  type ACMClient,
  type CertificateDetail,
  DescribeCertificateCommand,
  ExportCertificateCommand,
  type KeyAlgorithm,
  type RequestCertificateCommandInput,
  RequestCertificateCommand,
} from '@aws-sdk/client-acm';
import {
  type Change,
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import {
  ACM_ISSUANCE_COLLECTION,
  type AcmCertificateStatus,
  type AcmIssuanceRecord,
  acmIssuanceId,
} from '../../domain/acm-issuance';
import { InvalidInputError, OperationError, describeError } from '../../domain/errors';
import type { CertificateBundle, Clock, IssueRequest, Issuer, KeySpec, StateStore } from '../../domain/ports';
import { keyMatchesCertificate } from '../../domain/private-keys';
import { SecretKey } from '../../domain/secret';
import { parseCertificates } from '../../domain/x509';
import { describeAwsError, isAwsError } from './clients';

export { ACM_ISSUANCE_COLLECTION, type AcmIssuanceRecord, acmIssuanceId };

/** ACM public certificates come with these keys only. */
const KEY_ALGORITHMS: Partial<Record<KeySpec, KeyAlgorithm>> = {
  RSA_2048: 'RSA_2048',
  EC_P256: 'EC_prime256v1',
  EC_P384: 'EC_secp384r1',
};

/** Statuses after which ACM will never issue this request: a new request is made. */
const DEAD_STATUSES: ReadonlySet<string> = new Set([
  'FAILED',
  'VALIDATION_TIMED_OUT',
  'REVOKED',
  'EXPIRED',
  'INACTIVE',
]);

export interface AcmExportableIssuerOptions {
  readonly name: string;
  readonly acm: ACMClient;
  readonly route53: Route53Client;
  /** Hosted zone receiving the validation CNAMEs. */
  readonly hostedZoneId: string;
  readonly state: StateStore;
  readonly clock: Clock;
  readonly sleep: (ms: number) => Promise<void>;
  /** The notAfter of the version distributed now (the certificate state's current version), if any. */
  readonly currentNotAfter: (certificate: string) => Promise<string | undefined>;
  /** Longest wait for ACM to validate and issue within one `issue` (a retry resumes the same request). @default 600000 */
  readonly validationTimeoutMs?: number;
  /** Pause between DescribeCertificate polls. @default 10000 */
  readonly pollIntervalMs?: number;
}

export class AcmExportableIssuer implements Issuer {
  readonly name: string;

  constructor(private readonly options: AcmExportableIssuerOptions) {
    this.name = options.name;
  }

  async issue(request: IssueRequest, _now: Date): Promise<CertificateBundle> {
    const names = requestedNames(request);
    const keyAlgorithm = keyAlgorithmOf(request);
    const arn = await this.certificateFor(request, names, keyAlgorithm);
    const detail = await this.waitUntilIssued(arn, request.name);
    const current = await this.options.currentNotAfter(request.name);
    const notAfter = detail.NotAfter;
    if (current !== undefined && notAfter !== undefined && notAfter.getTime() <= Date.parse(current)) {
      throw new OperationError(
        'acm:DescribeCertificate',
        arn,
        `ACM has not renewed it yet: it still holds the version distributed (notAfter ${notAfter.toISOString()}, current ${current}); ACM renews it itself and its renewal starts the redistribution`,
      );
    }
    return this.export(arn, request);
  }

  /** What ACM holds now for a certificate ARN: status, serial and validity (the reconciliation). */
  async describe(certificateArn: string): Promise<CertificateDetail> {
    return describeAcmCertificate(this.options.acm, certificateArn);
  }

  /** What ACM holds now for an ARN, as the renewal reconciliation reads it (lambda/use-cases/acm-renewals.ts). */
  async status(certificateArn: string): Promise<AcmCertificateStatus> {
    return readAcmCertificateStatus(this.options.acm, certificateArn);
  }

  /** The recorded request when it still fits, else a new request recorded before anything else. */
  private async certificateFor(
    request: IssueRequest,
    names: readonly string[],
    keyAlgorithm: KeyAlgorithm,
  ): Promise<string> {
    const { state, clock } = this.options;
    const id = acmIssuanceId(this.name, request.name);
    const recorded = (await state.get<AcmIssuanceRecord>(ACM_ISSUANCE_COLLECTION, id, clock()))?.value;
    if (recorded && sameNames(recorded.names, names) && recorded.keyAlgorithm === keyAlgorithm) {
      const status = await this.statusOrGone(recorded.certificateArn);
      if (status !== 'GONE' && !DEAD_STATUSES.has(status)) return recorded.certificateArn;
    }
    const certificateArn = await this.request(request, names, keyAlgorithm, recorded?.certificateArn);
    const record: AcmIssuanceRecord = {
      issuer: this.name,
      certificate: request.name,
      certificateArn,
      names,
      keyAlgorithm,
      requestedAt: clock().toISOString(),
    };
    await state.put(ACM_ISSUANCE_COLLECTION, id, record, clock());
    return certificateArn;
  }

  /** The recorded certificate's status, or GONE when it was deleted from ACM. */
  private async statusOrGone(certificateArn: string): Promise<string> {
    try {
      const detail = (
        await this.options.acm.send(new DescribeCertificateCommand({ CertificateArn: certificateArn }))
      ).Certificate;
      return detail?.Status ?? 'unknown';
    } catch (error) {
      if (isAwsError(error, 'ResourceNotFoundException')) return 'GONE';
      throw describeAwsError('acm:DescribeCertificate', certificateArn, error);
    }
  }

  /**
   * RequestCertificate. The idempotency token is the rotation's, and names the certificate it replaces
   * when there is one: ACM answers a token seen within the hour with the same ARN, which for a retry
   * after a failed request would be the failed certificate again.
   */
  private async request(
    request: IssueRequest,
    names: readonly string[],
    keyAlgorithm: KeyAlgorithm,
    replaces: string | undefined,
  ): Promise<string> {
    const input: RequestCertificateCommandInput = {
      DomainName: names[0]!,
      SubjectAlternativeNames: [...names],
      ValidationMethod: 'DNS',
      KeyAlgorithm: keyAlgorithm,
      Options: { Export: 'ENABLED' },
      IdempotencyToken: acmIdempotencyToken(
        replaces ? `${request.idempotencyKey}|replaces ${replaces}` : request.idempotencyKey,
      ),
      Tags: [
        { Key: 'certrotor:certificate', Value: request.name },
        { Key: 'certrotor:issuer', Value: this.name },
      ],
    };
    try {
      const response = await this.options.acm.send(new RequestCertificateCommand(input));
      if (!response.CertificateArn) throw new Error('the response holds no certificate ARN');
      return response.CertificateArn;
    } catch (error) {
      throw describeAwsError('acm:RequestCertificate', `${names[0]} (${request.name})`, error);
    }
  }

  /**
   * Polls until ISSUED, writing the validation CNAMEs once ACM has published them (a few seconds
   * after the request) and waiting for Route 53 to serve them.
   */
  private async waitUntilIssued(arn: string, certificate: string): Promise<CertificateDetail> {
    const { clock, sleep } = this.options;
    const deadline = clock().getTime() + (this.options.validationTimeoutMs ?? 600_000);
    let written = false;
    for (;;) {
      const detail = await this.describe(arn);
      const status = detail.Status ?? 'unknown';
      if (status === 'ISSUED') return detail;
      if (DEAD_STATUSES.has(status)) {
        throw new OperationError(
          'acm:DescribeCertificate',
          arn,
          `ACM will not issue it: ${status}${detail.FailureReason ? ` (${detail.FailureReason})` : ''}; the next rotation of ${certificate} requests a new certificate`,
        );
      }
      if (!written && status === 'PENDING_VALIDATION') {
        const records = validationRecords(detail);
        if (records) {
          await this.writeValidationRecords(arn, records);
          written = true;
        }
      }
      if (clock().getTime() >= deadline) {
        throw new OperationError(
          'acm:DescribeCertificate',
          arn,
          `still ${status} when the wait ended${written ? ' (validation records written)' : ''}; a retry resumes this request`,
        );
      }
      await sleep(this.options.pollIntervalMs ?? 10_000);
    }
  }

  private async writeValidationRecords(
    arn: string,
    records: readonly { name: string; value: string }[],
  ): Promise<void> {
    const zone = this.options.hostedZoneId.replace(/^\/hostedzone\//, '');
    const changes: Change[] = records.map((r) => ({
      Action: 'UPSERT',
      ResourceRecordSet: { Name: r.name, Type: 'CNAME', TTL: 300, ResourceRecords: [{ Value: r.value }] },
    }));
    let changeId: string | undefined;
    try {
      changeId = (
        await this.options.route53.send(
          new ChangeResourceRecordSetsCommand({
            HostedZoneId: zone,
            ChangeBatch: { Comment: `certrotor: ACM DNS validation of ${arn}`, Changes: changes },
          }),
        )
      ).ChangeInfo?.Id;
      if (!changeId) throw new Error('the response holds no change id');
    } catch (error) {
      throw describeAwsError(
        'route53:ChangeResourceRecordSets',
        `${zone} ${records.map((r) => r.name).join(', ')} CNAME`,
        error,
      );
    }
    const deadline = this.options.clock().getTime() + (this.options.validationTimeoutMs ?? 600_000);
    for (;;) {
      let status: string | undefined;
      try {
        status = (await this.options.route53.send(new GetChangeCommand({ Id: changeId }))).ChangeInfo?.Status;
      } catch (error) {
        throw describeAwsError('route53:GetChange', changeId, error);
      }
      if (status === 'INSYNC') return;
      if (this.options.clock().getTime() >= deadline)
        throw new OperationError(
          'route53:GetChange',
          changeId,
          `still ${status ?? 'unknown'}: not INSYNC in time`,
        );
      await this.options.sleep(Math.min(this.options.pollIntervalMs ?? 10_000, 2_000));
    }
  }

  /** ExportCertificate with a passphrase made for this export; the key decrypted in process. */
  private async export(arn: string, request: IssueRequest): Promise<CertificateBundle> {
    // ACM accepts any ASCII but #, $ and %: base64url of 24 random bytes (32 characters).
    const passphrase = Buffer.from(randomBytes(24).toString('base64url'), 'ascii');
    let certificate: string | undefined;
    let chain: string | undefined;
    let encryptedKey: string | undefined;
    try {
      const response = await this.options.acm.send(
        new ExportCertificateCommand({ CertificateArn: arn, Passphrase: passphrase }),
      );
      certificate = response.Certificate;
      chain = response.CertificateChain;
      encryptedKey = response.PrivateKey;
      if (!certificate || !encryptedKey) throw new Error('the response holds no certificate or no key');
    } catch (error) {
      passphrase.fill(0);
      throw describeAwsError('acm:ExportCertificate', arn, error);
    }
    let privateKey: SecretKey;
    try {
      privateKey = new SecretKey(
        createPrivateKey({ key: encryptedKey, format: 'pem', passphrase })
          .export({ type: 'pkcs8', format: 'pem' })
          .toString(),
      );
    } catch (error) {
      // The crypto error names the failure, never the key or the passphrase.
      throw new OperationError(
        'acm:ExportCertificate',
        arn,
        `the exported private key could not be decrypted: ${describeError(error)}`,
      );
    } finally {
      passphrase.fill(0);
    }
    const certificatePem = certificate.trim() + '\n';
    if (!keyMatchesCertificate(certificatePem, privateKey)) {
      throw new OperationError(
        'acm:ExportCertificate',
        arn,
        'the exported key does not match the certificate',
      );
    }
    const facts = parseCertificates(certificatePem, arn)[0]!.facts;
    return {
      name: request.name,
      version: request.version,
      certificatePem,
      chainPem: chain ? chain.trim() + '\n' : '',
      privateKey,
      facts,
    };
  }
}

/** ACM's `IdempotencyToken`: at most 32 word characters, the same for every retry of a rotation. */
export function acmIdempotencyToken(idempotencyKey: string): string {
  return createHash('sha256').update(`certrotor-acm:${idempotencyKey}`).digest('hex').slice(0, 32);
}

function requestedNames(request: IssueRequest): string[] {
  if (request.ipAddresses && request.ipAddresses.length > 0) {
    throw new InvalidInputError(
      `certificates.${request.name}: ACM public certificates hold DNS names only, not IP addresses (${request.ipAddresses.join(', ')})`,
    );
  }
  return [...new Set([request.commonName, ...request.dnsNames].map((n) => n.toLowerCase()))];
}

function keyAlgorithmOf(request: IssueRequest): KeyAlgorithm {
  const algorithm = KEY_ALGORITHMS[request.keySpec];
  if (!algorithm) {
    throw new InvalidInputError(
      `certificates.${request.name}.keySpec: ACM public certificates use RSA_2048, EC_P256 or EC_P384, not ${request.keySpec}`,
    );
  }
  return algorithm;
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

/** ACM's CNAMEs, one per record name (a wildcard and its base name share one), once all are published. */
function validationRecords(detail: CertificateDetail): { name: string; value: string }[] | undefined {
  const options = detail.DomainValidationOptions ?? [];
  if (options.length === 0) return undefined;
  const records = new Map<string, string>();
  for (const o of options) {
    const record = o.ResourceRecord;
    if (!record?.Name || !record.Value) return undefined; // not published yet
    if (record.Type && record.Type !== 'CNAME') continue;
    records.set(record.Name, record.Value);
  }
  return [...records].map(([name, value]) => ({ name, value }));
}

async function describeAcmCertificate(client: ACMClient, certificateArn: string): Promise<CertificateDetail> {
  try {
    const detail = (await client.send(new DescribeCertificateCommand({ CertificateArn: certificateArn })))
      .Certificate;
    if (!detail) throw new Error('the response holds no certificate');
    return detail;
  } catch (error) {
    throw describeAwsError('acm:DescribeCertificate', certificateArn, error);
  }
}

/** What ACM holds now for a certificate ARN (status, validity, serial, renewal): the renewal reconciliation's view. */
export async function readAcmCertificateStatus(
  client: ACMClient,
  certificateArn: string,
): Promise<AcmCertificateStatus> {
  const detail = await describeAcmCertificate(client, certificateArn);
  return {
    ...(detail.Status ? { status: detail.Status } : {}),
    ...(detail.NotAfter ? { notAfter: detail.NotAfter.toISOString() } : {}),
    ...(detail.Serial ? { serial: detail.Serial } : {}),
    ...(detail.RenewalSummary?.RenewalStatus ? { renewalStatus: detail.RenewalSummary.RenewalStatus } : {}),
  };
}
