/**
 * Scenario: a vendor that requires client certificates rotates its client CA. During the overlap it
 * accepts both CAs; at cutover only the new one. certrotor distributes the vendor-issued client
 * certificate to the consumers, predicts before the deadline which consumer is not ready, and that
 * prediction comes true at cutover.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileBundleStore } from '../../../lambda/adapters/local/file-bundle-store';
import { FileDestination, INSTALLED_FILES } from '../../../lambda/adapters/local/file-destination';
import { NodeClientAuthProber } from '../../../lambda/adapters/net/mtls-handshake';
import { NodeTlsProber } from '../../../lambda/adapters/net/tls-prober';
import { DAY_MS } from '../../../lambda/domain/certificate';
import type { CertificateBundle } from '../../../lambda/domain/ports';
import { containsPrivateKey } from '../../../lambda/domain/secret';
import { type UpstreamDeps, type UpstreamSpec } from '../../../lambda/use-cases/upstream/model';
import { distributeNewMaterial, retireOldMaterial } from '../../../lambda/use-cases/upstream/distribution';
import { recordAnnouncement } from '../../../lambda/use-cases/upstream/announcements';
import { upstreamStatus } from '../../../lambda/use-cases/upstream/readiness';
import { buildBundle } from '../../builders/bundles';
import { type BuiltCertificate, buildCa, buildCertificate } from '../../builders/certificates';
import { MemoryStateStore } from '../../fakes/memory-state-store';
import { type LoopbackUpstream, connectAsConsumer, startLoopbackUpstream } from '../../support/mtls-upstream';
import { useTempDirs } from '../../support/temp-dir';

const temp = useTempDirs();
// Real handshakes check validity against the real time, so the scenario's clock starts at it.
const START = new Date(Math.floor(Date.now() / 1000) * 1000);
const CUTOVER = new Date(START.getTime() + 20 * DAY_MS);
const CONSUMERS = ['app-1', 'app-2', 'app-3'];

interface World {
  upstream: LoopbackUpstream;
  server: BuiltCertificate;
  serverCa: BuiltCertificate;
  newClientCa: BuiltCertificate;
  oldBundle: CertificateBundle;
  newBundle: CertificateBundle;
  destination: FileDestination;
  hostsDir: string;
  deps: UpstreamDeps;
  spec: UpstreamSpec;
  now: Date;
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

async function consumerMaterial(world: World, host: string) {
  const dir = join(world.hostsDir, host);
  return {
    certificatePem: await readFile(join(dir, INSTALLED_FILES.certificate), 'utf8'),
    keyPem: await readFile(join(dir, INSTALLED_FILES.key), 'utf8'),
  };
}

async function setUp(): Promise<World> {
  const serverCa = await buildCa({ commonName: 'Vendor server root', now: START });
  const server = await buildCertificate({
    issuer: serverCa,
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    now: START,
    lifetimeDays: 365,
  });
  const oldClientCa = await buildCa({ commonName: 'Vendor client CA G1', now: START });
  const newClientCa = await buildCa({ commonName: 'Vendor client CA G2', now: START });
  const oldBundle = await clientBundle(oldClientCa, 'g1');
  const newBundle = await clientBundle(newClientCa, 'g2');
  // The overlap: the vendor accepts client certificates from both CAs.
  const upstream = await startLoopbackUpstream({
    certificatePem: server.certificatePem,
    keyPem: server.privateKey.reveal(),
    clientCaPem: [oldClientCa.certificatePem, newClientCa.certificatePem],
  });
  const hostsDir = await temp.make('consumers');
  const destination = new FileDestination({
    name: 'payments-clients',
    hosts: CONSUMERS,
    directory: hostsDir,
  });
  for (const host of CONSUMERS) expect((await destination.deliver(host, oldBundle)).ok).toBe(true);
  const bundles = new FileBundleStore({ directory: await temp.make('bundles') });
  const world = { now: START } as World;
  Object.assign(world, {
    upstream,
    server,
    serverCa,
    newClientCa,
    oldBundle,
    newBundle,
    destination,
    hostsDir,
    deps: {
      state: new MemoryStateStore(),
      bundles,
      destinations: new Map([[destination.name, destination]]),
      prober: new NodeTlsProber({ clock: () => world.now }),
      clientAuth: new NodeClientAuthProber(),
      clock: () => world.now,
    },
    spec: {
      name: 'payments-api',
      environment: 'prod',
      endpoints: [{ host: upstream.host, port: upstream.port }],
      pinnedFingerprints: [],
      caPem: [serverCa.certificatePem],
      clientCertificate: 'payments-client',
      consumers: CONSUMERS.map((name) => ({
        name,
        kind: 'destination' as const,
        destination: 'payments-clients',
        target: name,
        environment: 'prod',
      })),
      feeds: [],
      policy: { safetyMarginMs: DAY_MS, thresholds: [14, 7, 3, 1] },
      expiryWarningMs: 30 * DAY_MS,
    },
  });
  return world;
}

describe('upstream client CA rotation with a consumer left out of distribution', () => {
  let world: World;

  beforeAll(async () => {
    world = await setUp();
  });

  afterAll(async () => {
    await world?.upstream.close();
  });

  it('predicts before the deadline exactly which consumer will fail at cutover, and it does', async () => {
    // Prepare: the vendor announces; certrotor stores its new client certificate and hands it to
    // app-1 and app-2 only (app-3 is left out, as an unreachable host would be).
    const ref = await world.deps.bundles.put(world.newBundle);
    const { record } = await recordAnnouncement(
      world.deps.state,
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
          fingerprintSha256: world.newBundle.facts.fingerprintSha256,
          subject: world.newBundle.facts.subject,
          notAfter: world.newBundle.facts.notAfter,
        },
      },
    );
    const distribution = await distributeNewMaterial(world.deps, world.spec, record.id, ['app-1', 'app-2']);
    expect(distribution.consumers.map((c) => [c.consumer, c.verified])).toEqual([
      ['app-1', true],
      ['app-2', true],
    ]);

    // Act: ten days later, 9 days before the deadline (cutover minus one day)
    world.now = new Date(START.getTime() + 10 * DAY_MS);
    const [before] = await upstreamStatus(world.deps, world.spec);

    // Assess: app-3 is named, the others are ready and proven by a handshake with the new certificate
    expect(before?.stage).toBe('deadline-approaching');
    expect(before?.deadline).toBe(new Date(CUTOVER.getTime() - DAY_MS).toISOString());
    expect(before?.proof?.map((p) => p.accepted)).toEqual([true]);
    const predictedToFail = before!.consumers.filter((c) => !c.ready).map((c) => c.consumer);
    expect(predictedToFail).toEqual(['app-3']);
    expect(before!.consumers.find((c) => c.consumer === 'app-1')?.detail).toMatch(
      /accepted by 127\.0\.0\.1:/,
    );
    expect(before!.consumers.find((c) => c.consumer === 'app-3')?.detail).toMatch(/not the new/);
    const notReady = before!.findings.find((f) => f.kind === 'consumers-not-ready');
    expect(notReady).toMatchObject({
      locations: ['app-3'],
      severity: 'warning',
      dedupeKey: `consumers-not-ready:${record.id}:14d`,
    });
    expect(notReady?.message).toContain('not ready: app-3');
    expect(before!.findings.map((f) => f.kind)).toEqual(['upstream-window', 'consumers-not-ready']);

    // Every consumer still connects during the overlap
    for (const host of CONSUMERS) {
      expect(await connectAsConsumer(world.upstream, await consumerMaterial(world, host))).toEqual({
        ok: true,
      });
    }

    // Old material cannot be retired before the cutover
    expect(await retireOldMaterial(world.deps, world.spec, record.id)).toMatchObject({
      allowed: false,
      reason: expect.stringMatching(/has not passed/),
    });

    // Act: the vendor cuts over to the new client CA only
    world.now = new Date(CUTOVER.getTime() + 60 * 60 * 1000);
    world.upstream.swap({
      certificatePem: world.server.certificatePem,
      keyPem: world.server.privateKey.reveal(),
      clientCaPem: [world.newClientCa.certificatePem],
    });
    const outcomes = new Map<string, boolean>();
    for (const host of CONSUMERS) {
      outcomes.set(host, (await connectAsConsumer(world.upstream, await consumerMaterial(world, host))).ok);
    }

    // Assess: exactly the predicted consumer fails
    const failed = [...outcomes].filter(([, ok]) => !ok).map(([host]) => host);
    expect(failed).toEqual(predictedToFail);
    const [after] = await upstreamStatus(world.deps, world.spec);
    expect(after?.stage).toBe('overdue');
    expect(after?.findings.find((f) => f.kind === 'consumers-not-ready')).toMatchObject({
      locations: ['app-3'],
      severity: 'critical',
    });
    expect(await retireOldMaterial(world.deps, world.spec, record.id)).toMatchObject({
      allowed: false,
      reason: 'not verified on the new material: app-3',
    });

    // Act: the late consumer gets the new certificate; now the old may go
    await distributeNewMaterial(world.deps, world.spec, record.id, ['app-3']);
    const retired = await retireOldMaterial(world.deps, world.spec, record.id);

    // Assess
    expect(await connectAsConsumer(world.upstream, await consumerMaterial(world, 'app-3'))).toEqual({
      ok: true,
    });
    expect(retired.allowed).toBe(true);
    const [done] = await upstreamStatus(world.deps, world.spec);
    expect(done?.stage).toBe('completed');
    expect(done?.findings).toEqual([]);
  });

  it('keeps the key out of everything the announcement and its status hold', async () => {
    // Act
    const statuses = await upstreamStatus(world.deps, world.spec);

    // Assess
    expect(containsPrivateKey(JSON.stringify(statuses))).toBe(false);
    expect(JSON.stringify(statuses)).not.toContain(world.newBundle.privateKey.reveal().slice(40, 80));
  });
});

describe('a proof handshake against the upstream', () => {
  let world: World;

  beforeAll(async () => {
    world = await setUp();
  });

  afterAll(async () => {
    await world?.upstream.close();
  });

  it('marks consumers not ready when the upstream refuses the new client certificate', async () => {
    // Prepare: the vendor has not enabled the new CA although the window is open
    world.upstream.swap({
      certificatePem: world.server.certificatePem,
      keyPem: world.server.privateKey.reveal(),
      clientCaPem: [world.oldBundle.chainPem],
    });
    const ref = await world.deps.bundles.put(world.newBundle);
    const { record } = await recordAnnouncement(
      world.deps.state,
      {
        source: 'manual',
        sourceId: 'refused',
        upstream: 'payments-api',
        title: 'Client CA G2 rotation',
        windowStart: START.toISOString(),
        cutover: CUTOVER.toISOString(),
        needsReview: false,
        reviewReasons: [],
      },
      START,
      {
        newClientCertificate: {
          bundle: ref,
          fingerprintSha256: world.newBundle.facts.fingerprintSha256,
          subject: world.newBundle.facts.subject,
          notAfter: world.newBundle.facts.notAfter,
        },
      },
    );
    await distributeNewMaterial(world.deps, world.spec, record.id);

    // Act
    const [status] = await upstreamStatus(world.deps, world.spec);

    // Assess
    expect(status?.proof?.[0]?.accepted).toBe(false);
    expect(status?.consumers.every((c) => !c.ready)).toBe(true);
    expect(status?.consumers[0]?.detail).toMatch(
      /holds the new client certificate but 127\.0\.0\.1:\d+ refused it/,
    );
  });
});
