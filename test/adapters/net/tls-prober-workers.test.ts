import { EventEmitter } from 'node:events';
import { X509Certificate } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { buildCertificate, buildChain, type BuiltCertificate } from '../../builders/certificates';
import { MaterialCache, NodeTlsProber, probeMany } from '../../../lambda/adapters/net/tls-prober';
import { freshHandshake } from '../../../lambda/adapters/net/tls-handshake';
import type { ProbeRequest, ProbeResult } from '../../../lambda/domain/ports';

const NOW = new Date('2026-03-01T12:00:00Z');
const servers: net.Server[] = [];
const probers: NodeTlsProber[] = [];

function listen(server: net.Server, host = '127.0.0.1'): Promise<number> {
  servers.push(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve((server.address() as net.AddressInfo).port));
  });
}

function startTlsServer(served: BuiltCertificate, chainPem = served.chainPem): Promise<number> {
  const server = tls.createServer({
    cert: served.certificatePem + chainPem,
    key: served.privateKey.reveal(),
  });
  server.on('secureConnection', (socket) => socket.on('error', () => undefined));
  server.on('tlsClientError', () => undefined);
  return listen(server);
}

function prober(options: ConstructorParameters<typeof NodeTlsProber>[0]): NodeTlsProber {
  const created = new NodeTlsProber({ clock: () => NOW, ...options });
  probers.push(created);
  return created;
}

/** Everything but the handshake's duration, which differs from run to run. */
function comparable(results: ProbeResult[][]): unknown {
  return results.map((perAddress) =>
    perAddress.map(({ handshakeMs, ...rest }) => ({ ...rest, timed: handshakeMs !== undefined })),
  );
}

function fingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

afterEach(async () => {
  await Promise.all(probers.splice(0).map((p) => p.close()));
  for (const server of servers.splice(0)) server.close();
});

describe('probing on worker threads', () => {
  let chain: { root: BuiltCertificate; intermediate: BuiltCertificate; leaf: BuiltCertificate };
  let elsewhere: BuiltCertificate;

  beforeAll(async () => {
    chain = await buildChain({ dnsNames: ['api.example.test'], ipAddresses: ['127.0.0.1'] });
    elsewhere = await buildCertificate({ dnsNames: ['other.example.test'], issuer: chain.intermediate });
  });

  it('returns the same results as probing on the calling thread', async () => {
    // Prepare: good, mismatched, incomplete, refused and not-TLS endpoints.
    const good = await startTlsServer(chain.leaf);
    const mismatched = await startTlsServer(elsewhere);
    const incomplete = await startTlsServer(chain.leaf, '');
    const refused = await listen(net.createServer());
    servers.pop()!.close();
    const plain = await listen(
      net.createServer((socket) => {
        socket.on('error', () => undefined);
        socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
      }),
    );
    const anchors = [chain.root.certificatePem];
    const requests: ProbeRequest[] = [good, mismatched, incomplete, refused, plain].flatMap((port) => [
      { host: '127.0.0.1', port, servername: 'api.example.test', caPem: anchors },
      { host: '127.0.0.1', port },
    ]);
    const onThread = prober({ workers: 0 });
    const onWorkers = prober({ workers: 2, workerThreshold: 0 });

    // Act
    const expected = await probeMany(onThread, requests, { concurrency: 4 });
    const actual = await probeMany(onWorkers, requests, { concurrency: 4 });

    // Assess
    expect(comparable(actual)).toEqual(comparable(expected));
    expect(actual[0]![0]).toMatchObject({ ok: true, authorized: true, hostnameMatches: true });
    expect(actual[0]![0]!.chain.map((c) => c.facts.fingerprintSha256)).toEqual([
      fingerprint(chain.leaf.certificatePem),
      fingerprint(chain.intermediate.certificatePem),
      fingerprint(chain.root.certificatePem),
    ]);
    expect(actual.map((r) => r[0]!.ok)).toEqual([
      true,
      true,
      true,
      true,
      true,
      true,
      false,
      false,
      false,
      false,
    ]);
  });

  it('tries a refused handshake once more from a worker too', async () => {
    const server = tls.createServer({
      cert: chain.leaf.certificatePem + chain.leaf.chainPem,
      key: chain.leaf.privateKey.reveal(),
      ecdhCurve: 'X25519MLKEM768',
    });
    server.on('secureConnection', (socket) => socket.on('error', () => undefined));
    server.on('tlsClientError', () => undefined);
    const port = await listen(server);
    const onWorkers = prober({ workers: 2, workerThreshold: 0 });

    const [[result]] = await probeMany(onWorkers, [
      { host: '127.0.0.1', port, servername: 'api.example.test', caPem: [chain.root.certificatePem] },
    ]);

    expect(result).toMatchObject({ ok: true, authorized: true, hostnameMatches: true });
    expect(result!.chain).toHaveLength(3);
  });

  it('never resumes a session from a worker', async () => {
    const resumed: boolean[] = [];
    const server = tls.createServer({
      cert: chain.leaf.certificatePem + chain.leaf.chainPem,
      key: chain.leaf.privateKey.reveal(),
    });
    server.on('secureConnection', (socket) => {
      resumed.push(socket.isSessionReused());
      socket.on('error', () => undefined);
    });
    const port = await listen(server);
    const onWorkers = prober({ workers: 2, workerThreshold: 0 });

    const results = await probeMany(
      onWorkers,
      Array.from({ length: 6 }, () => ({ host: '127.0.0.1', port })),
      { concurrency: 2 },
    );

    expect(results.every(([r]) => r!.ok && r!.chain.length === 3)).toBe(true);
    for (let i = 0; i < 200 && resumed.length < 6; i++) await new Promise((r) => setTimeout(r, 10));
    expect(resumed).toEqual([false, false, false, false, false, false]);
  });
});

describe('parsing each served certificate once', () => {
  let first: BuiltCertificate;
  let second: BuiltCertificate;

  beforeAll(async () => {
    first = await buildCertificate({ dnsNames: ['one.example.test'] });
    second = await buildCertificate({ dnsNames: ['two.example.test'] });
  });

  const der = (built: BuiltCertificate) => new X509Certificate(built.certificatePem).raw;

  it('hands back the parsed certificate for the same bytes', () => {
    const cache = new MaterialCache();

    const a = cache.get(der(first), fingerprint(first.certificatePem));
    const b = cache.get(der(first), fingerprint(first.certificatePem));

    expect(b).toBe(a);
    expect(b.facts.fingerprintSha256).toBe(fingerprint(first.certificatePem));
  });

  it('never conflates two certificates, even under the same key', () => {
    const cache = new MaterialCache();
    const sameKey = fingerprint(first.certificatePem);

    const a = cache.get(der(first), sameKey);
    const b = cache.get(der(second), sameKey);
    const again = cache.get(der(first), sameKey);

    expect(a.facts.fingerprintSha256).toBe(fingerprint(first.certificatePem));
    expect(b.facts.fingerprintSha256).toBe(fingerprint(second.certificatePem));
    expect(again).toBe(a);
  });

  it('tells apart different certificates served by different endpoints', async () => {
    const one = await startTlsServer(first);
    const two = await startTlsServer(second);
    const onThread = prober({ workers: 0 });

    const results = await probeMany(
      onThread,
      [one, two, one, two].map((port) => ({ host: '127.0.0.1', port })),
    );

    expect(results.map(([r]) => r!.chain[0]!.facts.fingerprintSha256)).toEqual([
      fingerprint(first.certificatePem),
      fingerprint(second.certificatePem),
      fingerprint(first.certificatePem),
      fingerprint(second.certificatePem),
    ]);
    expect(results[2]![0]!.chain[0]!.pem).toBe(new X509Certificate(first.certificatePem).toString());
  });
});

describe('a handshake without a peer certificate', () => {
  /** A socket that completes a handshake and presents nothing. */
  function certificatelessTls(): Parameters<typeof freshHandshake>[0] {
    const connect = () => {
      const socket = Object.assign(new EventEmitter(), {
        authorized: false,
        authorizationError: undefined,
        isSessionReused: () => false,
        getPeerCertificate: () => ({}),
        getProtocol: () => 'TLSv1.2',
        end: () => undefined,
        destroy: () => undefined,
      });
      setImmediate(() => {
        socket.emit('connect');
        socket.emit('secureConnect');
      });
      return socket as unknown as tls.TLSSocket;
    };
    return { connect, checkServerIdentity: tls.checkServerIdentity };
  }

  it('is a failure, not an empty chain', async () => {
    const outcome = await freshHandshake(
      certificatelessTls(),
      { address: '127.0.0.1', port: 443, nameToMatch: '127.0.0.1', timeoutMs: 1000 },
      undefined,
    );

    expect(outcome).toEqual({ ok: false, failure: 'no-certificate', stage: 'handshake' });
  });
});
