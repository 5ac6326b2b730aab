import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { FileBundleStore } from '../../../lambda/adapters/local/file-bundle-store';
import { LocalCaIssuer } from '../../../lambda/adapters/local/local-ca-issuer';
import { DAY_MS } from '../../../lambda/domain/certificate';
import { InvalidInputError } from '../../../lambda/domain/errors';
import type { IssueRequest } from '../../../lambda/domain/ports';
import { useTempDirs } from '../../support/temp-dir';

const temp = useTempDirs();
const now = new Date('2026-03-01T12:00:00.000Z');
const MINUTE = 60_000;

function request(overrides: Partial<IssueRequest> = {}): IssueRequest {
  return {
    name: 'api-internal',
    version: '20260301T120000Z',
    commonName: 'api.internal',
    dnsNames: ['api.internal', 'api'],
    keySpec: 'EC_P256',
    usage: 'server',
    validityDays: 90,
    idempotencyKey: `rotation-${Math.random().toString(36).slice(2)}`,
    ...overrides,
  };
}

async function issuerInNewDir(options: { caValidityDays?: number; backdateMinutes?: number } = {}) {
  const directory = join(await temp.make('ca'), 'ca');
  return new LocalCaIssuer({ directory, clock: () => now, ...options });
}

describe('local CA issuer', () => {
  it('creates its CA on first use: EC P-256, ten years, key 0600 in a 0700 directory', async () => {
    const issuer = await issuerInNewDir();

    const ca = await issuer.caCertificate();

    expect(ca.facts).toMatchObject({ isCA: true, selfSigned: true, keyAlgorithm: 'EC', curve: 'P-256' });
    expect(Date.parse(ca.facts.notAfter) - now.getTime()).toBe(3650 * DAY_MS);
    expect((await stat(issuer.directory)).mode & 0o777).toBe(0o700);
    expect((await stat(join(issuer.directory, 'ca.key.pem'))).mode & 0o777).toBe(0o600);
    expect(await readdir(issuer.directory)).toEqual(['ca.key.pem', 'ca.pem']);
  });

  it('reads an existing CA without creating one, so a scan never brings a CA into being', async () => {
    const issuer = await issuerInNewDir();

    const before = await issuer.existingCaCertificate();
    const created = await issuer.caCertificate();
    const after = await new LocalCaIssuer({ directory: issuer.directory }).existingCaCertificate();

    expect(before).toBeUndefined();
    expect(after?.facts).toMatchObject({ isCA: true, fingerprintSha256: created.facts.fingerprintSha256 });
    expect(after?.pem).toBe(created.pem);
  });

  it('creates no directory when asked for a CA that does not exist', async () => {
    const issuer = await issuerInNewDir();

    await issuer.existingCaCertificate();

    await expect(stat(issuer.directory)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('reuses the CA it created, also from another issuer on the same directory', async () => {
    const first = await issuerInNewDir();
    const caBefore = await first.caCertificate();
    await first.issue(request(), now);

    const second = new LocalCaIssuer({ directory: first.directory });
    const bundle = await second.issue(request({ version: 'v2' }), new Date(now.getTime() + 30 * DAY_MS));

    expect((await second.caCertificate()).facts.fingerprintSha256).toBe(caBefore.facts.fingerprintSha256);
    expect(bundle.facts.issuer).toBe(caBefore.facts.subject);
  });

  it('lets concurrent first uses agree on one CA', async () => {
    const directory = join(await temp.make('ca'), 'ca');
    const issuers = [1, 2, 3].map(() => new LocalCaIssuer({ directory, clock: () => now }));

    const cas = await Promise.all(issuers.map((i) => i.caCertificate()));

    expect(new Set(cas.map((c) => c.facts.fingerprintSha256)).size).toBe(1);
  });

  it('issues a leaf for the requested names that verifies against the CA and matches its key', async () => {
    const issuer = await issuerInNewDir();

    const bundle = await issuer.issue(request(), now);

    const leaf = new X509Certificate(bundle.certificatePem);
    const ca = new X509Certificate((await issuer.caCertificate()).pem);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkPrivateKey(createPrivateKey(bundle.privateKey.reveal()))).toBe(true);
    expect(leaf.subjectAltName).toBe('DNS:api.internal, DNS:api');
    expect(bundle.chainPem).toBe(ca.toString());
    expect(bundle.facts).toMatchObject({
      subject: 'CN=api.internal',
      isCA: false,
      keyAlgorithm: 'EC',
      curve: 'P-256',
      extendedKeyUsage: ['serverAuth'],
    });
    expect(bundle).toMatchObject({ name: 'api-internal', version: '20260301T120000Z' });
  });

  it('adds the common name to the DNS names when it is a host name not already listed', async () => {
    const issuer = await issuerInNewDir();

    const bundle = await issuer.issue(
      request({ commonName: 'www.internal', dnsNames: ['alt.internal'] }),
      now,
    );

    expect(bundle.facts.subjectAltNames).toEqual([
      { type: 'DNS', value: 'www.internal' },
      { type: 'DNS', value: 'alt.internal' },
    ]);
  });

  it('includes requested IP addresses', async () => {
    const issuer = await issuerInNewDir();

    const bundle = await issuer.issue(request({ ipAddresses: ['127.0.0.1'] }), now);

    expect(bundle.facts.subjectAltNames).toContainEqual({ type: 'IP', value: '127.0.0.1' });
  });

  it.each([
    ['RSA 2048 keys', 'RSA_2048' as const, { keyAlgorithm: 'RSA', keySize: 2048 }],
    ['RSA 3072 keys', 'RSA_3072' as const, { keyAlgorithm: 'RSA', keySize: 3072 }],
    ['EC P-384 keys', 'EC_P384' as const, { keyAlgorithm: 'EC', curve: 'P-384' }],
  ])('issues %s when asked', async (_case, keySpec, expected) => {
    const issuer = await issuerInNewDir();

    const bundle = await issuer.issue(request({ keySpec }), now);

    expect(bundle.facts).toMatchObject(expected);
    expect(
      new X509Certificate(bundle.certificatePem).checkPrivateKey(
        createPrivateKey(bundle.privateKey.reveal()),
      ),
    ).toBe(true);
  });

  it.each([
    ['a server certificate has serverAuth', 'server' as const, ['serverAuth']],
    ['a client certificate has clientAuth', 'client' as const, ['clientAuth']],
    ['a dual-use certificate has both', 'server-and-client' as const, ['serverAuth', 'clientAuth']],
  ])('extended key usage: %s', async (_case, usage, expected) => {
    const issuer = await issuerInNewDir();

    const bundle = await issuer.issue(request({ usage }), now);

    expect(bundle.facts.extendedKeyUsage).toEqual(expected);
  });

  it('back-dates the start by five minutes by default and ends after the requested lifetime', async () => {
    const issuer = await issuerInNewDir();

    const bundle = await issuer.issue(request({ validityDays: 30 }), now);

    expect(bundle.facts.notBefore).toBe(new Date(now.getTime() - 5 * MINUTE).toISOString());
    expect(bundle.facts.notAfter).toBe(new Date(now.getTime() + 30 * DAY_MS).toISOString());
  });

  it('back-dates by the configured number of minutes', async () => {
    const issuer = await issuerInNewDir({ backdateMinutes: 60 });

    const bundle = await issuer.issue(request(), now);

    expect(bundle.facts.notBefore).toBe(new Date(now.getTime() - 60 * MINUTE).toISOString());
  });

  it('never issues a certificate that outlives its CA', async () => {
    const issuer = await issuerInNewDir({ caValidityDays: 20 });
    const ca = await issuer.caCertificate();

    const bundle = await issuer.issue(request({ validityDays: 90 }), new Date(now.getTime() + 5 * DAY_MS));

    expect(bundle.facts.notAfter).toBe(ca.facts.notAfter);
  });

  it('refuses to issue once its CA has expired, naming the CA file', async () => {
    const issuer = await issuerInNewDir({ caValidityDays: 10 });
    await issuer.caCertificate();

    const issue = issuer.issue(request(), new Date(now.getTime() + 11 * DAY_MS));

    await expect(issue).rejects.toThrow(`local CA ${join(issuer.directory, 'ca.pem')} expired at`);
  });

  it('returns the stored certificate, not a new one, when the same idempotency key is issued again', async () => {
    const issuer = await issuerInNewDir();
    const req = request();
    const first = await issuer.issue(req, now);

    const retried = await new LocalCaIssuer({ directory: issuer.directory }).issue(
      req,
      new Date(now.getTime() + MINUTE),
    );
    const other = await issuer.issue(request({ version: 'v2' }), now);

    expect(retried.certificatePem).toBe(first.certificatePem);
    expect(retried.privateKey.reveal()).toBe(first.privateKey.reveal());
    expect(other.facts.fingerprintSha256).not.toBe(first.facts.fingerprintSha256);
  });

  it('mints one certificate for concurrent issues with the same idempotency key', async () => {
    const issuer = await issuerInNewDir();
    const req = request();

    const bundles = await Promise.all([
      issuer.issue(req, now),
      issuer.issue(req, now),
      issuer.issue(req, now),
    ]);

    expect(new Set(bundles.map((b) => b.facts.fingerprintSha256)).size).toBe(1);
  });

  it('keeps issuance records 0600 without the leaf key, which is only in the key store it is given', async () => {
    const root = await temp.make('ca');
    const keyStore = new FileBundleStore({ directory: join(root, 'bundles') });
    const issuer = new LocalCaIssuer({ directory: join(root, 'ca'), clock: () => now, keyStore });

    const bundle = await issuer.issue(request({ idempotencyKey: 'rotation/api/1' }), now);

    const records = await readdir(join(issuer.directory, 'issued'));
    expect(records).toEqual(['rotation%2Fapi%2F1.json']);
    const recordPath = join(issuer.directory, 'issued', records[0]!);
    expect((await stat(recordPath)).mode & 0o777).toBe(0o600);
    const key = bundle.privateKey.reveal();
    const holders = (await filesUnder(root)).filter((f) => readFileSync(f, 'utf8').includes(key.trim()));
    expect(holders.map((f) => relative(root, f))).toEqual([
      join('bundles', 'api-internal', bundle.version, 'key.pem'),
    ]);
    const again = await new LocalCaIssuer({ directory: join(root, 'ca'), keyStore }).issue(
      request({ idempotencyKey: 'rotation/api/1' }),
      now,
    );
    expect(again.privateKey.reveal()).toBe(key);
  });

  it('moves the leaf key of a record written by an older version into the key store', async () => {
    const issuer = await issuerInNewDir();
    const req = request({ idempotencyKey: 'old-record' });
    const first = await issuer.issue(req, now);
    const recordPath = join(issuer.directory, 'issued', 'old-record.json');
    const { bundle: _ref, ...rest } = JSON.parse(readFileSync(recordPath, 'utf8')) as Record<string, unknown>;
    await rm(join(issuer.directory, 'keys'), { recursive: true });
    writeFileSync(recordPath, JSON.stringify({ ...rest, privateKeyPem: first.privateKey.reveal() }));

    const retried = await new LocalCaIssuer({ directory: issuer.directory }).issue(req, now);

    expect(retried.privateKey.reveal()).toBe(first.privateKey.reveal());
    expect(readFileSync(recordPath, 'utf8')).not.toContain('PRIVATE KEY');
  });

  it('moves the leaf keys of every older record into the key store on its next issue of anything', async () => {
    const issuer = await issuerInNewDir();
    const first = await issuer.issue(request({ idempotencyKey: 'older', version: 'v1' }), now);
    const recordPath = join(issuer.directory, 'issued', 'older.json');
    const { bundle: _ref, ...rest } = JSON.parse(readFileSync(recordPath, 'utf8')) as Record<string, unknown>;
    await rm(join(issuer.directory, 'keys'), { recursive: true });
    writeFileSync(recordPath, JSON.stringify({ ...rest, privateKeyPem: first.privateKey.reveal() }));

    await new LocalCaIssuer({ directory: issuer.directory }).issue(request({ version: 'v2' }), now);

    expect(readFileSync(recordPath, 'utf8')).not.toContain('PRIVATE KEY');
    const stored = await new FileBundleStore({ directory: join(issuer.directory, 'keys') }).get({
      name: 'api-internal',
      version: 'v1',
      location: '',
    });
    expect(stored.privateKey.reveal()).toBe(first.privateKey.reveal());
  });

  it('refuses an idempotency key reused for another certificate', async () => {
    const issuer = await issuerInNewDir();
    await issuer.issue(request({ idempotencyKey: 'k1' }), now);

    const reuse = issuer.issue(request({ idempotencyKey: 'k1', name: 'other-cert' }), now);

    await expect(reuse).rejects.toBeInstanceOf(InvalidInputError);
    await expect(reuse).rejects.toThrow('idempotency key k1 was already used for api-internal@');
  });

  it.each([
    ['a zero lifetime', { validityDays: 0 }, 'validityDays must be a positive number'],
    ['no names at all', { commonName: '', dnsNames: [] }, 'needs a common name or at least one DNS name'],
    ['an empty idempotency key', { idempotencyKey: '' }, 'idempotencyKey must not be empty'],
  ])('rejects a request with %s', async (_case, overrides, message) => {
    const issuer = await issuerInNewDir();

    await expect(issuer.issue(request(overrides), now)).rejects.toThrow(message);
  });

  it('never shows the leaf key when the bundle is serialised', async () => {
    const issuer = await issuerInNewDir();

    const bundle = await issuer.issue(request(), now);

    expect(JSON.stringify(bundle)).not.toContain('PRIVATE KEY');
  });
});

/** Every regular file under `dir`, absolute. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}
