/**
 * The sibling sweep inside one scan: a scan that probes only staging (a partial job, another run)
 * finds the expired certificate there and probes again, in the same scan, the prod endpoint an
 * earlier scan saw serving the same certificate, so the one event names both. Real TLS servers on
 * loopback, the real prober, an in-memory state store.
 */
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { NodeTlsProber } from '../../lambda/adapters/net/tls-prober';
import type { OutgoingEvent } from '../../lambda/domain/ports';
import { DEFAULT_THRESHOLDS } from '../../lambda/domain/thresholds';
import { type CycleDeps, type ScanInput, scan } from '../../lambda/use-cases/cycle';
import type { EndpointTarget } from '../../lambda/use-cases/scan';
import { DAY, type BuiltCertificate, buildCa, buildCertificate } from '../builders/certificates';
import { MemoryStateStore } from '../fakes/memory-state-store';

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
});
