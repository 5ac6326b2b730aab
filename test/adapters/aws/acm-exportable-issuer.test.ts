/**
 * The `acm` issuer (ACM exportable public certificates) against the AWS emulator where it implements
 * the calls, and with `aws-sdk-client-mock` only where it does not.
 *
 * What moto (5.2.5) implements and these tests use for real: RequestCertificate with
 * `Options.Export = ENABLED` (kept in DescribeCertificate's Options), DNS validation options with a
 * CNAME per name, PENDING_VALIDATION turning ISSUED, ExportCertificate with a passphrase (a PKCS#8 key
 * encrypted under it) for an exportable AMAZON_ISSUED certificate, IdempotencyToken, Tags; Route 53
 * hosted zones, UPSERT and GetChange.
 *
 * What moto does not implement, so those cases use aws-sdk-client-mock:
 * - ACM's managed renewal of an exportable certificate: moto never renews (no new serial or NotAfter
 *   for the same ARN; RenewCertificate exists only for private certificates), so the renewed material
 *   of the same ARN is mocked (DescribeCertificate, ExportCertificate).
 * - Validation that fails: moto never reaches FAILED or VALIDATION_TIMED_OUT (DescribeCertificate is
 *   mocked for that case).
 * - moto issues after MOTO_ACM_VALIDATION_WAIT seconds whether or not the CNAMEs exist (it never
 *   resolves them), and ignores KeyAlgorithm (always RSA 2048, self-signed under an "Amazon" issuer
 *   name). The suite starts its own emulator with a 2-second wait, so PENDING_VALIDATION is seen.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import {
  ACMClient,
  DeleteCertificateCommand,
  DescribeCertificateCommand,
  type DescribeCertificateCommandInput,
  ExportCertificateCommand,
  type ExportCertificateCommandInput,
  ListCertificatesCommand,
  RequestCertificateCommand,
} from '@aws-sdk/client-acm';
import {
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import {
  ACM_ISSUANCE_COLLECTION,
  AcmExportableIssuer,
  type AcmIssuanceRecord,
  acmIdempotencyToken,
  acmIssuanceId,
} from '../../../lambda/adapters/aws/acm-exportable-issuer';
import type { IssueRequest } from '../../../lambda/domain/ports';
import { keyMatchesCertificate } from '../../../lambda/domain/private-keys';
import { buildCertificate } from '../../builders/certificates';
import { MemoryStateStore } from '../../fakes/memory-state-store';
import { type RunningMoto, awsClientConfig, startMoto } from '../../support/moto';

jest.setTimeout(60_000);

const NAME = 'api.example.test';

function requestFor(version: string, overrides: Partial<IssueRequest> = {}): IssueRequest {
  return {
    name: 'api',
    version,
    commonName: NAME,
    dnsNames: [NAME, 'www.example.test'],
    keySpec: 'RSA_2048',
    usage: 'server',
    validityDays: 198,
    idempotencyKey: `api-${version}`,
    ...overrides,
  };
}

describe('against the AWS emulator', () => {
  let moto: RunningMoto;
  let acm: ACMClient;
  let route53: Route53Client;
  let zoneId: string;

  beforeAll(async () => {
    const previous = process.env.MOTO_ACM_VALIDATION_WAIT;
    process.env.MOTO_ACM_VALIDATION_WAIT = '2';
    try {
      moto = await startMoto();
    } finally {
      if (previous === undefined) delete process.env.MOTO_ACM_VALIDATION_WAIT;
      else process.env.MOTO_ACM_VALIDATION_WAIT = previous;
    }
    acm = new ACMClient(awsClientConfig(moto.endpoint));
    route53 = new Route53Client(awsClientConfig(moto.endpoint));
    const zone = await route53.send(
      new CreateHostedZoneCommand({ Name: 'example.test', CallerReference: `acm-${Date.now()}` }),
    );
    zoneId = zone.HostedZone!.Id!;
  });

  afterAll(async () => {
    acm?.destroy();
    route53?.destroy();
    await moto?.stop();
  });

  function issuerWith(state: MemoryStateStore, currentNotAfter?: string): AcmExportableIssuer {
    return new AcmExportableIssuer({
      name: 'public',
      acm,
      route53,
      hostedZoneId: zoneId,
      state,
      clock: () => new Date(),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      currentNotAfter: async () => currentNotAfter,
      pollIntervalMs: 250,
      validationTimeoutMs: 20_000,
    });
  }

  it('requests an exportable certificate with DNS validation, writes the CNAMEs in Route 53, waits until issued and exports a key matching it', async () => {
    const state = new MemoryStateStore();
    const issuer = issuerWith(state);
    const bundle = await issuer.issue(requestFor('v1'), new Date());

    const record = (await state.get<AcmIssuanceRecord>(
      ACM_ISSUANCE_COLLECTION,
      acmIssuanceId('public', 'api'),
      new Date(),
    ))!.value;
    const detail = (await acm.send(new DescribeCertificateCommand({ CertificateArn: record.certificateArn })))
      .Certificate!;
    expect(detail.Options?.Export).toBe('ENABLED');
    expect(detail.Status).toBe('ISSUED');
    expect(record.names).toEqual([NAME, 'www.example.test']);

    const records = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
    const cnames = (records.ResourceRecordSets ?? []).filter((r) => r.Type === 'CNAME');
    const expected = (detail.DomainValidationOptions ?? []).map((o) => o.ResourceRecord!.Name);
    expect(cnames.map((r) => r.Name).sort()).toEqual([...new Set(expected)].sort());

    expect(bundle.privateKey.reveal()).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(keyMatchesCertificate(bundle.certificatePem, bundle.privateKey)).toBe(true);
    expect(new X509Certificate(bundle.certificatePem).subjectAltName).toContain(`DNS:${NAME}`);
    expect(bundle.facts.fingerprintSha256).toBe(new X509Certificate(bundle.certificatePem).fingerprint256);
    expect(JSON.stringify(bundle)).not.toMatch(/PRIVATE KEY/);
  });

  it('a retried issue of the same rotation resumes the recorded certificate and requests nothing new', async () => {
    const state = new MemoryStateStore();
    const before = (await acm.send(new ListCertificatesCommand({}))).CertificateSummaryList?.length ?? 0;
    const first = await issuerWith(state).issue(requestFor('v2'), new Date());
    const again = await issuerWith(state).issue(requestFor('v2'), new Date());
    const after = (await acm.send(new ListCertificatesCommand({}))).CertificateSummaryList?.length ?? 0;
    expect(after).toBe(before + 1);
    expect(again.facts.fingerprintSha256).toBe(first.facts.fingerprintSha256);
  });

  it('a rotation before ACM renewed the certificate is refused with the reason and requests nothing', async () => {
    const state = new MemoryStateStore();
    const first = await issuerWith(state).issue(requestFor('v3'), new Date());
    const before = (await acm.send(new ListCertificatesCommand({}))).CertificateSummaryList?.length ?? 0;
    await expect(issuerWith(state, first.facts.notAfter).issue(requestFor('v4'), new Date())).rejects.toThrow(
      /ACM has not renewed it yet: it still holds the version distributed/,
    );
    const after = (await acm.send(new ListCertificatesCommand({}))).CertificateSummaryList?.length ?? 0;
    expect(after).toBe(before);
  });

  it('a changed name set requests a new certificate instead of exporting the old one', async () => {
    const state = new MemoryStateStore();
    const first = await issuerWith(state).issue(requestFor('v5'), new Date());
    const changed = await issuerWith(state).issue(
      requestFor('v6', { dnsNames: [NAME, 'www.example.test', 'api2.example.test'] }),
      new Date(),
    );
    expect(changed.facts.fingerprintSha256).not.toBe(first.facts.fingerprintSha256);
    expect(new X509Certificate(changed.certificatePem).subjectAltName).toContain('DNS:api2.example.test');
  });

  it('a recorded certificate that was deleted from ACM is requested again', async () => {
    const state = new MemoryStateStore();
    const first = await issuerWith(state).issue(requestFor('v9'), new Date());
    const recorded = (await state.get<AcmIssuanceRecord>(
      ACM_ISSUANCE_COLLECTION,
      acmIssuanceId('public', 'api'),
      new Date(),
    ))!.value.certificateArn;
    await acm.send(new DeleteCertificateCommand({ CertificateArn: recorded }));

    const again = await issuerWith(state).issue(requestFor('v9'), new Date());

    const now = (await state.get<AcmIssuanceRecord>(
      ACM_ISSUANCE_COLLECTION,
      acmIssuanceId('public', 'api'),
      new Date(),
    ))!.value.certificateArn;
    expect(now).not.toBe(recorded);
    expect(again.facts.fingerprintSha256).not.toBe(first.facts.fingerprintSha256);
  });

  it('key specs and IP addresses ACM public certificates cannot have are refused with the field named', async () => {
    const issuer = issuerWith(new MemoryStateStore());
    await expect(issuer.issue(requestFor('v7', { keySpec: 'RSA_4096' }), new Date())).rejects.toThrow(
      'certificates.api.keySpec: ACM public certificates use RSA_2048, EC_P256 or EC_P384, not RSA_4096',
    );
    await expect(issuer.issue(requestFor('v8', { ipAddresses: ['192.0.2.1'] }), new Date())).rejects.toThrow(
      'certificates.api: ACM public certificates hold DNS names only, not IP addresses (192.0.2.1)',
    );
  });
});

describe('where the emulator has no behaviour (aws-sdk-client-mock)', () => {
  const ARN = 'arn:aws:acm:us-east-1:123456789012:certificate/8f1d2c3b-0000-4000-8000-000000000001';

  async function recordedState(): Promise<MemoryStateStore> {
    const state = new MemoryStateStore();
    const record: AcmIssuanceRecord = {
      issuer: 'public',
      certificate: 'api',
      certificateArn: ARN,
      names: [NAME],
      keyAlgorithm: 'EC_prime256v1',
      requestedAt: new Date().toISOString(),
    };
    await state.put(ACM_ISSUANCE_COLLECTION, acmIssuanceId('public', 'api'), record, new Date());
    return state;
  }

  function mockedIssuer(client: ACMClient, state: MemoryStateStore, currentNotAfter?: string) {
    return new AcmExportableIssuer({
      name: 'public',
      acm: client,
      // Never called: the certificate is already issued in these cases.
      route53: new Route53Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9' }),
      hostedZoneId: 'Z0000000000TEST',
      state,
      clock: () => new Date(),
      sleep: async () => undefined,
      currentNotAfter: async () => currentNotAfter,
      pollIntervalMs: 1,
      validationTimeoutMs: 1_000,
    });
  }

  it('exports the renewed material of the same ARN with a fresh passphrase and no new request', async () => {
    const now = new Date();
    const distributed = await buildCertificate({ dnsNames: [NAME], now, daysLeft: 20 });
    const renewed = await buildCertificate({ dnsNames: [NAME], now, daysLeft: 198 });
    const client = new ACMClient({ region: 'us-east-1' });
    const mock = mockClient(client);
    const passphrases: string[] = [];
    const describeInput: DescribeCertificateCommandInput = { CertificateArn: ARN };
    mock.on(DescribeCertificateCommand, describeInput).resolves({
      Certificate: {
        CertificateArn: ARN,
        Status: 'ISSUED',
        NotAfter: new Date(new X509Certificate(renewed.certificatePem).validTo),
        Options: { Export: 'ENABLED' },
      },
    });
    mock.on(ExportCertificateCommand).callsFake((input: ExportCertificateCommandInput) => {
      const passphrase = Buffer.from(input.Passphrase!).toString('ascii');
      passphrases.push(passphrase);
      const encrypted = createPrivateKey(renewed.privateKey.reveal()).export({
        type: 'pkcs8',
        format: 'pem',
        cipher: 'aes-256-cbc',
        passphrase,
      });
      return { Certificate: renewed.certificatePem, CertificateChain: '', PrivateKey: encrypted.toString() };
    });
    const state = await recordedState();
    const distributedNotAfter = new Date(
      new X509Certificate(distributed.certificatePem).validTo,
    ).toISOString();

    const first = await mockedIssuer(client, state, distributedNotAfter).issue(
      requestFor('v2', { dnsNames: [NAME], keySpec: 'EC_P256' }),
      now,
    );
    await mockedIssuer(client, state, distributedNotAfter).issue(
      requestFor('v2', { dnsNames: [NAME], keySpec: 'EC_P256' }),
      now,
    );

    expect(first.privateKey.reveal()).toBe(renewed.privateKey.reveal());
    expect(mock.commandCalls(RequestCertificateCommand)).toHaveLength(0);
    expect(passphrases).toHaveLength(2);
    expect(passphrases[0]).not.toBe(passphrases[1]);
    expect(passphrases[0]).toMatch(/^[A-Za-z0-9_-]{32}$/);
    mock.restore();
  });

  it('a recorded certificate ACM failed is replaced by a new request whose idempotency token differs from the first', async () => {
    const client = new ACMClient({ region: 'us-east-1' });
    const mock = mockClient(client);
    const NEW_ARN = ARN.replace(/1$/, '2');
    mock.on(DescribeCertificateCommand, { CertificateArn: ARN }).resolves({
      Certificate: { CertificateArn: ARN, Status: 'FAILED', FailureReason: 'CAA_ERROR' },
    });
    mock.on(DescribeCertificateCommand, { CertificateArn: NEW_ARN }).resolves({
      Certificate: { CertificateArn: NEW_ARN, Status: 'FAILED', FailureReason: 'CAA_ERROR' },
    });
    mock.on(RequestCertificateCommand).resolves({ CertificateArn: NEW_ARN });
    const state = await recordedState();

    await expect(
      mockedIssuer(client, state).issue(
        requestFor('v1', { dnsNames: [NAME], keySpec: 'EC_P256' }),
        new Date(),
      ),
    ).rejects.toThrow(/ACM will not issue it: FAILED \(CAA_ERROR\)/);

    const requests = mock.commandCalls(RequestCertificateCommand).map((c) => c.args[0].input);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      DomainName: NAME,
      ValidationMethod: 'DNS',
      KeyAlgorithm: 'EC_prime256v1',
      Options: { Export: 'ENABLED' },
    });
    expect(requests[0]!.IdempotencyToken).not.toBe(acmIdempotencyToken('api-v1'));
    expect(requests[0]!.IdempotencyToken).toMatch(/^\w{1,32}$/);
    const record = (await state.get<AcmIssuanceRecord>(
      ACM_ISSUANCE_COLLECTION,
      acmIssuanceId('public', 'api'),
      new Date(),
    ))!;
    expect(record.value.certificateArn).toBe(NEW_ARN);
    mock.restore();
  });

  it('a certificate ACM gave up validating fails with its status and reason', async () => {
    const client = new ACMClient({ region: 'us-east-1' });
    const mock = mockClient(client);
    mock
      .on(DescribeCertificateCommand)
      .resolvesOnce({ Certificate: { CertificateArn: ARN, Status: 'ISSUED' } })
      .resolves({
        Certificate: {
          CertificateArn: ARN,
          Status: 'VALIDATION_TIMED_OUT',
          FailureReason: 'NO_AVAILABLE_CONTACTS',
        },
      });
    const state = await recordedState();
    await expect(
      mockedIssuer(client, state).issue(
        requestFor('v1', { dnsNames: [NAME], keySpec: 'EC_P256' }),
        new Date(),
      ),
    ).rejects.toThrow(
      `acm:DescribeCertificate ${ARN}: ACM will not issue it: VALIDATION_TIMED_OUT (NO_AVAILABLE_CONTACTS); the next rotation of api requests a new certificate`,
    );
    expect(mock.commandCalls(ExportCertificateCommand)).toHaveLength(0);
    mock.restore();
  });
});
