/**
 * Scenario: an upstream swaps its server certificate to one from a new issuer without telling
 * anyone. certrotor sees it on the next fresh handshake, records an announcement for it, and names
 * the consumers that pin the old certificate.
 */
import { FileBundleStore } from '../../../lambda/adapters/local/file-bundle-store';
import { NodeTlsProber } from '../../../lambda/adapters/net/tls-prober';
import { DAY_MS } from '../../../lambda/domain/certificate';
import { factsFromPem } from '../../../lambda/adapters/local/pem-facts';
import {
  type HostUpstreamReport,
  type UpstreamDeps,
  type UpstreamSpec,
} from '../../../lambda/use-cases/upstream/model';
import { listAnnouncements, recordAnnouncement } from '../../../lambda/use-cases/upstream/announcements';
import { observeUpstream } from '../../../lambda/use-cases/upstream/observation';
import { upstreamStatus } from '../../../lambda/use-cases/upstream/readiness';
import { COLLECTIONS } from '../../../lambda/use-cases/certificate-state';
import { type BuiltCertificate, buildCa, buildCertificate } from '../../builders/certificates';
import { MemoryStateStore } from '../../fakes/memory-state-store';
import { type LoopbackUpstream, startLoopbackUpstream } from '../../support/mtls-upstream';
import { useTempDirs } from '../../support/temp-dir';

const temp = useTempDirs();
const START = new Date(Math.floor(Date.now() / 1000) * 1000);

async function serverCertificate(issuer: BuiltCertificate, lifetimeDays = 365): Promise<BuiltCertificate> {
  return buildCertificate({
    issuer,
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    now: START,
    lifetimeDays,
  });
}

interface World {
  upstream: LoopbackUpstream;
  deps: UpstreamDeps;
  spec: UpstreamSpec;
  state: MemoryStateStore;
  now: Date;
}

async function setUp(
  leaf: BuiltCertificate,
  consumers: Record<string, readonly string[] | undefined>,
): Promise<World> {
  const upstream = await startLoopbackUpstream({
    certificatePem: leaf.certificatePem + leaf.chainPem,
    keyPem: leaf.privateKey.reveal(),
  });
  const state = new MemoryStateStore();
  const world = { now: START, upstream, state } as World;
  for (const [host, pins] of Object.entries(consumers)) {
    const report: HostUpstreamReport = { upstreams: { ledger: pins ? { pinnedFingerprints: pins } : {} } };
    await state.put(COLLECTIONS.hosts, host, report, START);
  }
  world.deps = {
    state,
    bundles: new FileBundleStore({ directory: await temp.make('bundles') }),
    destinations: new Map(),
    prober: new NodeTlsProber({ clock: () => world.now }),
    clock: () => world.now,
  };
  world.spec = {
    name: 'ledger',
    environment: 'prod',
    endpoints: [{ host: upstream.host, port: upstream.port }],
    pinnedFingerprints: [],
    consumers: Object.keys(consumers).map((name) => ({ name, kind: 'host' as const, environment: 'prod' })),
    feeds: [],
    policy: { safetyMarginMs: DAY_MS, thresholds: [14, 7, 3, 1] },
    expiryWarningMs: 30 * DAY_MS,
  };
  return world;
}

describe('an unannounced server certificate swap to a new issuer', () => {
  let world: World;
  let oldLeaf: BuiltCertificate;
  let newRoot: BuiltCertificate;
  let newLeaf: BuiltCertificate;

  beforeAll(async () => {
    const oldRoot = await buildCa({ commonName: 'Ledger CA 2024', now: START });
    newRoot = await buildCa({ commonName: 'Ledger CA 2026', now: START });
    oldLeaf = await serverCertificate(oldRoot);
    newLeaf = await serverCertificate(newRoot);
    const oldFingerprint = factsFromPem(oldLeaf.certificatePem).fingerprintSha256;
    const newRootFingerprint = factsFromPem(newRoot.certificatePem).fingerprintSha256;
    world = await setUp(oldLeaf, {
      'billing-1': [oldFingerprint], // pins the old leaf: breaks
      'billing-2': undefined, // trusts the system store: fine
      'billing-3': [oldFingerprint, newRootFingerprint.replace(/:/g, '').toLowerCase()], // already pins the new root (sent in the chain)
    });
  });

  afterAll(async () => {
    await world?.upstream.close();
  });

  it('is observed, announced, and the consumers pinning the old certificate are reported', async () => {
    // Prepare: a first observation is the baseline
    const baseline = await observeUpstream(world.deps, world.spec);
    expect(baseline).toMatchObject({ findings: [], announcements: [], failures: [] });

    // Act: the vendor swaps in place; the next scheduled observation an hour later
    world.upstream.swap({
      certificatePem: newLeaf.certificatePem + newLeaf.chainPem,
      keyPem: newLeaf.privateKey.reveal(),
    });
    world.now = new Date(START.getTime() + 60 * 60 * 1000);
    const report = await observeUpstream(world.deps, world.spec);

    // Assess: Upstream Certificate Changed, for a new issuer
    const newFacts = factsFromPem(newLeaf.certificatePem);
    expect(report.findings).toHaveLength(1);
    const [changed] = report.findings;
    expect(changed).toMatchObject({
      kind: 'upstream-certificate-changed',
      severity: 'warning',
      certificate: { fingerprintSha256: newFacts.fingerprintSha256 },
      details: {
        change: 'issuer',
        previousFingerprint: factsFromPem(oldLeaf.certificatePem).fingerprintSha256,
        currentFingerprint: newFacts.fingerprintSha256,
        announced: false,
      },
    });
    expect(changed?.message).toMatch(
      /from a new issuer: "[^"]*CN=Ledger CA 2026[^"]*" \(was "[^"]*CN=Ledger CA 2024/,
    );
    // ... an announcement recorded from the observation
    expect(report.announcements).toHaveLength(1);
    const [announcement] = report.announcements;
    expect(announcement).toMatchObject({
      created: true,
      record: {
        source: 'observation',
        upstream: 'ledger',
        cutover: world.now.toISOString(),
        windowStart: START.toISOString(),
        newCertificate: { fingerprintSha256: newFacts.fingerprintSha256 },
      },
    });
    expect(changed?.details.announcementId).toBe(announcement?.record.id);
    // ... and the consumer pinning the old certificate named
    expect(report.pinningConsumers).toEqual(['billing-1']);
    expect((changed?.details.consumersAffected as { consumer: string }[]).map((c) => c.consumer)).toEqual([
      'billing-1',
    ]);

    // Assess: status shows the observed rotation overdue with billing-1 not ready
    const [status] = await upstreamStatus(world.deps, world.spec);
    expect(status?.stage).toBe('overdue');
    expect(status?.consumers.map((c) => [c.consumer, c.ready])).toEqual([
      ['billing-1', false],
      ['billing-2', true],
      ['billing-3', true],
    ]);
    expect(status?.consumers[0]?.detail).toMatch(/^pins [0-9A-F]{12}, none of the new chain/);
    expect(status?.findings.find((f) => f.kind === 'consumers-not-ready')?.locations).toEqual(['billing-1']);
  });

  it('does not report or announce the same swap twice', async () => {
    // Act
    world.now = new Date(world.now.getTime() + 60 * 60 * 1000);
    const again = await observeUpstream(world.deps, world.spec);

    // Assess
    expect(again.findings).toEqual([]);
    expect(again.announcements).toEqual([]);
    expect(await listAnnouncements(world.state, world.now, 'ledger')).toHaveLength(1);
  });
});

describe('an upstream certificate nearing expiry', () => {
  let world: World;
  let leaf: BuiltCertificate;

  beforeAll(async () => {
    leaf = await serverCertificate(await buildCa({ now: START }));
    world = await setUp(leaf, { 'billing-1': undefined });
  });

  afterAll(async () => {
    await world?.upstream.close();
  });

  it('means a rotation is imminent when nothing is announced', async () => {
    // Prepare: ten days before the served certificate expires
    world.now = new Date(Date.parse(factsFromPem(leaf.certificatePem).notAfter) - 10 * DAY_MS);

    // Act
    const report = await observeUpstream(world.deps, world.spec);

    // Assess
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]).toMatchObject({
      kind: 'expiring',
      severity: 'warning',
      daysLeft: 10,
      details: { upstream: 'ledger', rotationImminent: true },
    });
    expect(report.findings[0]?.message).toMatch(/^ledger: rotation imminent: /);
  });

  it('is covered by an announced rotation ahead', async () => {
    // Prepare
    await recordAnnouncement(
      world.state,
      {
        source: 'manual',
        sourceId: 'renewal',
        upstream: 'ledger',
        title: 'Renewal',
        cutover: new Date(world.now.getTime() + 5 * DAY_MS).toISOString(),
        needsReview: false,
        reviewReasons: [],
      },
      world.now,
    );

    // Act
    const report = await observeUpstream(world.deps, world.spec);

    // Assess
    expect(report.findings).toEqual([]);
  });
});

describe('an unreachable upstream endpoint', () => {
  it('is a failure of that endpoint, not of the observation', async () => {
    // Prepare
    const world = await setUp(await serverCertificate(await buildCa({ now: START })), {});
    await world.upstream.close();

    // Act
    const report = await observeUpstream(world.deps, world.spec);

    // Assess
    expect(report.findings).toEqual([]);
    expect(report.failures).toEqual([
      { endpoint: `127.0.0.1:${world.spec.endpoints[0]?.port}`, error: 'connection refused' },
    ]);
  });
});
