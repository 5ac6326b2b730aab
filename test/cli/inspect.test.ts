import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { buildChain, DAY, type BuiltCertificate } from '../builders/certificates';
import type { CliContext } from '../../lambda/cli/context';
import { runCli } from '../../lambda/cli/program';

const NOW = new Date('2026-03-01T12:00:00Z');

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string[];
}

async function certrotor(cwd: string, ...argv: string[]): Promise<Run> {
  return certrotorAt(NOW, cwd, ...argv);
}

async function certrotorAt(now: Date, cwd: string, ...argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    env: {},
    cwd,
    clock: () => now,
    exitCode: 0,
  };
  const code = await runCli(argv, ctx);
  return { code, out: out.join('\n'), err };
}

const listeners: net.Server[] = [];

async function listen(server: net.Server, host = '127.0.0.1'): Promise<number> {
  listeners.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  return (server.address() as net.AddressInfo).port;
}

function tlsServer(served: BuiltCertificate): tls.Server {
  const server = tls.createServer({
    cert: served.certificatePem + served.chainPem,
    key: served.privateKey.reveal(),
  });
  server.on('secureConnection', (socket) => socket.on('error', () => undefined));
  server.on('tlsClientError', () => undefined);
  return server;
}

function fingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

describe('certrotor inspect', () => {
  let dir: string;
  let chain: { root: BuiltCertificate; intermediate: BuiltCertificate; leaf: BuiltCertificate };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certrotor-inspect-'));
    chain = await buildChain({ now: NOW, dnsNames: ['api.example.test'], daysLeft: 20 });
    writeFileSync(
      join(dir, 'fullchain.pem'),
      `subject=whatever\n${chain.leaf.certificatePem}${chain.leaf.chainPem}`,
    );
    writeFileSync(join(dir, 'leaf.der'), new X509Certificate(chain.leaf.certificatePem).raw);
    writeFileSync(join(dir, 'root.pem'), chain.root.certificatePem);
    writeFileSync(join(dir, 'key.pem'), chain.leaf.privateKey.reveal());
    writeFileSync(join(dir, 'empty.pem'), '');
    writeFileSync(join(dir, 'truncated.pem'), chain.leaf.certificatePem.slice(0, 300));
    writeFileSync(join(dir, 'notes.txt'), 'this is not a certificate\n');
    mkdirSync(join(dir, 'a-directory'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  afterEach(async () => {
    await Promise.all(
      listeners.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
  });

  describe('files', () => {
    it('prints every certificate of a PEM file in its JSON document, with days left from the clock', async () => {
      // Act
      const run = await certrotor(dir, 'inspect', 'fullchain.pem', '--json');

      // Assess
      expect(run).toMatchObject({ code: 0, err: [] });
      const reports = (JSON.parse(run.out) as { certificates: Record<string, unknown>[] }).certificates;
      expect(reports).toHaveLength(3);
      expect(reports[0]).toEqual({
        fingerprintSha256: fingerprint(chain.leaf.certificatePem),
        serialNumber: expect.stringMatching(/^[0-9A-F]+$/),
        subject: 'O=certrotor tests, CN=api.example.test',
        issuer: 'O=certrotor tests, CN=certrotor test intermediate',
        subjectAltNames: [{ type: 'DNS', value: 'api.example.test' }],
        notBefore: expect.any(String),
        notAfter: new Date(NOW.getTime() + 20 * DAY).toISOString(),
        daysLeft: 20,
        keyAlgorithm: 'EC',
        curve: 'P-256',
        isCA: false,
        selfSigned: false,
        extendedKeyUsage: ['serverAuth'],
      });
      expect(reports.map((r) => r.isCA)).toEqual([false, true, true]);
    });

    it('reads a DER file', async () => {
      const run = await certrotor(dir, 'inspect', join(dir, 'leaf.der'), '--json');

      expect(run.code).toBe(0);
      expect(
        (JSON.parse(run.out) as { certificates: { fingerprintSha256: string }[] }).certificates[0]!
          .fingerprintSha256,
      ).toBe(fingerprint(chain.leaf.certificatePem));
    });

    it('prints a readable table without --json', async () => {
      const run = await certrotor(dir, 'inspect', 'fullchain.pem');

      expect(run.code).toBe(0);
      const lines = run.out.split('\n');
      expect(lines[0]).toBe('fullchain.pem: 3 certificates');
      expect(lines[1]).toBe('  [0] O=certrotor tests, CN=api.example.test');
      expect(run.out).toContain('    names    DNS:api.example.test');
      expect(run.out).toContain('(20 days left)');
      // Text shows the one short format; --json carries the whole fingerprint.
      expect(run.out).toContain(
        `    sha256   ${fingerprint(chain.leaf.certificatePem).replace(/:/g, '').slice(0, 12)}\n`,
      );
      expect(run.out).toContain('    key      EC P-256');
    });

    it.each([
      ['A missing file', 'missing.pem', /^certrotor: missing\.pem: no such file$/],
      ['An empty file', 'empty.pem', /^certrotor: empty\.pem: is empty/],
      [
        'A truncated PEM',
        'truncated.pem',
        /^certrotor: truncated\.pem: truncated PEM: BEGIN CERTIFICATE at line 1 has no END line$/,
      ],
      ['A text file', 'notes.txt', /^certrotor: notes\.txt: not a certificate/],
      ['A private key', 'key.pem', /^certrotor: key\.pem: contains a private key, not a certificate$/],
      ['A directory', 'a-directory', /^certrotor: a-directory: is a directory/],
    ])('%s fails with one line naming it', async (_name, file, message) => {
      const run = await certrotor(dir, 'inspect', file, '--json');

      expect(run.code).not.toBe(0);
      expect(run.out).toBe('');
      expect(run.err).toHaveLength(1);
      expect(run.err[0]).toMatch(message);
      expect(run.err[0]).not.toContain(chain.leaf.privateKey.reveal().split('\n')[1]!);
    });

    it('refuses endpoint options for a file', async () => {
      const run = await certrotor(dir, 'inspect', 'fullchain.pem', '--servername', 'x.test');

      expect(run.code).not.toBe(0);
      expect(run.err).toEqual([
        'certrotor: --servername: applies to host:port targets only, not to the file fullchain.pem',
      ]);
    });
  });

  describe('endpoints', () => {
    // TLS verification reads the real clock, so served certificates are built around it.
    const realNow = new Date(Math.floor(Date.now() / 1000) * 1000); // certificates keep whole seconds
    let served: typeof chain;

    beforeAll(async () => {
      served = await buildChain({ now: realNow, dnsNames: ['api.example.test'], daysLeft: 20 });
      writeFileSync(join(dir, 'served-root.pem'), served.root.certificatePem);
    });

    it('prints the served chain with the TLS version, verification and hostname match', async () => {
      // Prepare
      const port = await listen(tlsServer(served.leaf));

      // Act
      const run = await certrotorAt(
        realNow,
        dir,
        'inspect',
        `127.0.0.1:${port}`,
        '--servername',
        'api.example.test',
        '--ca-file',
        'served-root.pem',
        '--json',
      );

      // Assess
      expect(run).toMatchObject({ code: 0, err: [] });
      const reports = (JSON.parse(run.out) as { certificates: Record<string, unknown>[] }).certificates;
      expect(reports.map((r) => [r.position, r.fingerprintSha256])).toEqual([
        [0, fingerprint(served.leaf.certificatePem)],
        [1, fingerprint(served.intermediate.certificatePem)],
        [2, fingerprint(served.root.certificatePem)],
      ]);
      expect(reports[0]).toMatchObject({
        endpoint: `127.0.0.1:${port}`,
        address: '127.0.0.1',
        servername: 'api.example.test',
        tlsVersion: 'TLSv1.3',
        chainVerified: true,
        hostnameMatches: true,
        daysLeft: 20,
        subject: 'O=certrotor tests, CN=api.example.test',
      });
    });

    it('reports a chain the system store does not trust and a name the certificate does not cover', async () => {
      const port = await listen(tlsServer(served.leaf));

      const run = await certrotorAt(
        realNow,
        dir,
        'inspect',
        `127.0.0.1:${port}`,
        '--servername',
        'www.example.test',
      );

      expect(run.code).toBe(0);
      expect(run.out).toContain(`127.0.0.1:${port} (127.0.0.1, SNI www.example.test) TLSv1.3`);
      expect(run.out).toContain('  chain verified  no (self-signed certificate in certificate chain)');
      expect(run.out).toContain('  hostname match  no');
      expect(run.out).toContain('  [0] O=certrotor tests, CN=api.example.test');
    });

    it('reads a bracketed IPv6 endpoint', async () => {
      const port = await listen(tlsServer(served.leaf), '::1');

      const run = await certrotorAt(realNow, dir, 'inspect', `[::1]:${port}`, '--json');

      expect(run).toMatchObject({ code: 0, err: [] });
      expect((JSON.parse(run.out) as { certificates: { address: string }[] }).certificates[0]!.address).toBe(
        '::1',
      );
    });

    it('fails with one line for a refused port', async () => {
      const closed = net.createServer();
      const port = await listen(closed);
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      listeners.splice(listeners.indexOf(closed), 1);

      const run = await certrotorAt(realNow, dir, 'inspect', `127.0.0.1:${port}`, '--json');

      expect(run.code).not.toBe(0);
      expect(run.out).toBe('');
      expect(run.err).toEqual([`certrotor: inspect 127.0.0.1:${port}: connection refused`]);
    });

    it('fails with one line for a port that does not speak TLS', async () => {
      const port = await listen(
        net.createServer((socket) => {
          socket.on('error', () => undefined);
          socket.once('data', () => socket.end('SSH-2.0-OpenSSH_9.6\r\n'));
        }),
      );

      const run = await certrotorAt(realNow, dir, 'inspect', `127.0.0.1:${port}`);

      expect(run.code).not.toBe(0);
      expect(run.err).toHaveLength(1);
      expect(run.err[0]).toMatch(new RegExp(`^certrotor: inspect 127\\.0\\.0\\.1:${port}: not TLS \\(`));
    });

    it('fails with one line when the handshake hangs past the timeout', async () => {
      const port = await listen(net.createServer((socket) => socket.resume()));

      const run = await certrotorAt(realNow, dir, 'inspect', `127.0.0.1:${port}`, '--timeout', '200ms');

      expect(run.code).not.toBe(0);
      expect(run.err).toEqual([
        `certrotor: inspect 127.0.0.1:${port}: timed out after 200 ms during handshake`,
      ]);
    });

    it('still reads a bare --timeout number as milliseconds, with a note saying to write a unit', async () => {
      const port = await listen(net.createServer((socket) => socket.resume()));

      const run = await certrotorAt(realNow, dir, 'inspect', `127.0.0.1:${port}`, '--timeout', '200');

      expect(run.code).not.toBe(0);
      expect(run.err).toEqual([
        'certrotor: --timeout 200: a bare number is read as milliseconds; write 200ms (or 5s) — bare numbers will be refused in a later version',
        `certrotor: inspect 127.0.0.1:${port}: timed out after 200 ms during handshake`,
      ]);
    });

    it('fails with one line for a host that does not resolve', async () => {
      const run = await certrotorAt(realNow, dir, 'inspect', 'nowhere.invalid:443', '--timeout', '3s');

      expect(run.code).not.toBe(0);
      expect(run.err).toHaveLength(1);
      expect(run.err[0]).toMatch(
        /^certrotor: inspect nowhere\.invalid:443: cannot resolve host nowhere\.invalid/,
      );
    });

    it.each([
      [
        'A timeout that is not a number',
        ['127.0.0.1:443', '--timeout', 'soon'],
        /^certrotor: --timeout: "soon" is not a duration/,
      ],
      ['A zero timeout', ['127.0.0.1:443', '--timeout', '0s'], /^certrotor: --timeout: must be more than 0/],
      ['A port out of range', ['127.0.0.1:70000'], /^certrotor: 127\.0\.0\.1:70000: port must be 1-65535$/],
    ])('%s is refused', async (_name, args, message) => {
      const run = await certrotorAt(realNow, dir, 'inspect', ...args);

      expect(run.code).not.toBe(0);
      expect(run.err[0]).toMatch(message);
    });
  });
});
