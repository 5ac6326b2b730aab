/**
 * Configuration wired to the AWS adapters, against the emulator: the ACM PCA issuers' CA certificates
 * as inventory (no AWS event warns of a CA nearing expiry), `sources[].includeImported` for ACM and
 * `issuers[].templateArn` for ACM PCA.
 */
import { ACMClient, ImportCertificateCommand, RequestCertificateCommand } from '@aws-sdk/client-acm';
import { ACMPCAClient } from '@aws-sdk/client-acm-pca';
import { X509Certificate } from 'node:crypto';
import { AwsClientPool } from '../../../lambda/adapters/aws/clients';
import { awsIssuerCaReaders } from '../../../lambda/adapters/aws/inventory-sources';
import { buildAwsInventorySources, buildRotationAdapters } from '../../../lambda/wiring/aws';
import { type CertrotorConfig, validateConfig } from '../../../lambda/config/configuration';
import type { OutgoingEvent } from '../../../lambda/domain/ports';
import { DEFAULT_THRESHOLDS } from '../../../lambda/domain/thresholds';
import { type CycleDeps, scan } from '../../../lambda/use-cases/cycle';
import { issuerCaSources, issuerEnvironments } from '../../../lambda/use-cases/issuer-ca-source';
import { buildBundle } from '../../builders/bundles';
import { buildCa } from '../../builders/certificates';
import { MemoryStateStore } from '../../fakes/memory-state-store';
import { countCalls } from '../../support/aws-call-counter';
import { type EmulatedCa, createRootCa } from '../../support/emulated-pca';
import { MOTO_ACCOUNT_ID, MOTO_REGION, useMoto } from '../../support/moto';

const moto = useMoto();
const DAY_MS = 86_400_000;
const MISSING_CA = `arn:aws:acm-pca:${MOTO_REGION}:${MOTO_ACCOUNT_ID}:certificate-authority/00000000-0000-0000-0000-000000000000`;

let clients: AwsClientPool;
let ca: EmulatedCa;

beforeAll(async () => {
  clients = new AwsClientPool({ ...moto.clientConfig(), maxAttempts: 1 });
  ca = await createRootCa(clients.get(ACMPCAClient), 'certrotor inventory test CA');
});

function config(edit: (c: Record<string, unknown>) => void = () => {}): CertrotorConfig {
  const raw: Record<string, unknown> = {
    version: 1,
    environments: [{ name: 'prod' }, { name: 'staging' }],
    issuers: [{ name: 'private-ca', kind: 'acm-pca', certificateAuthorityArn: ca.arn }],
    destinations: [
      { name: 'app-secret', kind: 'secrets-manager', environment: 'staging', secretId: 'app/tls' },
    ],
    certificates: [
      { name: 'api', dnsNames: ['api.internal'], issuer: 'private-ca', destinations: ['app-secret'] },
    ],
  };
  edit(raw);
  return validateConfig(raw, 'test');
}

/** The scan use case over the issuer CA sources of `cfg`, as of `now`. */
function caScan(cfg: CertrotorConfig, now: Date) {
  const published: OutgoingEvent[] = [];
  const deps: CycleDeps = {
    sources: issuerCaSources(
      awsIssuerCaReaders(cfg, clients),
      issuerEnvironments(
        cfg.certificates.map((c) => ({ issuer: c.issuer, environments: ['staging'] })),
        cfg.environments[0]!.name,
      ),
    ),
    prober: { probe: async () => [] },
    state: new MemoryStateStore(),
    clock: () => now,
    ownership: () => ({}),
    publisher: {
      name: 'memory',
      publish: async (events) => {
        published.push(...events);
        return { published: events.length, failed: [] };
      },
    },
  };
  const input = {
    endpoints: [],
    specs: [],
    renewal: new Map(),
    thresholds: DEFAULT_THRESHOLDS,
    concurrency: 4,
  };
  return { run: () => scan(deps, input), published };
}

const caNotAfter = () => new X509Certificate(ca.certificatePem).validToDate;

describe('ACM PCA issuers as inventory', () => {
  it('raises Certificate Expiring for a private CA 10 days from expiry, read without issuing anything', async () => {
    // Prepare
    const calls = countCalls(clients.get(ACMPCAClient));
    const { run, published } = caScan(config(), new Date(caNotAfter().getTime() - 10 * DAY_MS));

    // Act
    const report = await run();

    // Assess
    expect(report.failures).toEqual([]);
    expect(report.observations).toEqual([
      expect.objectContaining({
        item: expect.objectContaining({
          source: 'issuer',
          id: ca.arn,
          location: ca.arn,
          environment: 'staging',
          facts: expect.objectContaining({
            isCA: true,
            fingerprintSha256: new X509Certificate(ca.certificatePem).fingerprint256,
          }),
        }),
      }),
    ]);
    expect(published.map((e) => [e.detailType, e.detail.environments, e.detail.daysLeft])).toEqual([
      ['Certificate Expiring', ['staging'], 10],
    ]);
    expect(calls.snapshot()).toEqual({
      DescribeCertificateAuthorityCommand: 1,
      GetCertificateAuthorityCertificateCommand: 1,
    });
  });

  it('raises nothing for a private CA far from expiry', async () => {
    // Prepare
    const { run, published } = caScan(config(), new Date(caNotAfter().getTime() - 200 * DAY_MS));

    // Act
    const report = await run();

    // Assess
    expect(report.observations).toHaveLength(1);
    expect(published).toEqual([]);
  });

  it('reports a CA that cannot be read as one failure of that issuer and still reads the others', async () => {
    // Prepare
    const cfg = config((c) => {
      c.issuers = [
        { name: 'gone-ca', kind: 'acm-pca', certificateAuthorityArn: MISSING_CA },
        { name: 'private-ca', kind: 'acm-pca', certificateAuthorityArn: ca.arn },
      ];
    });
    const { run, published } = caScan(cfg, new Date(caNotAfter().getTime() - 10 * DAY_MS));

    // Act
    const report = await run();

    // Assess
    expect(report.failures).toEqual([
      {
        what: 'source issuer:gone-ca',
        error: expect.stringContaining(`acm-pca:DescribeCertificateAuthority ${MISSING_CA}`),
      },
    ]);
    expect(published.map((e) => e.detailType)).toEqual(['Certificate Expiring']);
  });

  it('watches only acm-pca issuers: other kinds have no CA certrotor can read in AWS', () => {
    // Prepare
    const cfg = config((c) => {
      c.issuers = [
        { name: 'private-ca', kind: 'acm-pca', certificateAuthorityArn: ca.arn },
        { name: 'local', kind: 'local-ca' },
        { name: 'vendor', kind: 'external' },
      ];
    });

    // Act
    const readers = awsIssuerCaReaders(cfg, clients);

    // Assess
    expect(readers.map((r) => [r.issuer, r.location])).toEqual([['private-ca', ca.arn]]);
  });
});

describe('ACM source includeImported', () => {
  let importedArn: string;
  let privateArn: string;

  beforeAll(async () => {
    const acm = clients.get(ACMClient);
    const bundle = await buildBundle({ issuer: await buildCa(), dnsNames: ['imported.internal'] });
    importedArn = (
      await acm.send(
        new ImportCertificateCommand({
          Certificate: Buffer.from(bundle.certificatePem),
          PrivateKey: Buffer.from(bundle.privateKey.reveal()),
          CertificateChain: Buffer.from(bundle.chainPem),
        }),
      )
    ).CertificateArn!;
    privateArn = (
      await acm.send(
        new RequestCertificateCommand({ DomainName: 'private.internal', CertificateAuthorityArn: ca.arn }),
      )
    ).CertificateArn!;
  });

  function acmSource(includeImported?: boolean) {
    const cfg = config((c) => {
      c.sources = [
        {
          name: 'acm-prod',
          kind: 'acm',
          environment: 'prod',
          region: MOTO_REGION,
          ...(includeImported !== undefined ? { includeImported } : {}),
        },
      ];
    });
    return buildAwsInventorySources(cfg, clients, MOTO_REGION)[0]!;
  }

  it('leaves imported certificates out when false, without fetching their bodies', async () => {
    // Prepare
    const calls = countCalls(clients.get(ACMClient));

    // Act
    const items = await acmSource(false).discover();

    // Assess
    expect(items.map((i) => i.id)).toEqual([privateArn]);
    expect(calls.of('GetCertificateCommand')).toBe(1);
  });

  it('includes imported certificates by default', async () => {
    // Act
    const items = await acmSource().discover();

    // Assess
    expect(items.map((i) => i.id).sort()).toEqual([importedArn, privateArn].sort());
  });
});

describe('ACM PCA issuer templateArn', () => {
  const END_ENTITY = 'arn:aws:acm-pca:::template/EndEntityCertificate/V1';

  async function issueThrough(cfg: CertrotorConfig): Promise<{ template: unknown; leaf: X509Certificate }> {
    const templates: unknown[] = [];
    const pool = new AwsClientPool({ ...moto.clientConfig(), maxAttempts: 1 });
    pool.get(ACMPCAClient).middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'IssueCertificateCommand')
          templates.push((args.input as { TemplateArn?: string }).TemplateArn);
        return next(args);
      },
      { step: 'initialize', name: 'captureTemplateArn' },
    );
    const { issuers } = buildRotationAdapters(cfg, pool, { clock: () => new Date() });
    const bundle = await issuers.get('private-ca')!.issue(
      {
        name: 'api',
        version: `v-${Math.random().toString(36).slice(2)}`,
        commonName: 'api.internal',
        dnsNames: ['api.internal'],
        keySpec: 'EC_P256',
        usage: 'server',
        validityDays: 30,
        idempotencyKey: `api-${Math.random().toString(36).slice(2)}`,
      },
      new Date(),
    );
    return { template: templates[0], leaf: new X509Certificate(bundle.certificatePem) };
  }

  it('issues with the configured template', async () => {
    // Prepare
    const cfg = config((c) => {
      c.issuers = [
        { name: 'private-ca', kind: 'acm-pca', certificateAuthorityArn: ca.arn, templateArn: END_ENTITY },
      ];
    });

    // Act
    const { template, leaf } = await issueThrough(cfg);

    // Assess: the emulator applies the template's extended key usages (both, for this template).
    expect(template).toBe(END_ENTITY);
    expect(leaf.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']));
  });

  it('issues with the template of the certificate usage when none is configured', async () => {
    // Act
    const { template } = await issueThrough(config());

    // Assess
    expect(template).toBe('arn:aws:acm-pca:::template/EndEntityServerAuthCertificate/V1');
  });
});
