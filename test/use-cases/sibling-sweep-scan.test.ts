/**
 * The sibling sweep inside one scan: a scan that probes only staging (a partial job, another run)
 * finds the expired certificate there and probes again, in the same scan, the prod endpoint an
 * earlier scan saw serving the same certificate, so the one event names both. Real TLS servers on
 * loopback, the real prober, an in-memory state store.
 */
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { FilesSource } from '../../lambda/adapters/local/files-source';
import { NodeTlsProber } from '../../lambda/adapters/net/tls-prober';
import { COLLECTIONS } from '../../lambda/domain/certificate-state';
import type { HostReport } from '../../lambda/domain/host-agent';
import { hostRecordId } from '../../lambda/domain/host-agent';
import { parseCertificates } from '../../lambda/domain/x509';
import type { OutgoingEvent } from '../../lambda/domain/ports';
import { DEFAULT_THRESHOLDS } from '../../lambda/domain/thresholds';
import { type CycleDeps, type ScanInput, scan } from '../../lambda/use-cases/cycle';
import type { EndpointTarget } from '../../lambda/use-cases/scan';
import { DAY, type BuiltCertificate, buildCa, buildCertificate } from '../builders/certificates';
import { MemoryStateStore } from '../fakes/memory-state-store';
import { useTempDirs } from '../support/temp-dir';

const temp = useTempDirs();

const servers: tls.Server[] = [];
const prober = new NodeTlsProber({ workers: 0 });

afterAll(async () => {
  await prober.close();
  await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
});

function serve(certificate: BuiltCertificate): Promise<{ server: tls.Server; port: number }> {
  const server = tls.createServer({
    key: certificate.privateKey.reveal(),
    cert: certificate.certificatePem + certificate.chainPem,
  });
  servers.push(server);
  return new Promise((done) =>
    server.listen(0, '127.0.0.1', () => done({ server, port: (server.address() as AddressInfo).port })),
  );
}

describe('scan with the sibling sweep', () => {
  it('probes again, in the same scan, a place an earlier scan saw serving the certificate that has a finding now', async () => {
    // Prepare: staging and prod serve the same certificate (other serials), both fine at first.
    const now = Date.now();
    const ca = await buildCa({ commonName: 'Sweep scan CA', now: new Date(now - 400 * DAY) });
    const name = 'orders.internal.example';
    const build = (notAfter: number, lifetimeDays = 365) =>
      buildCertificate({ issuer: ca, commonName: name, notAfter: new Date(notAfter), lifetimeDays });
    const staging = await serve(await build(now + 200 * DAY));
    const prod = await serve(await build(now + 4 * DAY + 3_600_000));
    const endpoint = (environment: string, port: number): EndpointTarget => ({
      name: `orders-${environment}`,
      environment,
      host: '127.0.0.1',
      port,
      servername: name,
      caPem: [ca.certificatePem],
    });
    const published: OutgoingEvent[] = [];
    const deps: CycleDeps = {
      sources: [],
      prober,
      state: new MemoryStateStore(),
      clock: () => new Date(),
      ownership: () => ({}),
      publisher: {
        name: 'memory',
        publish: async (events) => {
          published.push(...events);
          return { published: events.length, failed: [] };
        },
      },
    };
    const input = (endpoints: EndpointTarget[]): ScanInput => ({
      endpoints,
      specs: [],
      renewal: new Map(),
      thresholds: DEFAULT_THRESHOLDS,
      concurrency: 4,
    });
    // An earlier scan (another job, another run) saw prod serving it.
    await scan(deps, input([endpoint('prod', prod.port)]));
    published.length = 0;
    const expired = await build(now - 2 * DAY, 90);
    staging.server.setSecureContext({
      key: expired.privateKey.reveal(),
      cert: expired.certificatePem + expired.chainPem,
    });

    // Act: this scan probes staging only.
    const report = await scan(deps, input([endpoint('staging', staging.port)]));

    // Assess: prod was probed again and is named in the one event about the expired certificate.
    expect(report.observations.map((o) => (o.kind === 'endpoint' ? o.endpoint.environment : o.kind))).toEqual(
      ['staging', 'prod'],
    );
    const expiredEvents = report.events.filter((e) => e.detailType === 'Certificate Expired');
    expect(expiredEvents).toHaveLength(1);
    expect(expiredEvents[0]!.detail.environments).toEqual(['staging', 'prod']);
    expect(String(expiredEvents[0]!.detail.summary)).toMatch(/also in prod: expires in 4 days$/);
    expect(report.events.map((e) => e.detailType)).toEqual(['Certificate Expired']);
  });
  it('names what a host agent reports installed as a place of the certificate: "also on host worker-1: expires in 4 days"', async () => {
    // Prepare: certrotor manages "orders"; worker-1's agent reports its current version installed,
    // which expires in 4 days. Staging serves an unmanaged copy (same subject and names), expired.
    const now = Date.now();
    const ca = await buildCa({ commonName: 'Agent places CA', now: new Date(now - 400 * DAY) });
    const name = 'orders.internal.example';
    const build = (notAfter: number) =>
      buildCertificate({ issuer: ca, commonName: name, notAfter: new Date(notAfter), lifetimeDays: 90 });
    const current = await build(now + 4 * DAY + 3_600_000);
    const expired = await build(now - 2 * DAY);
    const staging = await serve(expired);
    const facts = parseCertificates(current.certificatePem, 'current')[0]!.facts;
    const state = new MemoryStateStore();
    const at = new Date();
    await state.put(
      COLLECTIONS.certificates,
      'orders',
      {
        name: 'orders',
        failedAttempts: 0,
        current: {
          version: 'v1',
          fingerprintSha256: facts.fingerprintSha256,
          notAfter: facts.notAfter,
          notBefore: facts.notBefore,
          bundle: { store: 'memory', id: 'orders/v1' },
          facts,
        },
      },
      at,
    );
    const report: HostReport = {
      host: 'worker-1',
      certificate: 'orders',
      environment: 'prod',
      installedFingerprint: facts.fingerprintSha256,
      reloadOk: true,
      healthy: true,
      at: at.toISOString(),
    };
    await state.put(COLLECTIONS.hosts, hostRecordId('worker-1', 'orders'), report, at);
    const deps: CycleDeps = {
      sources: [],
      prober,
      state,
      clock: () => new Date(),
      ownership: () => ({}),
      publisher: { name: 'memory', publish: async (events) => ({ published: events.length, failed: [] }) },
    };

    // Act: a scan that probes staging only.
    const scanned = await scan(deps, {
      endpoints: [
        {
          name: 'orders-staging',
          environment: 'staging',
          host: '127.0.0.1',
          port: staging.port,
          servername: name,
          caPem: [ca.certificatePem],
        },
      ],
      specs: [],
      renewal: new Map(),
      thresholds: DEFAULT_THRESHOLDS,
      thresholdScaling: 'lifetime',
      concurrency: 4,
    });

    // Assess: one event, naming the host and the state of its installed version.
    const expiredEvents = scanned.events.filter((e) => e.detailType === 'Certificate Expired');
    expect(expiredEvents).toHaveLength(1);
    expect(String(expiredEvents[0]!.detail.summary)).toMatch(/; also on host worker-1: expires in 4 days$/);
    expect(expiredEvents[0]!.detail.environments).toEqual(['staging', 'prod']);
    const finding = scanned.evaluation.findings.find((f) => f.kind === 'expired')!;
    expect(finding.places).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ environment: 'prod', location: 'host worker-1', host: 'worker-1' }),
      ]),
    );
    // The agent's report stays the agent's: no observation is recorded for it.
    const stored = await state.list<{ location: string }>(COLLECTIONS.observations, new Date());
    expect(stored.map((i) => i.value.location)).not.toContain('host worker-1');
  });

  it('reads again, in the same scan, an inventory source a probe job does not read when it held the certificate with a finding', async () => {
    // Prepare: an inventory scan (sources only) saw the certificate in a prod file, fine at the time.
    const now = Date.now();
    const dir = await temp.make('sweep-inventory');
    const ca = await buildCa({ commonName: 'Inventory sweep CA', now: new Date(now - 400 * DAY) });
    const name = 'billing.internal.example';
    const build = (notAfter: number) =>
      buildCertificate({ issuer: ca, commonName: name, notAfter: new Date(notAfter), lifetimeDays: 365 });
    const file = join(dir, 'billing.pem');
    writeFileSync(file, (await build(now + 200 * DAY)).certificatePem);
    const files = new FilesSource('prod-files', 'prod', [file]);
    const state = new MemoryStateStore();
    const base = {
      prober,
      state,
      clock: () => new Date(),
      ownership: () => ({}),
      publisher: { name: 'memory', publish: async () => ({ published: 0, failed: [] }) },
    } satisfies Omit<CycleDeps, 'sources'>;
    const input = (endpoints: EndpointTarget[]): ScanInput => ({
      endpoints,
      specs: [],
      renewal: new Map(),
      thresholds: DEFAULT_THRESHOLDS,
      concurrency: 4,
    });
    await scan({ ...base, sources: [files] }, input([]));
    // Since then the file was replaced by a copy expiring in 4 days, and staging serves an expired one.
    writeFileSync(file, (await build(now + 4 * DAY + 3_600_000)).certificatePem);
    const staging = await serve(await build(now - 2 * DAY));

    // Act: a probe job's scan: it reads no source, but may read the inventory for the sweep.
    const scanned = await scan(
      { ...base, sources: [], siblingSources: [files] },
      input([
        {
          name: 'billing-staging',
          environment: 'staging',
          host: '127.0.0.1',
          port: staging.port,
          servername: name,
          caPem: [ca.certificatePem],
        },
      ]),
    );

    // Assess: the file was read again (its state now, not as last stored) and is named.
    expect(scanned.observations.map((o) => o.kind)).toEqual(['endpoint', 'inventory']);
    const finding = scanned.evaluation.findings.find((f) => f.kind === 'expired')!;
    expect(finding.message).toMatch(/; also in prod: expires in 4 days$/);
    expect(finding.places).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ environment: 'prod', location: file, affected: true }),
      ]),
    );
  });
  it('names an inventory place a probe job cannot read, from what the inventory job recorded, judged as of now', async () => {
    // Prepare: the inventory job recorded the certificate in a prod file, 4 days before its expiry.
    const now = Date.now();
    const dir = await temp.make('sweep-stored-inventory');
    const ca = await buildCa({ commonName: 'Stored inventory CA', now: new Date(now - 400 * DAY) });
    const name = 'ledger.internal.example';
    const build = (notAfter: number) =>
      buildCertificate({ issuer: ca, commonName: name, notAfter: new Date(notAfter), lifetimeDays: 365 });
    const file = join(dir, 'ledger.pem');
    writeFileSync(file, (await build(now + 4 * DAY + 3_600_000)).certificatePem);
    const state = new MemoryStateStore();
    const base = {
      prober,
      state,
      clock: () => new Date(),
      ownership: () => ({}),
      publisher: { name: 'memory', publish: async () => ({ published: 0, failed: [] }) },
    } satisfies Omit<CycleDeps, 'sources'>;
    const input = (endpoints: EndpointTarget[]): ScanInput => ({
      endpoints,
      specs: [],
      renewal: new Map(),
      thresholds: DEFAULT_THRESHOLDS,
      concurrency: 4,
    });
    await scan({ ...base, sources: [new FilesSource('prod-files', 'prod', [file])] }, input([]));
    const recorded = await state.list<{ location: string; observedAt: string }>(
      COLLECTIONS.observations,
      new Date(),
    );
    const staging = await serve(await build(now - 2 * DAY));

    // Act: a probe job's scan with no inventory access at all.
    const scanned = await scan(
      { ...base, sources: [] },
      input([
        {
          name: 'ledger-staging',
          environment: 'staging',
          host: '127.0.0.1',
          port: staging.port,
          servername: name,
          caPem: [ca.certificatePem],
        },
      ]),
    );

    // Assess: the file is named with its state now; its record is not refreshed as if read now.
    const finding = scanned.evaluation.findings.find((f) => f.kind === 'expired')!;
    expect(finding.message).toMatch(/; also in prod: expires in 4 days$/);
    const after = await state.list<{ location: string; observedAt: string }>(
      COLLECTIONS.observations,
      new Date(),
    );
    expect(after.find((i) => i.value.location === file)?.value.observedAt).toBe(
      recorded.find((i) => i.value.location === file)?.value.observedAt,
    );
  });
  it('does not carry a place its source, read in this scan, no longer lists', async () => {
    // Prepare: the prod files source listed the certificate once; now it lists another file only.
    const now = Date.now();
    const dir = await temp.make('sweep-removed-place');
    const ca = await buildCa({ commonName: 'Removed place CA', now: new Date(now - 400 * DAY) });
    const name = 'removed.internal.example';
    const build = (commonName: string, notAfter: number) =>
      buildCertificate({ issuer: ca, commonName, notAfter: new Date(notAfter), lifetimeDays: 365 });
    const gone = join(dir, 'gone.pem');
    const other = join(dir, 'other.pem');
    writeFileSync(gone, (await build(name, now + 4 * DAY)).certificatePem);
    writeFileSync(other, (await build('other.internal.example', now + 200 * DAY)).certificatePem);
    const state = new MemoryStateStore();
    const base = {
      prober,
      state,
      clock: () => new Date(),
      ownership: () => ({}),
      publisher: { name: 'memory', publish: async () => ({ published: 0, failed: [] }) },
    } satisfies Omit<CycleDeps, 'sources'>;
    const input = (endpoints: EndpointTarget[]): ScanInput => ({
      endpoints,
      specs: [],
      renewal: new Map(),
      thresholds: DEFAULT_THRESHOLDS,
      concurrency: 4,
    });
    await scan({ ...base, sources: [new FilesSource('prod-files', 'prod', [gone, other])] }, input([]));
    const staging = await serve(await build(name, now - 2 * DAY));

    // Act
    const scanned = await scan(
      { ...base, sources: [new FilesSource('prod-files', 'prod', [other])] },
      input([
        {
          name: 'removed-staging',
          environment: 'staging',
          host: '127.0.0.1',
          port: staging.port,
          servername: name,
          caPem: [ca.certificatePem],
        },
      ]),
    );

    // Assess: the expired copy is reported alone.
    const finding = scanned.evaluation.findings.find((f) => f.kind === 'expired')!;
    expect(finding.environments).toEqual(['staging']);
    expect(finding.message).not.toContain('also in prod');
  });
});
