/**
 * The upstream watch end to end on loopback, as the upstream-watch Lambda and `certrotor run` run it:
 * announcements become events once, new material is delivered to every consumer certrotor can reach
 * during the overlap, consumers left out are named before the deadline (and fail after it, exactly as
 * predicted), and an unannounced swap to a new issuer is observed and reported with the consumers
 * pinning the old certificate.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileBundleStore } from '../../../lambda/adapters/local/file-bundle-store';
import { FileDestination, INSTALLED_FILES } from '../../../lambda/adapters/local/file-destination';
import { NodeClientAuthProber } from '../../../lambda/adapters/net/mtls-handshake';
import { NodeTlsProber } from '../../../lambda/adapters/net/tls-prober';
import { DAY_MS } from '../../../lambda/domain/certificate';
import { parseEvent } from '../../../lambda/domain/events';
import type { CertificateBundle, EventPublisher, OutgoingEvent } from '../../../lambda/domain/ports';
import { containsPrivateKey } from '../../../lambda/domain/secret';
import { factsFromPem } from '../../../lambda/adapters/local/pem-facts';
import { COLLECTIONS } from '../../../lambda/use-cases/certificate-state';
import { recordAnnouncement } from '../../../lambda/use-cases/upstream/announcements';
import { type HostUpstreamReport, type UpstreamSpec } from '../../../lambda/use-cases/upstream/model';
import { type UpstreamWatchDeps, watchUpstreams } from '../../../lambda/use-cases/upstream/watch';
import { buildBundle } from '../../builders/bundles';
import { type BuiltCertificate, buildCa, buildCertificate } from '../../builders/certificates';
import { MemoryStateStore } from '../../fakes/memory-state-store';
import { type LoopbackUpstream, connectAsConsumer, startLoopbackUpstream } from '../../support/mtls-upstream';
import { useTempDirs } from '../../support/temp-dir';

const temp = useTempDirs();
// Real handshakes check validity against the real time, so the scenario's clock starts at it.
const START = new Date(Math.floor(Date.now() / 1000) * 1000);
const CUTOVER = new Date(START.getTime() + 20 * DAY_MS);

class RecordingPublisher implements EventPublisher {
  readonly name = 'recording';
  readonly events: OutgoingEvent[] = [];
  async publish(events: readonly OutgoingEvent[]) {
    this.events.push(...events);
    return { published: events.length, failed: [] };
  }
}

function types(events: readonly OutgoingEvent[]): string[] {
  return events.map((e) => e.detailType);
}

async function clientBundle(issuer: BuiltCertificate, version: string): Promise<CertificateBundle> {
  return buildBundle({
    name: 'payments-client',
    version,
    issuer,
    commonName: `certrotor-client-${version}`,
    dnsNames: [],
    extendedKeyUsage: ['clientAuth'],
    now: START,
    lifetimeDays: 365,
  });
}

describe('watching a client CA rotation with a consumer left out of distribution', () => {
  let upstream: LoopbackUpstream;
  let server: BuiltCertificate;
  let newClientCa: BuiltCertificate;
  let newBundle: CertificateBundle;
  let oldBundle: CertificateBundle;
  let hostsDir: string;
  let strayDir: string;
  let deps: UpstreamWatchDeps;
  let spec: UpstreamSpec;
  let publisher: RecordingPublisher;
  let now = START;

  beforeAll(async () => {
    const serverCa = await buildCa({ commonName: 'Vendor server root', now: START });
    server = await buildCertificate({
      issuer: serverCa,
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      now: START,
      lifetimeDays: 365,
    });
    const oldClientCa = await buildCa({ commonName: 'Vendor client CA G1', now: START });
    newClientCa = await buildCa({ commonName: 'Vendor client CA G2', now: START });
    oldBundle = await clientBundle(oldClientCa, 'g1');
    newBundle = await clientBundle(newClientCa, 'g2');
    upstream = await startLoopbackUpstream({
      certificatePem: server.certificatePem,
      keyPem: server.privateKey.reveal(),
      clientCaPem: [oldClientCa.certificatePem, newClientCa.certificatePem],
    });
    hostsDir = await temp.make('consumers');
    const destination = new FileDestination({
      name: 'payments-clients',
      hosts: ['app-1', 'app-2'],
      directory: hostsDir,
    });
    for (const host of ['app-1', 'app-2']) expect((await destination.deliver(host, oldBundle)).ok).toBe(true);
    // app-3 got the old client certificate by hand, outside certrotor: no destination reaches it.
    strayDir = await temp.make('stray');
    const stray = new FileDestination({ name: 'by-hand', hosts: ['app-3'], directory: strayDir });
    expect((await stray.deliver('app-3', oldBundle)).ok).toBe(true);
    publisher = new RecordingPublisher();
    const state = new MemoryStateStore();
    deps = {
      state,
      bundles: new FileBundleStore({ directory: await temp.make('bundles') }),
      destinations: new Map([[destination.name, destination]]),
      prober: new NodeTlsProber({ clock: () => now }),
      clientAuth: new NodeClientAuthProber(),
      clock: () => now,
      publisher,
      ownership: () => ({ owner: 'payments-team', runbookUrl: 'https://runbooks.example.com/upstreams' }),
    };
    spec = {
      name: 'payments-api',
      environment: 'prod',
      endpoints: [{ host: upstream.host, port: upstream.port }],
      pinnedFingerprints: [],
      caPem: [serverCa.certificatePem],
      clientCertificate: 'payments-client',
      consumers: [
        { name: 'app-1', kind: 'destination', destination: 'payments-clients', environment: 'prod' },
        { name: 'app-2', kind: 'destination', destination: 'payments-clients', environment: 'prod' },
        { name: 'app-3', kind: 'host', environment: 'prod-eu' },
      ],
      feeds: [],
      policy: { safetyMarginMs: DAY_MS, thresholds: [14, 7, 3, 1] },
      expiryWarningMs: 30 * DAY_MS,
    };
    const ref = await deps.bundles.put(newBundle);
    await recordAnnouncement(
      state,
      {
        source: 'manual',
        sourceId: 'ticket VEND-4711',
        upstream: 'payments-api',
        title: 'Client CA G2 rotation',
        windowStart: new Date(START.getTime() - DAY_MS).toISOString(),
        cutover: CUTOVER.toISOString(),
        needsReview: false,
        reviewReasons: [],
      },
      START,
      {
        newClientCertificate: {
          bundle: ref,
          fingerprintSha256: newBundle.facts.fingerprintSha256,
          subject: newBundle.facts.subject,
          notAfter: newBundle.facts.notAfter,
        },
      },
    );
  });

  afterAll(async () => {
    await upstream?.close();
  });

  const material = async (dir: string, host: string) => ({
    certificatePem: await readFile(join(dir, host, INSTALLED_FILES.certificate), 'utf8'),
    keyPem: await readFile(join(dir, host, INSTALLED_FILES.key), 'utf8'),
  });

  it('announces once, delivers the new client certificate to every reachable consumer and names the one left out', async () => {
    // Act: the first watch inside the overlap, 19 days before the deadline
    const first = await watchUpstreams(deps, { upstreams: [spec] });

    // Assess: announced, delivered to app-1 and app-2 and verified, app-3 not ready
    expect(first.failures).toEqual([]);
    expect(types(first.events)).toEqual(['Upstream Rotation Announced']);
    const announced = parseEvent({
      source: 'certrotor',
      'detail-type': first.events[0]!.detailType,
      time: first.events[0]!.time,
      detail: first.events[0]!.detail,
    });
    expect(announced.detail).toMatchObject({
      owner: 'payments-team',
      upstream: { name: 'payments-api', endpoints: [`127.0.0.1:${upstream.port}`] },
      announcement: { source: 'manual', cutover: CUTOVER.toISOString() },
      consumers: [
        { name: 'app-1', ready: true },
        { name: 'app-2', ready: true },
        { name: 'app-3', kind: 'host', environment: 'prod-eu', ready: false },
      ],
    });
    expect(first.upstreams[0]!.delivered).toEqual({
      [first.upstreams[0]!.announcements[0]!.announcement.id]: ['app-1', 'app-2'],
    });
    expect(factsFromPem((await material(hostsDir, 'app-1')).certificatePem).fingerprintSha256).toBe(
      newBundle.facts.fingerprintSha256,
    );

    // Act: the same watch again
    const again = await watchUpstreams(deps, { upstreams: [spec] });

    // Assess: nothing is repeated and nothing delivered twice
    expect(again.events).toEqual([]);
    expect(again.upstreams[0]!.delivered).toEqual({});
  });

  it('raises the deadline and the not-ready consumer at the threshold, and exactly that consumer fails after cutover', async () => {
    // Act: 13 days before the deadline: the 14-day threshold
    now = new Date(CUTOVER.getTime() - 14 * DAY_MS);
    const warned = await watchUpstreams(deps, { upstreams: [spec] });

    // Assess
    expect(types(warned.events)).toEqual(['Upstream Rotation Deadline Approaching', 'Consumers Not Ready']);
    const notReady = warned.events[1]!.detail;
    expect(notReady).toMatchObject({
      severity: 'warning',
      environments: ['prod-eu'],
      consumersNotReady: [
        { name: 'app-3', ready: false, reason: expect.stringMatching(/no destination delivers to app-3/) },
      ],
      consumersReady: 2,
      consumersTotal: 3,
      readyPercent: 66.7,
      daysLeft: 13,
    });
    expect(warned.events[0]!.detail).toMatchObject({ threshold: 14, stage: 'deadline-approaching' });

    // Act: the vendor cuts over to the new client CA only
    now = new Date(CUTOVER.getTime() + 3_600_000);
    upstream.swap({
      certificatePem: server.certificatePem,
      keyPem: server.privateKey.reveal(),
      clientCaPem: [newClientCa.certificatePem],
    });
    const outcomes = {
      'app-1': (await connectAsConsumer(upstream, await material(hostsDir, 'app-1'))).ok,
      'app-2': (await connectAsConsumer(upstream, await material(hostsDir, 'app-2'))).ok,
      'app-3': (await connectAsConsumer(upstream, await material(strayDir, 'app-3'))).ok,
    };
    const overdue = await watchUpstreams(deps, { upstreams: [spec] });

    // Assess: the prediction came true; overdue is critical; the old material is not retired
    expect(outcomes).toEqual({ 'app-1': true, 'app-2': true, 'app-3': false });
    expect(types(overdue.events)).toEqual(['Upstream Rotation Deadline Approaching', 'Consumers Not Ready']);
    expect(overdue.events[1]!.detail).toMatchObject({
      severity: 'critical',
      consumersNotReady: [{ name: 'app-3' }],
    });
    expect(overdue.upstreams[0]!.retired).toEqual([]);
  });

  it('never puts key material into an event', () => {
    const text = JSON.stringify(publisher.events);
    expect(containsPrivateKey(text)).toBe(false);
    expect(text).not.toContain(newBundle.privateKey.reveal().slice(40, 80));
  });
});

describe('watching an upstream that swaps to a new issuer unannounced', () => {
  it('reports the change once with the consumers pinning the old certificate, and keeps watching the others', async () => {
    // Prepare: a ledger upstream, two consumers (one pins the old leaf), and a second upstream that is down
    const oldRoot = await buildCa({ commonName: 'Ledger CA 2024', now: START });
    const newRoot = await buildCa({ commonName: 'Ledger CA 2026', now: START });
    const leaf = (issuer: BuiltCertificate) =>
      buildCertificate({
        issuer,
        dnsNames: ['localhost'],
        ipAddresses: ['127.0.0.1'],
        now: START,
        lifetimeDays: 365,
      });
    const oldLeaf = await leaf(oldRoot);
    const newLeaf = await leaf(newRoot);
    const ledger = await startLoopbackUpstream({
      certificatePem: oldLeaf.certificatePem,
      keyPem: oldLeaf.privateKey.reveal(),
    });
    try {
      const state = new MemoryStateStore();
      const pinned: HostUpstreamReport = {
        upstreams: {
          ledger: { pinnedFingerprints: [factsFromPem(oldLeaf.certificatePem).fingerprintSha256] },
        },
      };
      await state.put(COLLECTIONS.hosts, 'billing-1', pinned, START);
      await state.put(COLLECTIONS.hosts, 'billing-2', { upstreams: { ledger: {} } }, START);
      const publisher = new RecordingPublisher();
      const deps: UpstreamWatchDeps = {
        state,
        bundles: new FileBundleStore({ directory: await temp.make('bundles') }),
        destinations: new Map(),
        prober: new NodeTlsProber({ clock: () => START, defaultTimeoutMs: 2000 }),
        clock: () => START,
        publisher,
        ownership: () => ({}),
      };
      const base = {
        environment: 'prod',
        pinnedFingerprints: [],
        feeds: [],
        policy: {},
        expiryWarningMs: 30 * DAY_MS,
      };
      const specs: UpstreamSpec[] = [
        { ...base, name: 'gone', endpoints: [{ host: '127.0.0.1', port: 1 }], consumers: [] },
        {
          ...base,
          name: 'ledger',
          endpoints: [{ host: ledger.host, port: ledger.port }],
          consumers: ['billing-1', 'billing-2'].map((name) => ({
            name,
            kind: 'host' as const,
            environment: 'prod',
          })),
        },
      ];
      const baseline = await watchUpstreams(deps, { upstreams: specs });
      ledger.swap({ certificatePem: newLeaf.certificatePem, keyPem: newLeaf.privateKey.reveal() });

      // Act
      const report = await watchUpstreams(deps, { upstreams: specs });
      const again = await watchUpstreams(deps, { upstreams: specs });

      // Assess: the down upstream is one failure per watch; the change is reported once
      expect(baseline.events).toEqual([]);
      expect(report.failures.map((f) => f.what)).toEqual(['upstream gone endpoint 127.0.0.1:1']);
      expect(types(report.events)).toEqual(['Upstream Certificate Changed']);
      expect(report.events[0]!.detail).toMatchObject({
        severity: 'warning',
        changes: ['leaf', 'issuer'],
        announced: false,
        certificate: { fingerprintSha256: factsFromPem(newLeaf.certificatePem).fingerprintSha256 },
        previous: { fingerprintSha256: factsFromPem(oldLeaf.certificatePem).fingerprintSha256 },
        endpoint: { host: '127.0.0.1', port: ledger.port, environment: 'prod' },
        consumersAffected: [{ name: 'billing-1', ready: false, reason: expect.stringMatching(/^pins /) }],
      });
      expect(again.events).toEqual([]);
    } finally {
      await ledger.close();
    }
  });
});

describe('watching status-page feeds', () => {
  it('announces dated items, asks a human about ambiguous ones, and reports a failing feed without stopping', async () => {
    // Prepare: a Statuspage feed with a dated rotation and an undated one, and a feed that is down
    const page = await readFile(
      join(__dirname, '..', '..', 'fixtures', 'feeds', 'statuspage-scheduled.json'),
      'utf8',
    );
    const now = new Date('2026-10-21T00:00:00Z');
    const publisher = new RecordingPublisher();
    const deps: UpstreamWatchDeps = {
      state: new MemoryStateStore(),
      bundles: new FileBundleStore({ directory: await temp.make('bundles') }),
      destinations: new Map(),
      prober: new NodeTlsProber({ clock: () => now }),
      feeds: {
        fetchText: async (url) => {
          if (url === 'https://status.acme.example/api/v2/scheduled-maintenances.json') return page;
          throw new Error(`fetch feed ${url}: HTTP 503`);
        },
      },
      clock: () => now,
      publisher,
      ownership: () => ({ owner: 'platform' }),
    };
    const spec: UpstreamSpec = {
      name: 'acme',
      environment: 'prod',
      endpoints: [],
      pinnedFingerprints: [],
      consumers: [{ name: 'app-1', kind: 'host', environment: 'prod' }],
      feeds: [
        { kind: 'statuspage-json', url: 'https://status.acme.example/api/v2/scheduled-maintenances.json' },
        { kind: 'rss', url: 'https://down.example/rss' },
      ],
      policy: { safetyMarginMs: DAY_MS, thresholds: [14, 7, 3, 1] },
      expiryWarningMs: 30 * DAY_MS,
    };

    // Act
    const report = await watchUpstreams(deps, { upstreams: [spec] });
    const again = await watchUpstreams(deps, { upstreams: [spec] });

    // Assess
    expect(report.failures).toEqual([
      {
        what: 'feed https://down.example/rss (acme)',
        error: 'fetch feed https://down.example/rss: HTTP 503',
      },
    ]);
    const byType = (type: string) => report.events.filter((e) => e.detailType === type).map((e) => e.detail);
    expect(
      byType('Upstream Rotation Announced').map((d) => (d.announcement as { title: string }).title),
    ).toEqual([
      'TLS certificate renewal for api.acme-payments.example', // sorted by cutover
      'Rotation of the mTLS client certificate CA',
    ]);
    const review = byType('Upstream Announcement Needs Review');
    expect(review.map((d) => d.title)).toEqual([
      'Intermediate CA change',
      'TLS certificate renewal for api.acme-payments.example',
    ]);
    expect(review[1]).toMatchObject({
      feed: {
        kind: 'statuspage-json',
        url: 'https://status.acme.example/api/v2/scheduled-maintenances.json',
      },
      reason: expect.stringMatching(/window end .* is before its start/),
      owner: 'platform',
    });
    expect(again.events).toEqual([]);
  });
});
