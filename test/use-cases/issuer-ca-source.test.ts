/**
 * The issuers' CA certificates as inventory: a CA nearing expiry raises the ordinary expiry finding,
 * once, in every environment its certificates live in; one unreadable CA is one failure.
 */
import type { OutgoingEvent } from '../../lambda/domain/ports';
import { DEFAULT_THRESHOLDS } from '../../lambda/domain/thresholds';
import { type CycleDeps, scan } from '../../lambda/use-cases/cycle';
import { type CaCertificateReader } from '../../lambda/domain/ports';
import { issuerCaSources, issuerEnvironments } from '../../lambda/use-cases/issuer-ca-source';
import { DAY, NOW, at, buildFacts } from '../builders/facts';
import { MemoryStateStore } from '../fakes/memory-state-store';

const CA_ARN = 'arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/11111111-2222';

function caReader(issuer: string, location: string, daysLeft: number | undefined): CaCertificateReader {
  return {
    issuer,
    location,
    read: async () =>
      daysLeft === undefined
        ? undefined
        : {
            pem: '(not parsed here)',
            facts: buildFacts({
              seed: issuer,
              subject: `CN=${issuer} CA`,
              isCA: true,
              selfSigned: true,
              notAfter: at(daysLeft * DAY),
            }),
          },
  };
}

function failingReader(issuer: string): CaCertificateReader {
  return {
    issuer,
    location: `issuer:${issuer}`,
    read: async () => {
      throw new Error(`acm-pca:DescribeCertificateAuthority ${issuer}: AccessDeniedException`);
    },
  };
}

const specs = [
  { issuer: 'private-ca', environments: ['prod'] },
  { issuer: 'private-ca', environments: ['staging', 'prod'] },
  { issuer: 'local-ca', environments: ['dev'] },
];
const environmentsOf = issuerEnvironments(specs, 'prod');

function world(readers: readonly CaCertificateReader[]) {
  const published: OutgoingEvent[] = [];
  const state = new MemoryStateStore();
  const deps: CycleDeps = {
    sources: issuerCaSources(readers, environmentsOf),
    prober: { probe: async () => [] },
    state,
    clock: () => NOW,
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

describe('issuer CA certificates as inventory', () => {
  it('raises Certificate Expiring once for a CA 10 days from expiry, in every environment it signs for', async () => {
    // Prepare
    const { run, published } = world([caReader('private-ca', CA_ARN, 10)]);

    // Act
    const first = await run();
    const second = await run();

    // Assess
    expect(first.failures).toEqual([]);
    expect(first.observations.map((o) => (o.kind === 'inventory' ? o.item : undefined))).toEqual([
      expect.objectContaining({ source: 'issuer', id: CA_ARN, location: CA_ARN, environment: 'prod' }),
      expect.objectContaining({ source: 'issuer', id: CA_ARN, location: CA_ARN, environment: 'staging' }),
    ]);
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      detailType: 'Certificate Expiring',
      detail: expect.objectContaining({ environments: ['prod', 'staging'] }),
    });
    expect(JSON.stringify(published[0]!.detail)).toContain(CA_ARN);
    expect(second.newFindings).toEqual([]);
  });

  it('raises Certificate Expired for a CA past its expiry', async () => {
    // Prepare
    const { run, published } = world([caReader('local-ca', 'issuer:local-ca', -1)]);

    // Act
    await run();

    // Assess
    expect(published.map((e) => [e.detailType, e.detail.environments])).toEqual([
      ['Certificate Expired', ['dev']],
    ]);
  });

  it('raises nothing for a CA far from expiry', async () => {
    // Prepare
    const { run, published } = world([caReader('private-ca', CA_ARN, 300)]);

    // Act
    const report = await run();

    // Assess
    expect(report.observations).toHaveLength(2);
    expect(published).toEqual([]);
  });

  it('skips a CA that does not exist yet without a failure', async () => {
    // Prepare
    const { run } = world([caReader('local-ca', 'issuer:local-ca', undefined)]);

    // Act
    const report = await run();

    // Assess
    expect(report.observations).toEqual([]);
    expect(report.failures).toEqual([]);
  });

  it('reports an unreadable CA as one failure and still reads the other issuers', async () => {
    // Prepare
    const { run, published } = world([failingReader('broken-ca'), caReader('private-ca', CA_ARN, 10)]);

    // Act
    const report = await run();

    // Assess
    expect(report.failures).toEqual([
      {
        what: 'source issuer:broken-ca',
        error: expect.stringContaining('broken-ca: AccessDeniedException'),
      },
    ]);
    expect(published.map((e) => e.detailType)).toEqual(['Certificate Expiring']);
  });

  it.each([
    [
      'An issuer takes the environments of the certificates it signs, once each',
      'private-ca',
      ['prod', 'staging'],
    ],
    ['An issuer no certificate names is watched in the fallback environment', 'unused-ca', ['prod']],
  ])('%s', (_case, issuer, expected) => {
    expect(environmentsOf(issuer)).toEqual(expected);
  });
});
