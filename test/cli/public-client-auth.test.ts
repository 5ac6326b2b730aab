/**
 * Client certificates from public CAs, through the built binary (dist/certrotor.js): public CAs stop
 * issuing certificates with the clientAuth EKU (Let's Encrypt from 2026-05-13, every CA in the Chrome
 * Root Store from 2027-03-15: lambda/domain/public-client-auth.ts). `upstream import-client-cert`
 * warns when the vendor's client certificate is one of them, `scan` reports it as a finding, and
 * `status` marks every such certificate — inventory included — with the date; private-CA
 * certificates with clientAuth and public ones without it are not marked.
 *
 * The "public" CAs here are minted by the test with a public CA operator's organization name (the
 * issuer organization is how certrotor recognises a public CA).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { exportPrivateKey, generateKeyPair, mintCertificate } from '../../lambda/adapters/crypto/mint';
import { createTempDirs } from '../support/temp-dir';

jest.setTimeout(60_000);

const CLI = resolve(__dirname, '..', '..', 'dist', 'certrotor.js');
const DAY = 86_400_000;
const temp = createTempDirs();

afterEach(() => temp.cleanup());

interface Minted {
  readonly certificatePem: string;
  readonly keyPem: string;
  readonly keys: CryptoKeyPair;
}

async function mint(
  subject: string,
  options: { issuer?: Minted; isCA?: boolean; eku?: ('serverAuth' | 'clientAuth')[] } = {},
): Promise<Minted> {
  const now = Date.now();
  const pair = await generateKeyPair('EC_P256');
  const certificatePem = await mintCertificate({
    subject,
    dnsNames: options.isCA ? [] : ['client.example.com'],
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + (options.isCA ? 3650 : 200) * DAY),
    subjectKeys: pair.keys,
    isCA: options.isCA ?? false,
    extendedKeyUsage: options.isCA ? [] : (options.eku ?? ['serverAuth', 'clientAuth']),
    ...(options.issuer
      ? { issuer: { certificatePem: options.issuer.certificatePem, keys: options.issuer.keys } }
      : {}),
  });
  return { certificatePem, keyPem: (await exportPrivateKey(pair)).reveal(), keys: pair.keys };
}

interface Workspace {
  readonly dir: string;
  readonly configFile: string;
  readonly files: Record<'digicert' | 'privateClient' | 'leServerOnly', string>;
}

/** Inventory: a DigiCert-named client+server certificate, a private CA's client certificate, a Let's Encrypt server-only one. */
async function workspace(options: { ledger?: boolean } = {}): Promise<Workspace> {
  const dir = await temp.make('cli-public-client-auth');
  const digicertCa = await mint('C=US, O=DigiCert Inc, CN=DigiCert Test TLS CA', { isCA: true });
  const privateCa = await mint('O=Example Corp, CN=Payments private CA', { isCA: true });
  const letsEncrypt = await mint("C=US, O=Let's Encrypt, CN=R99 test", { isCA: true });
  const files = {
    digicert: join(dir, 'digicert-client.pem'),
    privateClient: join(dir, 'private-client.pem'),
    leServerOnly: join(dir, 'le-server.pem'),
  };
  writeFileSync(files.digicert, (await mint('CN=client.example.com', { issuer: digicertCa })).certificatePem);
  writeFileSync(
    files.privateClient,
    (await mint('CN=client.example.com', { issuer: privateCa, eku: ['clientAuth'] })).certificatePem,
  );
  writeFileSync(
    files.leServerOnly,
    (await mint('CN=client.example.com', { issuer: letsEncrypt, eku: ['serverAuth'] })).certificatePem,
  );
  const configFile = join(dir, 'certrotor.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      version: 1,
      environments: [{ name: 'prod' }],
      issuers: [{ name: 'vendor', kind: 'external' }],
      hosts: [{ name: 'web-1', environment: 'prod', address: '127.0.0.1' }],
      certificates: [
        { name: 'vendor-client', commonName: 'client.example.com', usage: 'client', issuer: 'vendor' },
      ],
      upstreams: [
        {
          name: 'payments',
          endpoints: [{ host: 'pay.example.net', port: 443, environment: 'prod' }],
          clientCertificate: 'vendor-client',
          consumers: { hosts: ['web-1'] },
        },
        // A second upstream the same client certificate is presented to, never imported for it.
        ...(options.ledger
          ? [
              {
                name: 'ledger',
                endpoints: [{ host: 'ledger.example.net', port: 443, environment: 'prod' }],
                clientCertificate: 'vendor-client',
                consumers: { hosts: ['web-1'] },
              },
            ]
          : []),
      ],
      sources: [{ name: 'pems', kind: 'files', environment: 'prod', paths: Object.values(files) }],
      local: { stateDirectory: join(dir, 'state') },
    }),
  );
  return { dir, configFile, files };
}

function certrotor(
  ws: Workspace,
  ...argv: string[]
): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [CLI, ...argv, '--config', ws.configFile], {
    cwd: ws.dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((r) => child.once('exit', (code) => r({ code, out, err })));
}

async function importClientCertificate(ws: Workspace, certificate: Minted) {
  writeFileSync(join(ws.dir, 'client.pem'), certificate.certificatePem);
  writeFileSync(join(ws.dir, 'client.key'), certificate.keyPem, { mode: 0o600 });
  return certrotor(
    ws,
    'upstream',
    'import-client-cert',
    'payments',
    '--cert',
    'client.pem',
    '--key',
    'client.key',
  );
}

describe('client certificates from public CAs (built binary)', () => {
  it('warns on import, reports a finding in scan, and marks the certificates in status with their dates', async () => {
    const ws = await workspace();
    const letsEncrypt = await mint("C=US, O=Let's Encrypt, CN=R99 test", { isCA: true });
    const vendorClient = await mint('CN=client.example.com', { issuer: letsEncrypt });

    const imported = await importClientCertificate(ws, vendorClient);

    expect(imported.code).toBe(0);
    expect(imported.out).toMatch(/^imported vendor-client /);
    expect(imported.err.trim()).toBe(
      "warning: vendor-client carries clientAuth from a public CA (CN=R99 test, O=Let's Encrypt, C=US): Let's Encrypt issues no certificate with clientAuth (its default profile dropped it on 2026-02-11) from 2026-05-13 (Let's Encrypt); its renewal will not authenticate to payments as a client: ask the vendor for a certificate from a private CA",
    );
    expect(imported.out + imported.err).not.toContain('PRIVATE KEY');

    const scanned = await certrotor(ws, 'scan', '--json');
    const report = JSON.parse(scanned.out) as {
      findings: { kind: string; severity: string; message: string; details: Record<string, unknown> }[];
    };
    const sunset = report.findings.filter((f) => f.kind === 'client-auth-sunset');
    expect(sunset).toHaveLength(1);
    expect(sunset[0]).toMatchObject({
      severity: Date.now() >= Date.parse('2026-05-13') ? 'critical' : 'warning',
      details: { upstream: 'payments', authority: "Let's Encrypt", sunsetDate: '2026-05-13' },
    });
    expect(sunset[0]!.message).toMatch(
      /^vendor-client is presented to upstream payments as a client certificate and carries clientAuth from a public CA \(CN=R99 test, O=Let's Encrypt, C=US\)/,
    );
    // The same finding in the human output.
    const human = await certrotor(ws, 'scan');
    expect(human.out).toMatch(/vendor-client is presented to upstream payments as a client certificate/);

    const status = await certrotor(ws, 'status', '--json', '--wide');
    const rows = (
      JSON.parse(status.out) as {
        rows: {
          where: string;
          state: string;
          severity: string;
          clientAuthSunset?: { date: string; authority: string };
        }[];
      }
    ).rows;
    const byWhere = (where: string) => rows.find((r) => r.where === where);
    expect(byWhere('upstream payments client certificate')).toMatchObject({
      clientAuthSunset: { date: '2026-05-13', authority: "Let's Encrypt" },
      state: expect.stringMatching(
        /^presented to payments; public clientAuth: .*2026-05-13 \(Let's Encrypt\)$/,
      ),
    });
    expect(byWhere(ws.files.digicert)).toMatchObject({
      clientAuthSunset: { date: '2027-03-15', authority: 'Chrome Root Program' },
      state: expect.stringMatching(/; public clientAuth: .*2027-03-15 \(Chrome Root Program\)$/),
    });
    expect(byWhere(ws.files.privateClient)?.clientAuthSunset).toBeUndefined();
    expect(byWhere(ws.files.privateClient)?.state).not.toMatch(/clientAuth/);
    expect(byWhere(ws.files.leServerOnly)?.clientAuthSunset).toBeUndefined();

    // The fleet report marks them too.
    const page = join(ws.dir, 'report.html');
    expect((await certrotor(ws, 'report', '--out', page)).code).toBe(0);
    const html = readFileSync(page, 'utf8');
    expect(html).toContain('upstream payments client certificate');
    expect(html).toMatch(
      /public clientAuth: [^<]*2026-05-13 \(Let&#39;s Encrypt\)|public clientAuth: [^<]*2026-05-13 \(Let's Encrypt\)/,
    );
    expect(html).toMatch(/public clientAuth: [^<]*2027-03-15 \(Chrome Root Program\)/);

    const table = await certrotor(ws, 'status', '--wide');
    expect(table.out).toMatch(
      /upstream payments client certificate .* presented to payments; public clientAuth: /,
    );
  });

  it('forgets the warning once the vendor supplies a client certificate from a private CA', async () => {
    const ws = await workspace();
    const letsEncrypt = await mint("C=US, O=Let's Encrypt, CN=R99 test", { isCA: true });
    expect(
      (await importClientCertificate(ws, await mint('CN=client.example.com', { issuer: letsEncrypt }))).err,
    ).toMatch(/^warning: /);
    const vendorCa = await mint('O=Payments Vendor Ltd, CN=Payments vendor client CA', { isCA: true });

    const replaced = await importClientCertificate(
      ws,
      await mint('CN=client.example.com', { issuer: vendorCa, eku: ['clientAuth'] }),
    );

    expect(replaced).toMatchObject({ code: 0, err: '' });
    const scanned = JSON.parse((await certrotor(ws, 'scan', '--json')).out) as {
      findings: { kind: string }[];
    };
    expect(scanned.findings.filter((f) => f.kind === 'client-auth-sunset')).toEqual([]);
    const status = await certrotor(ws, 'status', '--wide');
    expect(status.out).not.toMatch(/upstream payments client certificate/);
  });

  it('checks a configured upstream client certificate never imported for that upstream, from the version certrotor holds', async () => {
    const ws = await workspace({ ledger: true });
    const digicert = await mint('C=US, O=DigiCert Inc, CN=DigiCert Test TLS CA', { isCA: true });
    expect(
      (await importClientCertificate(ws, await mint('CN=client.example.com', { issuer: digicert }))).code,
    ).toBe(0);

    const scanned = JSON.parse((await certrotor(ws, 'scan', '--json')).out) as {
      findings: { kind: string; severity: string; locations: string[]; details: Record<string, unknown> }[];
    };

    const sunset = scanned.findings.filter((f) => f.kind === 'client-auth-sunset');
    expect(sunset.map((f) => f.details.upstream).sort()).toEqual(['ledger', 'payments']);
    expect(sunset.find((f) => f.details.upstream === 'ledger')).toMatchObject({
      severity: 'warning',
      locations: ['upstream ledger client certificate'],
      details: { authority: 'Chrome Root Program', sunsetDate: '2027-03-15' },
    });
  });
});
