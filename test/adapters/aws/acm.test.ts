import {
  ACMClient,
  GetCertificateCommand,
  ImportCertificateCommand,
  ListCertificatesCommand,
  ListTagsForCertificateCommand,
} from '@aws-sdk/client-acm';
import { mockClient } from 'aws-sdk-client-mock';
import { X509Certificate } from 'node:crypto';
import { AcmDestination, AcmSource, MemoryAcmBodyCache } from '../../../lambda/adapters/aws/acm';
import { createAwsClient } from '../../../lambda/adapters/aws/clients';
import type { CertificateBundle } from '../../../lambda/domain/ports';
import { containsPrivateKey } from '../../../lambda/domain/secret';
import { buildBundle } from '../../builders/bundles';
import { type BuiltCertificate, buildCa, buildCertificate, DAY } from '../../builders/certificates';
import { describeDestinationContract } from '../../contracts/destination-contract';
import { countCalls } from '../../support/aws-call-counter';
import { useMoto } from '../../support/moto';

const moto = useMoto();
let acm: ACMClient;
let ca: BuiltCertificate;

beforeAll(async () => {
  acm = createAwsClient(ACMClient, { ...moto.clientConfig(), maxAttempts: 1 });
  ca = await buildCa();
});

/** Imports a bundle as a new ACM certificate and returns its ARN. */
async function importNew(bundle: CertificateBundle, tags: Record<string, string> = {}): Promise<string> {
  const response = await acm.send(
    new ImportCertificateCommand({
      Certificate: Buffer.from(bundle.certificatePem),
      PrivateKey: Buffer.from(bundle.privateKey.reveal()),
      CertificateChain: Buffer.from(bundle.chainPem),
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
  return response.CertificateArn!;
}

async function heldFingerprint(arn: string): Promise<string> {
  const response = await acm.send(new GetCertificateCommand({ CertificateArn: arn }));
  return new X509Certificate(response.Certificate!).fingerprint256;
}

async function tagsOf(arn: string): Promise<Record<string, string | undefined>> {
  const response = await acm.send(new ListTagsForCertificateCommand({ CertificateArn: arn }));
  return Object.fromEntries((response.Tags ?? []).map((t) => [t.Key!, t.Value]));
}

const NOW = (): Date => new Date();

describeDestinationContract('ACM destination', async () => {
  const arn = await importNew(await buildBundle({ name: 'contract-cert', version: 'v0', issuer: ca }));
  return {
    destination: new AcmDestination({
      client: acm,
      name: 'acm-contract',
      certificateArns: [arn],
      clock: NOW,
    }),
    target: arn,
    unknownTarget: arn.replace(/certificate\/.*/, 'certificate/00000000-0000-0000-0000-000000000000'),
  };
});

describe('ACM destination', () => {
  it('re-imports into the same ARN and keeps the certificate tags', async () => {
    const arn = await importNew(await buildBundle({ version: 'v1', issuer: ca }), {
      team: 'edge',
      'certrotor:name': 'api',
    });
    const destination = new AcmDestination({ client: acm, name: 'edge', certificateArns: [arn], clock: NOW });
    const next = await buildBundle({ version: 'v2', issuer: ca });
    const countBefore = (await acm.send(new ListCertificatesCommand({}))).CertificateSummaryList?.length;

    const outcome = await destination.deliver(arn, next);

    expect(outcome).toMatchObject({ target: arn, ok: true, fingerprintSha256: next.facts.fingerprintSha256 });
    // moto drops tags on a re-import (real ACM keeps them): the destination's re-add path runs here.
    expect(outcome.detail).toMatch(/2 tag\(s\) re-added/);
    expect(await heldFingerprint(arn)).toBe(next.facts.fingerprintSha256);
    expect(await tagsOf(arn)).toEqual({ team: 'edge', 'certrotor:name': 'api' });
    expect((await acm.send(new ListCertificatesCommand({}))).CertificateSummaryList?.length).toBe(
      countBefore,
    );
  });

  it('reports a re-delivery of the certificate already held as done without importing again', async () => {
    const bundle = await buildBundle({ version: 'v1', issuer: ca });
    const arn = await importNew(bundle);
    const destination = new AcmDestination({ client: acm, name: 'edge', certificateArns: [arn], clock: NOW });
    const calls = countCalls(acm);

    const outcome = await destination.deliver(arn, bundle);

    expect(outcome).toMatchObject({ ok: true, detail: 'already installed' });
    expect(calls.of('ImportCertificateCommand')).toBe(0);
  });

  const refusals: [string, (current: CertificateBundle) => Promise<CertificateBundle>, RegExp][] = [
    [
      'a private key that does not belong to the certificate',
      async () => {
        const [a, b] = [await buildBundle({ version: 'v2', issuer: ca }), await buildBundle({ issuer: ca })];
        return { ...a, privateKey: b.privateKey };
      },
      /does not match/,
    ],
    [
      'a changed key type',
      () => buildBundle({ version: 'v2', issuer: ca, keySpec: 'RSA_2048' }),
      /key type changed from EC P-256 to RSA 2048/,
    ],
    [
      'a name the current certificate serves missing',
      () => buildBundle({ version: 'v2', issuer: ca, dnsNames: ['other.internal'] }),
      /does not cover api\.internal/,
    ],
    [
      'an incomplete chain',
      async () => ({ ...(await buildBundle({ version: 'v2', issuer: ca })), chainPem: '' }),
      /incomplete/,
    ],
    [
      'an expired certificate',
      () =>
        buildBundle({ version: 'v2', issuer: ca, notAfter: new Date(Date.now() - DAY), lifetimeDays: 30 }),
      /expired/,
    ],
  ];

  it.each(refusals)('refuses %s and imports nothing', async (_case, makeBundle, reason) => {
    const current = await buildBundle({ version: 'v1', issuer: ca });
    const arn = await importNew(current, { team: 'edge' });
    const destination = new AcmDestination({ client: acm, name: 'edge', certificateArns: [arn], clock: NOW });
    const candidate = await makeBundle(current);
    const calls = countCalls(acm);

    const outcome = await destination.deliver(arn, candidate);

    expect(outcome.ok).toBe(false);
    expect(outcome.error).toMatch(/pre-check refused the re-import, nothing was imported/);
    expect(outcome.error).toMatch(reason);
    expect(outcome.error).toContain(arn);
    expect(containsPrivateKey(JSON.stringify(outcome))).toBe(false);
    expect(calls.of('ImportCertificateCommand')).toBe(0);
    expect(await heldFingerprint(arn)).toBe(current.facts.fingerprintSha256);
  });

  it('requires configured names on top of the names the current certificate serves', async () => {
    const arn = await importNew(await buildBundle({ version: 'v1', issuer: ca }));
    const destination = new AcmDestination({
      client: acm,
      name: 'edge',
      certificateArns: [arn],
      expectedNames: ['api.internal', 'www.internal'],
      clock: NOW,
    });

    const outcome = await destination.deliver(arn, await buildBundle({ version: 'v2', issuer: ca }));

    expect(outcome).toMatchObject({
      ok: false,
      error: expect.stringMatching(/does not cover www\.internal/),
    });
  });

  it('rolls back in a new process from the previous bundle the key store supplies', async () => {
    const previous = await buildBundle({ version: 'v1', issuer: ca });
    const arn = await importNew(previous, { team: 'edge' });
    await new AcmDestination({ client: acm, name: 'edge', certificateArns: [arn], clock: NOW }).deliver(
      arn,
      await buildBundle({ version: 'v2', issuer: ca }),
    );
    const keyStore = jest.fn(async (target: string) => (target === arn ? previous : undefined));
    const fresh = new AcmDestination({
      client: acm,
      name: 'edge',
      certificateArns: [arn],
      previousBundle: keyStore,
      clock: NOW,
    });

    const outcome = await fresh.rollback(arn);

    expect(outcome).toMatchObject({ ok: true, fingerprintSha256: previous.facts.fingerprintSha256 });
    expect(keyStore).toHaveBeenCalledWith(arn);
    expect(await heldFingerprint(arn)).toBe(previous.facts.fingerprintSha256);
    expect(await tagsOf(arn)).toEqual({ team: 'edge' });
  });

  it('refuses a rollback when no previous bundle is known', async () => {
    const arn = await importNew(await buildBundle({ version: 'v1', issuer: ca }));
    const destination = new AcmDestination({ client: acm, name: 'edge', certificateArns: [arn], clock: NOW });

    const outcome = await destination.rollback(arn);

    expect(outcome).toMatchObject({ ok: false, error: expect.stringMatching(/no previous bundle is known/) });
  });
});

describe('ACM source', () => {
  beforeEach(() => moto.reset());

  function source(options: Partial<ConstructorParameters<typeof AcmSource>[0]> = {}): AcmSource {
    return new AcmSource({ client: acm, environment: 'prod', region: 'us-east-1', ...options });
  }

  it('discovers certificates of every key type with facts from their bodies', async () => {
    const ec = await buildBundle({ issuer: ca, dnsNames: ['ec.internal'] });
    const rsa = await buildBundle({ issuer: ca, dnsNames: ['rsa.internal'], keySpec: 'RSA_2048' });
    const rsa3072 = await buildBundle({ issuer: ca, dnsNames: ['big.internal'], keySpec: 'RSA_3072' });
    const p384 = await buildBundle({ issuer: ca, dnsNames: ['p384.internal'], keySpec: 'EC_P384' });
    const arns = [await importNew(ec), await importNew(rsa), await importNew(rsa3072), await importNew(p384)];

    const items = await source().discover();

    expect(items.map((i) => i.id).sort()).toEqual([...arns].sort());
    const byArn = new Map(items.map((i) => [i.id, i]));
    expect(byArn.get(arns[0]!)).toMatchObject({
      source: 'acm',
      environment: 'prod',
      location: 'acm:us-east-1',
      status: 'ISSUED',
      inUseBy: [],
      facts: {
        fingerprintSha256: ec.facts.fingerprintSha256,
        notAfter: ec.facts.notAfter,
        keyAlgorithm: 'EC',
        curve: 'P-256',
      },
    });
    expect(byArn.get(arns[2]!)?.facts).toMatchObject({ keyAlgorithm: 'RSA', keySize: 3072 });
    expect(byArn.get(arns[3]!)?.facts).toMatchObject({ keyAlgorithm: 'EC', curve: 'P-384' });
  });

  it('includes certificates that have expired since they were imported', async () => {
    const shortLived = await buildCertificate({
      issuer: ca,
      dnsNames: ['brief.internal'],
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + 2500),
    });
    const arn = await acm
      .send(
        new ImportCertificateCommand({
          Certificate: Buffer.from(shortLived.certificatePem),
          PrivateKey: Buffer.from(shortLived.privateKey.reveal()),
          CertificateChain: Buffer.from(shortLived.chainPem),
        }),
      )
      .then((r) => r.CertificateArn!);
    await new Promise((resolve) => setTimeout(resolve, 3500));

    const items = await source().discover();

    expect(items).toEqual([expect.objectContaining({ id: arn, status: 'EXPIRED' })]);
  });

  it('fetches a body only for new or changed certificates', async () => {
    const arns = [
      await importNew(await buildBundle({ issuer: ca, daysLeft: 30 })),
      await importNew(await buildBundle({ issuer: ca, daysLeft: 40 })),
    ];
    const acmSource = source();
    const calls = countCalls(acm);
    await acmSource.discover();
    const first = calls.snapshot();
    calls.reset();

    const unchanged = await acmSource.discover();
    const second = calls.snapshot();
    calls.reset();
    const replacement = await buildBundle({ issuer: ca, daysLeft: 60 });
    await new AcmDestination({ client: acm, name: 'edge', certificateArns: [arns[0]!], clock: NOW }).deliver(
      arns[0]!,
      replacement,
    );
    calls.reset();
    const afterReimport = await acmSource.discover();

    expect(first).toEqual({ ListCertificatesCommand: 1, GetCertificateCommand: 2 });
    expect(second).toEqual({ ListCertificatesCommand: 1 });
    expect(unchanged).toHaveLength(2);
    expect(calls.snapshot()).toEqual({ ListCertificatesCommand: 1, GetCertificateCommand: 1 });
    expect(afterReimport.find((i) => i.id === arns[0])?.facts.fingerprintSha256).toBe(
      replacement.facts.fingerprintSha256,
    );
    expect(acmSource.lastDiscovery).toMatchObject({
      listCalls: 1,
      getCertificateCalls: 1,
      cacheHits: 1,
      certificates: 2,
    });
  });

  it('forgets deleted certificates', async () => {
    const cache = new MemoryAcmBodyCache();
    await importNew(await buildBundle({ issuer: ca }));
    await source({ cache }).discover();
    await moto.reset();

    const items = await source({ cache }).discover();

    expect(items).toEqual([]);
    expect(cache.size).toBe(0);
  });

  it('names the managed certificate from a configured tag', async () => {
    const arn = await importNew(await buildBundle({ issuer: ca }), { 'certrotor:name': 'api-internal' });
    await importNew(await buildBundle({ issuer: ca }));

    const items = await source({ managedNameTag: 'certrotor:name' }).discover();

    expect(items.find((i) => i.id === arn)?.managedName).toBe('api-internal');
    expect(items.filter((i) => i.managedName === undefined)).toHaveLength(1);
  });

  it('follows every page of the listing, asking for all key types and statuses', async () => {
    const bundle = await buildBundle({ issuer: ca });
    const paged = new ACMClient({ region: 'us-east-1' });
    const mocked = mockClient(paged);
    const summary = (n: number) => ({
      CertificateArn: `arn:aws:acm:us-east-1:123456789012:certificate/${n}`,
      NotBefore: new Date(bundle.facts.notBefore),
      NotAfter: new Date(bundle.facts.notAfter),
      Status: 'ISSUED' as const,
    });
    mocked
      .on(ListCertificatesCommand, { NextToken: undefined })
      .resolves({ CertificateSummaryList: [summary(1), summary(2)], NextToken: 'p2' })
      .on(ListCertificatesCommand, { NextToken: 'p2' })
      .resolves({ CertificateSummaryList: [summary(3)], NextToken: 'p3' })
      .on(ListCertificatesCommand, { NextToken: 'p3' })
      .resolves({ CertificateSummaryList: [summary(4)] })
      .on(GetCertificateCommand)
      .resolves({ Certificate: bundle.certificatePem });

    const items = await new AcmSource({ client: paged, environment: 'prod', region: 'us-east-1' }).discover();

    const listCalls = mocked.commandCalls(ListCertificatesCommand);
    expect(items).toHaveLength(4);
    expect(listCalls).toHaveLength(3);
    expect(listCalls[0]!.args[0].input).toMatchObject({
      MaxItems: 1000,
      Includes: {
        keyTypes: expect.arrayContaining(['RSA_2048', 'RSA_4096', 'EC_prime256v1', 'EC_secp384r1']),
      },
      CertificateStatuses: expect.arrayContaining(['ISSUED', 'EXPIRED', 'PENDING_VALIDATION', 'REVOKED']),
    });
    mocked.restore();
  });

  it('names the operation and region when listing fails', async () => {
    const unreachable = createAwsClient(ACMClient, {
      ...moto.clientConfig(),
      endpoint: 'http://127.0.0.1:9',
      maxAttempts: 1,
    });

    await expect(
      new AcmSource({ client: unreachable, environment: 'prod', region: 'us-east-1' }).discover(),
    ).rejects.toThrow(/^acm:ListCertificates acm:us-east-1: /);
  });
});
