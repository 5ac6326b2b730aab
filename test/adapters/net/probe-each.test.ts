/**
 * probeEach: the streamed form of probeMany that large sweeps use. Real TLS servers on loopback; the
 * prober is the real one, wrapped only to count how many probes are in flight.
 */
import { X509Certificate } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { buildCa, buildCertificate } from '../../builders/certificates';
import { NodeTlsProber, probeEach } from '../../../lambda/adapters/net/tls-prober';
import type { ProbeRequest, ProbeResult, TlsProber } from '../../../lambda/domain/ports';

const servers: tls.Server[] = [];
const prober = new NodeTlsProber({ workers: 0, defaultTimeoutMs: 5000 });

afterAll(async () => {
  await prober.close();
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

async function startServers(count: number): Promise<{ ports: number[]; caPem: string; fingerprint: string }> {
  const ca = await buildCa();
  const leaf = await buildCertificate({ issuer: ca, dnsNames: ['localhost'] });
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const server = tls.createServer(
      { cert: leaf.certificatePem + ca.certificatePem, key: leaf.privateKey.reveal() },
      (socket) => {
        socket.on('error', () => undefined);
        socket.resume();
      },
    );
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    servers.push(server);
    ports.push((server.address() as net.AddressInfo).port);
  }
  return {
    ports,
    caPem: ca.certificatePem,
    fingerprint: new X509Certificate(leaf.certificatePem).fingerprint256,
  };
}

describe('probeEach', () => {
  it('hands every request its results exactly once, with no more probes in flight than the concurrency', async () => {
    // Prepare
    const { ports, caPem, fingerprint } = await startServers(12);
    let inFlight = 0;
    let peak = 0;
    const counting: TlsProber = {
      probe: async (request) => {
        peak = Math.max(peak, ++inFlight);
        try {
          return await prober.probe(request);
        } finally {
          inFlight--;
        }
      },
    };
    let generated = 0;
    function* requests(): Generator<ProbeRequest> {
      for (const port of ports) {
        generated++;
        yield { host: '127.0.0.1', port, servername: 'localhost', caPem: [caPem] };
      }
    }
    const seen = new Map<number, ProbeResult[]>();

    // Act
    const count = await probeEach(
      counting,
      requests(),
      (results, request) => {
        expect(seen.has(request.port)).toBe(false);
        seen.set(request.port, results);
      },
      { concurrency: 3 },
    );

    // Assess
    expect(count).toBe(ports.length);
    expect(generated).toBe(ports.length);
    expect([...seen.keys()].sort()).toEqual([...ports].sort());
    expect(peak).toBeLessThanOrEqual(3);
    for (const results of seen.values()) {
      expect(results).toHaveLength(1);
      expect(results[0]).toMatchObject({ ok: true, authorized: true, hostnameMatches: true });
      expect(results[0]!.chain[0]!.facts.fingerprintSha256).toBe(fingerprint);
      expect(results[0]!.chain).toHaveLength(2);
    }
  });

  it('reports an endpoint that refuses as a result, not an exception, and finishes the rest', async () => {
    // Prepare
    const { ports, caPem } = await startServers(2);
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const refusing = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const requests = [...ports, refusing].map((port) => ({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      caPem: [caPem],
    }));
    const outcomes: { port: number; ok: boolean; error?: string }[] = [];

    // Act
    await probeEach(prober, requests, (results, request) => {
      outcomes.push({
        port: request.port,
        ok: results[0]!.ok,
        ...(results[0]!.error ? { error: results[0]!.error } : {}),
      });
    });

    // Assess
    expect(outcomes.sort((a, b) => a.port - b.port)).toEqual(
      [
        ...ports.map((port) => ({ port, ok: true })),
        { port: refusing, ok: false, error: 'connection refused' },
      ].sort((a, b) => a.port - b.port),
    );
  });
});
