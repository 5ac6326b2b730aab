import {
  ACMPCAClient,
  CreateCertificateAuthorityCommand,
  GetCertificateAuthorityCsrCommand,
  GetCertificateCommand,
  ImportCertificateAuthorityCertificateCommand,
  IssueCertificateCommand,
} from '@aws-sdk/client-acm-pca';
import { SecretsManagerClient, DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { X509Certificate } from 'node:crypto';
import {
  AcmPcaIssuer,
  type IssuanceJournal,
  MemoryIssuanceJournal,
  SecretsManagerIssuanceJournal,
  pcaIdempotencyToken,
} from '../../../lambda/adapters/aws/acm-pca';
import { createAwsClient } from '../../../lambda/adapters/aws/clients';
import type { IssueRequest } from '../../../lambda/domain/ports';
import { SecretKey, containsPrivateKey } from '../../../lambda/domain/secret';
import { keyMatchesCertificate } from '../../../lambda/domain/private-keys';
import { countCalls } from '../../support/aws-call-counter';
import { useMoto } from '../../support/moto';

const moto = useMoto();
let pca: ACMPCAClient;
let secrets: SecretsManagerClient;
let caArn: string;

/** A root CA in the emulator, set up the way an operator does it: create, sign its CSR, install. */
async function createRootCa(commonName: string): Promise<string> {
  const created = await pca.send(
    new CreateCertificateAuthorityCommand({
      CertificateAuthorityType: 'ROOT',
      CertificateAuthorityConfiguration: {
        KeyAlgorithm: 'RSA_2048',
        SigningAlgorithm: 'SHA256WITHRSA',
        Subject: { CommonName: commonName, Organization: 'certrotor tests' },
      },
    }),
  );
  const arn = created.CertificateAuthorityArn!;
  const { Csr } = await pca.send(new GetCertificateAuthorityCsrCommand({ CertificateAuthorityArn: arn }));
  const { CertificateArn } = await pca.send(
    new IssueCertificateCommand({
      CertificateAuthorityArn: arn,
      Csr: Buffer.from(Csr!),
      SigningAlgorithm: 'SHA256WITHRSA',
      TemplateArn: 'arn:aws:acm-pca:::template/RootCACertificate/V1',
      Validity: { Type: 'YEARS', Value: 10 },
    }),
  );
  const { Certificate } = await pca.send(
    new GetCertificateCommand({ CertificateAuthorityArn: arn, CertificateArn: CertificateArn! }),
  );
  await pca.send(
    new ImportCertificateAuthorityCertificateCommand({
      CertificateAuthorityArn: arn,
      Certificate: Buffer.from(Certificate!),
    }),
  );
  return arn;
}

beforeAll(async () => {
  pca = createAwsClient(ACMPCAClient, { ...moto.clientConfig(), maxAttempts: 1 });
  secrets = createAwsClient(SecretsManagerClient, { ...moto.clientConfig(), maxAttempts: 1 });
  caArn = await createRootCa('certrotor test private CA');
});

let sequence = 0;
function request(overrides: Partial<IssueRequest> = {}): IssueRequest {
  sequence += 1;
  return {
    name: 'api-internal',
    version: `2026-01-01-${sequence}`,
    commonName: 'api.internal',
    dnsNames: ['api.internal', 'api.prod.internal'],
    keySpec: 'EC_P256',
    usage: 'server-and-client',
    validityDays: 90,
    idempotencyKey: `api-internal#2026-01-01-${sequence}`,
    ...overrides,
  };
}

function issuer(
  journal: IssuanceJournal = new MemoryIssuanceJournal(),
  client = pca,
  maxWaitSeconds = 10,
): AcmPcaIssuer {
  return new AcmPcaIssuer({
    client,
    certificateAuthorityArn: caArn,
    journal,
    minPollSeconds: 1,
    maxWaitSeconds,
  });
}

describe('ACM Private CA issuer', () => {
  it('issues a certificate for the requested names with a locally generated key, chained to the CA', async () => {
    const acmPca = issuer();

    const bundle = await acmPca.issue(request(), new Date());
    const ca = await acmPca.caCertificate();

    const leaf = new X509Certificate(bundle.certificatePem);
    const caCert = new X509Certificate(ca.pem);
    expect(bundle.facts.subjectAltNames).toEqual([
      { type: 'DNS', value: 'api.internal' },
      { type: 'DNS', value: 'api.prod.internal' },
    ]);
    expect(bundle.facts).toMatchObject({ keyAlgorithm: 'EC', curve: 'P-256', isCA: false });
    expect(leaf.checkIssued(caCert) && leaf.verify(caCert.publicKey)).toBe(true);
    expect(new X509Certificate(bundle.chainPem).fingerprint256).toBe(ca.facts.fingerprintSha256);
    expect(keyMatchesCertificate(bundle.certificatePem, bundle.privateKey)).toBe(true);
    expect(containsPrivateKey(JSON.stringify(bundle))).toBe(false);
  });

  it('returns the same certificate when retried with the same idempotency key', async () => {
    const acmPca = issuer();
    const calls = countCalls(pca);
    const same = request();

    const first = await acmPca.issue(same, new Date());
    const retried = await acmPca.issue(same, new Date());

    expect(retried.facts.fingerprintSha256).toBe(first.facts.fingerprintSha256);
    expect(retried.privateKey.reveal()).toBe(first.privateKey.reveal());
    expect(calls.of('IssueCertificateCommand')).toBe(1);
  });

  it('completes the first issuance when the step failed after the CA answered', async () => {
    const journal = new MemoryIssuanceJournal();
    const flaky = createAwsClient(ACMPCAClient, { ...moto.clientConfig(), maxAttempts: 1 });
    let down = true;
    flaky.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetCertificateCommand' && down) throw new Error('socket hang up');
        return next(args);
      },
      { step: 'initialize', name: 'failGetCertificateWhileDown' },
    );
    const calls = countCalls(flaky);
    const same = request();

    await expect(issuer(journal, flaky, 2).issue(same, new Date())).rejects.toThrow(
      /^acm-pca:GetCertificate .*: the certificate was not issued in time/,
    );
    const recorded = await journal.lookup(same.idempotencyKey);
    down = false;
    const bundle = await issuer(journal, flaky).issue(same, new Date());

    expect(recorded?.certificateArn).toMatch(/certificate-authority\/.+\/certificate\//);
    expect(calls.of('IssueCertificateCommand')).toBe(1);
    expect(bundle.privateKey.reveal()).toBe(recorded?.privateKey.reveal());
  });

  it('reuses the persisted key and idempotency token when the CA call itself failed', async () => {
    const journal = new MemoryIssuanceJournal();
    const flaky = createAwsClient(ACMPCAClient, { ...moto.clientConfig(), maxAttempts: 1 });
    const tokens: unknown[] = [];
    let failures = 1;
    flaky.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'IssueCertificateCommand') {
          tokens.push((args.input as { IdempotencyToken?: string }).IdempotencyToken);
          if (failures-- > 0) throw new Error('connect ETIMEDOUT');
        }
        return next(args);
      },
      { step: 'initialize', name: 'failFirstIssue' },
    );
    const same = request();

    await expect(issuer(journal, flaky).issue(same, new Date())).rejects.toThrow(/acm-pca:IssueCertificate/);
    const reserved = (await journal.lookup(same.idempotencyKey))?.privateKey.reveal();
    const bundle = await issuer(journal, flaky).issue(same, new Date());

    expect(reserved).toBeDefined();
    expect(bundle.privateKey.reveal()).toBe(reserved);
    expect(tokens).toEqual([
      pcaIdempotencyToken(same.idempotencyKey),
      pcaIdempotencyToken(same.idempotencyKey),
    ]);
  });

  it('issues nothing when the key cannot be persisted first', async () => {
    const journal: IssuanceJournal = {
      lookup: async () => undefined,
      reserve: async () => {
        throw new Error('journal unavailable');
      },
      record: async () => undefined,
    };
    const calls = countCalls(pca);

    await expect(issuer(journal).issue(request(), new Date())).rejects.toThrow(/journal unavailable/);
    expect(calls.of('IssueCertificateCommand')).toBe(0);
  });

  it('reads the CA certificate and its expiry', async () => {
    const ca = await issuer().caCertificate();

    expect(ca.facts).toMatchObject({
      isCA: true,
      selfSigned: true,
      subject: expect.stringContaining('CN=certrotor test private CA'),
    });
    expect(Date.parse(ca.facts.notAfter)).toBeGreaterThan(Date.now());
  });

  it('names the CA when it has no certificate installed yet', async () => {
    const created = await pca.send(
      new CreateCertificateAuthorityCommand({
        CertificateAuthorityType: 'SUBORDINATE',
        CertificateAuthorityConfiguration: {
          KeyAlgorithm: 'RSA_2048',
          SigningAlgorithm: 'SHA256WITHRSA',
          Subject: { CommonName: 'pending' },
        },
      }),
    );
    const pending = new AcmPcaIssuer({
      client: pca,
      certificateAuthorityArn: created.CertificateAuthorityArn!,
      journal: new MemoryIssuanceJournal(),
    });

    await expect(pending.caCertificate()).rejects.toThrow(
      `${created.CertificateAuthorityArn}: the CA has no certificate installed yet`,
    );
  });

  it.each([
    ['a short key of word characters is used as is', 'rot-42_a', 'rot-42_a'],
    [
      'a key with other characters becomes a hash prefix',
      'api-internal#2026-01-01',
      expect.stringMatching(/^cr-[0-9a-f]{33}$/),
    ],
    [
      'a key longer than 36 characters becomes a hash prefix',
      'x'.repeat(37),
      expect.stringMatching(/^cr-[0-9a-f]{33}$/),
    ],
  ])('idempotency token: %s', (_case, key, expected) => {
    expect(pcaIdempotencyToken(key)).toEqual(expected);
    expect(pcaIdempotencyToken(key)).toBe(pcaIdempotencyToken(key));
  });
});

describe('Secrets Manager issuance journal', () => {
  it('keeps the key in a secret and the certificate ARN in a tag', async () => {
    const journal = new SecretsManagerIssuanceJournal({ client: secrets });
    const key = new SecretKey(
      '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n',
    );

    const reserved = await journal.reserve('api#v7', key);
    const afterReserve = await journal.lookup('api#v7');
    await journal.record(
      'api#v7',
      'arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/x/certificate/y',
    );
    const afterRecord = await journal.lookup('api#v7');
    const described = await secrets.send(
      new DescribeSecretCommand({ SecretId: journal.secretName('api#v7') }),
    );

    expect(reserved.reveal()).toBe(key.reveal());
    expect(afterReserve?.certificateArn).toBeUndefined();
    expect(afterRecord?.privateKey.reveal()).toBe(key.reveal());
    expect(afterRecord?.certificateArn).toBe(
      'arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/x/certificate/y',
    );
    expect(containsPrivateKey(JSON.stringify(described))).toBe(false);
  });

  it('keeps the first key when a concurrent attempt reserves another', async () => {
    const journal = new SecretsManagerIssuanceJournal({ client: secrets });
    const first = new SecretKey('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n');
    const second = new SecretKey('-----BEGIN PRIVATE KEY-----\nBBBB\n-----END PRIVATE KEY-----\n');

    await journal.reserve('api#v8', first);
    const kept = await journal.reserve('api#v8', second);

    expect(kept.reveal()).toBe(first.reveal());
  });

  it('answers nothing for an issuance it never saw', async () => {
    expect(await new SecretsManagerIssuanceJournal({ client: secrets }).lookup('never#seen')).toBeUndefined();
  });

  it('lets the issuer resume from the journal in another process', async () => {
    const same = request();
    const first = await issuer(new SecretsManagerIssuanceJournal({ client: secrets })).issue(
      same,
      new Date(),
    );
    const calls = countCalls(pca);

    const resumed = await issuer(new SecretsManagerIssuanceJournal({ client: secrets })).issue(
      same,
      new Date(),
    );

    expect(resumed.facts.fingerprintSha256).toBe(first.facts.fingerprintSha256);
    expect(calls.of('IssueCertificateCommand')).toBe(0);
  });
});
