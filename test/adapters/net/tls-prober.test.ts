import { X509Certificate } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { buildCertificate, buildChain, type BuiltCertificate } from '../../builders/certificates';
import { NodeTlsProber, probeMany } from '../../../lambda/adapters/net/tls-prober';
import type { ProbeRequest, ProbeResult, TlsProber } from '../../../lambda/domain/ports';

const NOW = new Date('2026-03-01T12:00:00Z');

interface RunningServer {
  readonly port: number;
  readonly server: net.Server;
  /** SNI names received, one per handshake (undefined when the client sent none). */
  readonly servernames: (string | undefined)[];
  /** Whether each completed handshake resumed a session. */
  readonly resumed: boolean[];
  /** Fingerprints of client certificates presented. */
  readonly clientCertificates: string[];
  close(): Promise<void>;
}

const servers: RunningServer[] = [];

function track(server: net.Server, host: string, port = 0): Promise<RunningServer> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const running: RunningServer = {
        port: (server.address() as net.AddressInfo).port,
        server,
        servernames: [],
        resumed: [],
        clientCertificates: [],
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      };
      servers.push(running);
      resolve(running);
    });
  });
}

async function startTlsServer(
  served: { certificatePem: string; privateKey: BuiltCertificate['privateKey']; chainPem?: string },
  options: {
    host?: string;
    port?: number;
    requestCert?: boolean;
    ecdhCurve?: string;
    maxVersion?: tls.SecureVersion;
  } = {},
): Promise<RunningServer> {
  const server = tls.createServer({
    cert: served.certificatePem + (served.chainPem ?? ''),
    key: served.privateKey.reveal(),
    ...(options.requestCert ? { requestCert: true, rejectUnauthorized: false } : {}),
    ...(options.ecdhCurve ? { ecdhCurve: options.ecdhCurve } : {}),
    ...(options.maxVersion ? { maxVersion: options.maxVersion } : {}),
  });
  const running = await track(server, options.host ?? '127.0.0.1', options.port);
  server.on('secureConnection', (socket: tls.TLSSocket) => {
    running.servernames.push(
      (socket as tls.TLSSocket & { servername?: string | false }).servername || undefined,
    );
    running.resumed.push(socket.isSessionReused());
    const peer = socket.getPeerX509Certificate();
    if (peer) running.clientCertificates.push(peer.fingerprint256);
    socket.on('error', () => undefined);
  });
  server.on('tlsClientError', () => undefined);
  return running;
}

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const running = await track(net.createServer(), '127.0.0.1');
  await running.close();
  servers.splice(servers.indexOf(running), 1);
  return running.port;
}

/** Server-side events land after the client has its answer; wait for them, bounded. */
async function eventually(assertion: () => void, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      assertion();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

const loopbackOnly = async () => [{ address: '127.0.0.1', family: 4 }];

function fingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

async function probeOne(prober: TlsProber, request: ProbeRequest): Promise<ProbeResult> {
  const results = await prober.probe(request);
  expect(results).toHaveLength(1);
  return results[0]!;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('probing TLS endpoints with a fresh handshake', () => {
  let chain: { root: BuiltCertificate; intermediate: BuiltCertificate; leaf: BuiltCertificate };
  let renewed: BuiltCertificate;
  let elsewhere: BuiltCertificate;
  let client: BuiltCertificate;
  const prober = new NodeTlsProber({ clock: () => NOW, lookup: loopbackOnly });

  beforeAll(async () => {
    chain = await buildChain({ dnsNames: ['api.example.test', 'localhost'], ipAddresses: ['127.0.0.1'] });
    renewed = await buildCertificate({ dnsNames: ['api.example.test'], issuer: chain.intermediate });
    elsewhere = await buildCertificate({ dnsNames: ['other.example.test'], issuer: chain.intermediate });
    client = await buildCertificate({ commonName: 'consumer-7', extendedKeyUsage: ['clientAuth'] });
  });

  it('reports the whole served chain, the protocol and the verification result', async () => {
    // Prepare
    const { port } = await startTlsServer(chain.leaf);

    // Act
    const result = await probeOne(prober, {
      host: '127.0.0.1',
      port,
      servername: 'api.example.test',
      caPem: [chain.root.certificatePem],
    });

    // Assess
    expect(result).toMatchObject({
      host: '127.0.0.1',
      port,
      servername: 'api.example.test',
      address: '127.0.0.1',
      observedAt: NOW.toISOString(),
      ok: true,
      protocol: 'TLSv1.3',
      authorized: true,
      hostnameMatches: true,
    });
    expect(result.error).toBeUndefined();
    expect(result.handshakeMs).toBeGreaterThan(0);
    expect(result.chain.map((c) => c.facts.fingerprintSha256)).toEqual([
      fingerprint(chain.leaf.certificatePem),
      fingerprint(chain.intermediate.certificatePem),
      fingerprint(chain.root.certificatePem),
    ]);
    expect(result.chain[0]!.pem).toBe(new X509Certificate(chain.leaf.certificatePem).toString());
  });

  it('sees a certificate swapped in place on the next probe', async () => {
    // Prepare
    const running = await startTlsServer(chain.leaf);
    const before = await probeOne(prober, { host: '127.0.0.1', port: running.port });
    // A long-lived connection opened before the swap stays up with the old certificate.
    const lingering = tls.connect({ host: '127.0.0.1', port: running.port, rejectUnauthorized: false });
    await new Promise((resolve) => lingering.once('secureConnect', resolve));

    // Act
    (running.server as tls.Server).setSecureContext({
      cert: renewed.certificatePem + renewed.chainPem,
      key: renewed.privateKey.reveal(),
    });
    const after = await probeOne(prober, { host: '127.0.0.1', port: running.port });

    // Assess
    expect(before.chain[0]!.facts.fingerprintSha256).toBe(fingerprint(chain.leaf.certificatePem));
    expect(after.chain[0]!.facts.fingerprintSha256).toBe(fingerprint(renewed.certificatePem));
    expect(lingering.getPeerX509Certificate()?.fingerprint256).toBe(fingerprint(chain.leaf.certificatePem));
    lingering.destroy();
  });

  it('never resumes a session, however often it probes', async () => {
    const running = await startTlsServer(chain.leaf);

    for (let i = 0; i < 3; i++) {
      const result = await probeOne(prober, { host: '127.0.0.1', port: running.port });
      expect(result.ok).toBe(true);
      expect(result.chain).toHaveLength(3);
    }

    await eventually(() => expect(running.resumed).toEqual([false, false, false]));
  });

  it.each([
    ['A host name is sent as SNI', { host: 'localhost' }, 'localhost'],
    [
      'An explicit servername overrides the host',
      { host: 'localhost', servername: 'api.example.test' },
      'api.example.test',
    ],
    ['An IP address sends no SNI', { host: '127.0.0.1' }, undefined],
    [
      'An IP address with a servername sends it',
      { host: '127.0.0.1', servername: 'api.example.test' },
      'api.example.test',
    ],
  ])('%s', async (_name, target, expectedSni) => {
    const running = await startTlsServer(chain.leaf);

    const result = await probeOne(prober, { ...target, port: running.port });

    expect(result.ok).toBe(true);
    expect(result.servername).toBe(expectedSni);
    await eventually(() => expect(running.servernames).toStrictEqual([expectedSni]));
  });

  it('probes every address behind a name, each with SNI set', async () => {
    // Prepare: the same port on two loopback addresses, serving different certificates.
    const first = await startTlsServer(chain.leaf, { host: '127.0.0.1' });
    const second = await startTlsServer(elsewhere, { host: '127.0.0.2', port: first.port });
    const twoAddresses = new NodeTlsProber({
      lookup: async () => [
        { address: '127.0.0.1', family: 4 },
        { address: '127.0.0.2', family: 4 },
      ],
    });

    // Act
    const results = await twoAddresses.probe({ host: 'api.example.test', port: first.port });

    // Assess
    expect(results.map((r) => [r.address, r.ok, r.hostnameMatches])).toEqual([
      ['127.0.0.1', true, true],
      ['127.0.0.2', true, false],
    ]);
    expect(results[1]!.chain[0]!.facts.fingerprintSha256).toBe(fingerprint(elsewhere.certificatePem));
    await eventually(() =>
      expect([...first.servernames, ...second.servernames]).toEqual(['api.example.test', 'api.example.test']),
    );
  });

  it('probes only the first address when asked to', async () => {
    const first = await startTlsServer(chain.leaf, { host: '127.0.0.1' });
    const twoAddresses = new NodeTlsProber({
      lookup: async () => [
        { address: '127.0.0.1', family: 4 },
        { address: '127.0.0.2', family: 4 },
      ],
    });

    const results = await twoAddresses.probe({
      host: 'api.example.test',
      port: first.port,
      allAddresses: false,
    });

    expect(results.map((r) => r.address)).toEqual(['127.0.0.1']);
  });

  it('reports an incomplete chain as unverified', async () => {
    const { port } = await startTlsServer({ ...chain.leaf, chainPem: '' });

    const result = await probeOne(prober, {
      host: 'api.example.test',
      port,
      caPem: [chain.root.certificatePem],
    });

    expect(result).toMatchObject({ ok: true, authorized: false, hostnameMatches: true });
    expect(result.authorizationError).toBe('unable to verify the first certificate');
    expect(result.authorizationErrorCode).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(result.chain).toHaveLength(1);
  });

  it('reports a chain the system trust store does not know as unverified', async () => {
    const { port } = await startTlsServer(chain.leaf);

    const result = await probeOne(prober, { host: 'api.example.test', port });

    expect(result).toMatchObject({ ok: true, authorized: false });
    expect(result.authorizationError).toMatch(
      /self-signed certificate in certificate chain|unable to get local issuer/,
    );
  });

  it('reports a hostname mismatch without failing the probe', async () => {
    const { port } = await startTlsServer(elsewhere);

    const result = await probeOne(prober, {
      host: '127.0.0.1',
      port,
      servername: 'api.example.test',
      caPem: [chain.root.certificatePem],
    });

    expect(result).toMatchObject({ ok: true, authorized: true, hostnameMatches: false });
  });

  it('matches an IP address against IP SANs when no servername is given', async () => {
    const { port } = await startTlsServer(chain.leaf);

    const result = await probeOne(prober, { host: '127.0.0.1', port });

    expect(result.hostnameMatches).toBe(true);
  });

  it('reaches servers that accept other key exchange groups than the first one it offers', async () => {
    const anchors = [chain.root.certificatePem];
    const endpoints = [
      await startTlsServer(chain.leaf, { ecdhCurve: 'P-256' }),
      await startTlsServer(chain.leaf, { ecdhCurve: 'P-384' }),
      await startTlsServer(chain.leaf, { ecdhCurve: 'P-384', maxVersion: 'TLSv1.2' }),
    ];

    const results = await Promise.all(
      endpoints.map(({ port }) =>
        probeOne(prober, { host: '127.0.0.1', port, servername: 'api.example.test', caPem: anchors }),
      ),
    );

    expect(results.map((r) => [r.ok, r.authorized, r.protocol, r.chain.length])).toEqual([
      [true, true, 'TLSv1.3', 3],
      [true, true, 'TLSv1.3', 3],
      [true, true, 'TLSv1.2', 3],
    ]);
  });

  it('reaches a server that accepts only post-quantum key exchange, on a second fresh handshake', async () => {
    const running = await startTlsServer(chain.leaf, { ecdhCurve: 'X25519MLKEM768' });

    const result = await probeOne(prober, {
      host: '127.0.0.1',
      port: running.port,
      servername: 'api.example.test',
      caPem: [chain.root.certificatePem],
    });

    expect(result).toMatchObject({ ok: true, authorized: true, protocol: 'TLSv1.3', hostnameMatches: true });
    expect(result.chain).toHaveLength(3);
    await eventually(() => expect(running.resumed).toEqual([false]));
  });

  it('reports a server that refuses every handshake once, as a handshake failure', async () => {
    const running = await startTlsServer(chain.leaf, { ecdhCurve: 'brainpoolP256r1', maxVersion: 'TLSv1.2' });

    const result = await probeOne(prober, { host: '127.0.0.1', port: running.port });

    expect(result).toMatchObject({ ok: false, chain: [] });
    expect(result.error).toMatch(/^TLS handshake failed: .*handshake failure/);
  });

  it('presents a client certificate when given one', async () => {
    const running = await startTlsServer(chain.leaf, { requestCert: true });

    const result = await probeOne(prober, {
      host: '127.0.0.1',
      port: running.port,
      clientCertificate: { certificatePem: client.certificatePem, privateKey: client.privateKey },
    });

    expect(result.ok).toBe(true);
    await eventually(() => expect(running.clientCertificates).toEqual([fingerprint(client.certificatePem)]));
  });

  describe('failures are results, never exceptions', () => {
    it('reports a refused connection', async () => {
      const port = await closedPort();

      const result = await probeOne(prober, { host: '127.0.0.1', port });

      expect(result).toMatchObject({ ok: false, error: 'connection refused', chain: [], authorized: false });
    });

    it('gives up on a handshake that never completes and closes the connection', async () => {
      // Prepare: accepts TCP, never answers the ClientHello.
      let closed = 0;
      const silent = net.createServer((socket) => {
        socket.resume(); // read (and ignore) the ClientHello, so the client's close is noticed
        socket.on('close', () => closed++);
        socket.on('error', () => undefined);
      });
      const { port } = await track(silent, '127.0.0.1');

      // Act
      const result = await probeOne(prober, { host: '127.0.0.1', port, timeoutMs: 300 });

      // Assess
      expect(result).toMatchObject({ ok: false, error: 'timed out after 300 ms during handshake' });
      await eventually(() => expect(closed).toBe(1));
    });

    it('reports a port that does not speak TLS', async () => {
      const plain = net.createServer((socket) => {
        socket.on('error', () => undefined);
        socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'));
      });
      const { port } = await track(plain, '127.0.0.1');

      const result = await probeOne(prober, { host: '127.0.0.1', port });

      expect(result.ok).toBe(false);
      expect(result.error).toMatch(/^not TLS \(/);
    });

    it('reports a server that hangs up during the handshake', async () => {
      const rude = net.createServer((socket) => socket.destroy());
      const { port } = await track(rude, '127.0.0.1');

      const result = await probeOne(prober, { host: '127.0.0.1', port });

      expect(result.ok).toBe(false);
      expect(result.error).toMatch(/^connection (closed|reset)/);
    });

    it('reports a host name that does not resolve', async () => {
      const unresolvable = new NodeTlsProber({
        lookup: async () => {
          throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.invalid'), { code: 'ENOTFOUND' });
        },
      });

      const result = await probeOne(unresolvable, { host: 'nowhere.invalid', port: 443 });

      expect(result).toMatchObject({
        ok: false,
        address: '',
        error: 'cannot resolve host nowhere.invalid (no such host)',
      });
    });

    it('bounds a name lookup that hangs', async () => {
      const hanging = new NodeTlsProber({ lookup: () => new Promise(() => undefined) });

      const result = await probeOne(hanging, { host: 'slow.example.test', port: 443, timeoutMs: 100 });

      expect(result).toMatchObject({
        ok: false,
        error: 'cannot resolve host slow.example.test: timed out after 100 ms',
      });
    });

    it('reports a port out of range', async () => {
      const result = await probeOne(prober, { host: '127.0.0.1', port: 70000 });

      expect(result.ok).toBe(false);
      expect(result.error).toMatch(/^connect failed/);
    });

    it('reports trust anchors that are not certificates', async () => {
      const { port } = await startTlsServer(chain.leaf);

      const result = await probeOne(prober, { host: '127.0.0.1', port, caPem: ['not a certificate'] });

      expect(result.ok).toBe(false);
      expect(result.error).toMatch(/^cannot use the trust anchors/);
    });
  });
});

describe('probing many endpoints', () => {
  it('keeps request order and never exceeds the concurrency', async () => {
    // Prepare: a prober whose probes finish in scrambled order.
    let inFlight = 0;
    let maxInFlight = 0;
    const scrambled: TlsProber = {
      probe: async (request) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, (request.port * 7) % 11));
        inFlight--;
        return [
          {
            host: request.host,
            port: request.port,
            address: '',
            observedAt: '',
            ok: true,
            chain: [],
            authorized: false,
            hostnameMatches: false,
          },
        ];
      },
    };
    const requests = Array.from({ length: 40 }, (_, i) => ({ host: `h${i}`, port: i + 1 }));

    // Act
    const results = await probeMany(scrambled, requests, { concurrency: 5 });

    // Assess
    expect(results.map((r) => r[0]!.port)).toEqual(requests.map((r) => r.port));
    expect(maxInFlight).toBe(5);
  });

  it('probes real endpoints and isolates the failing ones', async () => {
    const good = await startTlsServer(await buildCertificate({ ipAddresses: ['127.0.0.1'] }));
    const refused = await closedPort();
    const prober = new NodeTlsProber();

    const results = await probeMany(
      prober,
      [
        { host: '127.0.0.1', port: good.port },
        { host: '127.0.0.1', port: refused },
        { host: '127.0.0.1', port: good.port },
      ],
      { concurrency: 2 },
    );

    expect(results.map((r) => r[0]!.ok)).toEqual([true, false, true]);
  });
});
