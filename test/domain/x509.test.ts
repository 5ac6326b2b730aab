import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { buildCa, buildCertificate, buildChain, DAY, type BuiltCertificate } from '../builders/certificates';
import { createCsr, generateKeyPair } from '../../lambda/adapters/crypto/mint';
import { InvalidInputError } from '../../lambda/domain/errors';
import { SecretKey } from '../../lambda/domain/secret';
import {
  coversName,
  describeKey,
  materialFromDer,
  normalizeIp,
  parseCertificates,
} from '../../lambda/domain/x509';
import { keyMatchesCertificate, parsePrivateKey } from '../../lambda/domain/private-keys';
import {
  validateBundle,
  type BundleCheckRequest,
  type BundleProblemCode,
} from '../../lambda/domain/bundle-check';

const NOW = new Date('2026-03-01T12:00:00Z');

function derOf(pem: string): Buffer {
  return Buffer.from(new X509Certificate(pem).raw);
}

function parseError(input: Buffer | string, name = 'input.pem'): InvalidInputError {
  try {
    parseCertificates(input, name);
  } catch (error) {
    if (error instanceof InvalidInputError) return error;
    throw error;
  }
  throw new Error('expected parseCertificates to throw');
}

describe('parsing certificates', () => {
  let chain: { root: BuiltCertificate; intermediate: BuiltCertificate; leaf: BuiltCertificate };

  beforeAll(async () => {
    chain = await buildChain({ now: NOW, dnsNames: ['api.example.test', '*.svc.example.test'] });
  });

  it('reads the facts of a leaf certificate', async () => {
    // Prepare
    const built = await buildCertificate({
      now: NOW,
      commonName: 'api.example.test',
      dnsNames: ['api.example.test'],
      ipAddresses: ['127.0.0.1', '2001:db8::1'],
      daysLeft: 30,
      lifetimeDays: 90,
      serialNumber: '0a1b2c',
    });

    // Act
    const [material] = parseCertificates(built.certificatePem, 'leaf.pem');

    // Assess
    const node = new X509Certificate(built.certificatePem);
    expect(material!.facts).toEqual({
      fingerprintSha256: node.fingerprint256,
      serialNumber: '0A1B2C',
      subject: 'O=certrotor tests, CN=api.example.test',
      issuer: 'O=certrotor tests, CN=api.example.test',
      subjectAltNames: [
        { type: 'DNS', value: 'api.example.test' },
        { type: 'IP', value: '127.0.0.1' },
        { type: 'IP', value: '2001:db8::1' },
      ],
      notBefore: new Date(NOW.getTime() + 30 * DAY - 90 * DAY).toISOString(),
      notAfter: new Date(NOW.getTime() + 30 * DAY).toISOString(),
      keyAlgorithm: 'EC',
      curve: 'P-256',
      isCA: false,
      selfSigned: true,
      extendedKeyUsage: ['serverAuth'],
    });
    expect(material!.pem).toBe(node.toString());
  });

  it.each([
    ['RSA_2048', { keyAlgorithm: 'RSA', keySize: 2048 }],
    ['EC_P384', { keyAlgorithm: 'EC', curve: 'P-384' }],
  ] as const)('Reports the key of a %s certificate', async (keySpec, expected) => {
    const built = await buildCertificate({ keySpec, now: NOW });

    const [material] = parseCertificates(built.certificatePem, 'key.pem');

    expect(material!.facts).toMatchObject(expected);
  });

  it('reads a CA as a CA and a leaf issued by it as not self-signed', () => {
    const [leaf, intermediate, root] = parseCertificates(
      chain.leaf.certificatePem + chain.leaf.chainPem,
      'full.pem',
    );

    expect(leaf!.facts).toMatchObject({ isCA: false, selfSigned: false });
    expect(intermediate!.facts).toMatchObject({ isCA: true, selfSigned: false, extendedKeyUsage: [] });
    expect(root!.facts).toMatchObject({ isCA: true, selfSigned: true });
    expect(leaf!.facts.issuer).toBe(intermediate!.facts.subject);
  });

  it.each([
    [
      'junk text around the blocks',
      (a: string, b: string) => `Bag Attributes\nfriendlyName: x\n${a}\nsome text\n${b}trailer`,
    ],
    ['CRLF line ends', (a: string, b: string) => (a + b).replace(/\n/g, '\r\n')],
    ['no final newline', (a: string, b: string) => (a + b).trimEnd()],
    ['indented lines', (a: string, b: string) => (a + b).replace(/^/gm, '   ')],
    ['no newline between blocks', (a: string, b: string) => a.trimEnd() + b],
  ])('Reads every certificate of a PEM file with %s', (_case, shape) => {
    const text = shape(chain.leaf.certificatePem, chain.intermediate.certificatePem);

    const materials = parseCertificates(text, 'bundle.pem');

    expect(materials.map((m) => m.facts.fingerprintSha256)).toEqual([
      new X509Certificate(chain.leaf.certificatePem).fingerprint256,
      new X509Certificate(chain.intermediate.certificatePem).fingerprint256,
    ]);
  });

  it('reads the same facts from a Buffer as from a string', () => {
    const fromString = parseCertificates(chain.leaf.certificatePem, 'a.pem');

    const fromBuffer = parseCertificates(Buffer.from(chain.leaf.certificatePem), 'a.pem');

    expect(fromBuffer).toEqual(fromString);
  });

  it('reads a DER certificate', () => {
    const der = derOf(chain.leaf.certificatePem);

    const [material] = parseCertificates(der, 'leaf.der');

    expect(material!.facts.fingerprintSha256).toBe(new X509Certificate(der).fingerprint256);
    expect(material!.pem).toContain('-----BEGIN CERTIFICATE-----\n');
  });

  it('reads concatenated DER certificates in order', () => {
    const der = Buffer.concat([derOf(chain.leaf.certificatePem), derOf(chain.intermediate.certificatePem)]);

    const materials = parseCertificates(der, 'chain.der');

    expect(materials.map((m) => m.facts.subject)).toEqual([
      'O=certrotor tests, CN=api.example.test',
      'O=certrotor tests, CN=certrotor test intermediate',
    ]);
  });

  it('turns handshake DER into the same material as the PEM', () => {
    const [fromPem] = parseCertificates(chain.leaf.certificatePem, 'leaf.pem');

    const fromDer = materialFromDer(derOf(chain.leaf.certificatePem));

    expect(fromDer).toEqual(fromPem);
  });

  describe('bad input', () => {
    let privateKeyPem: string;
    let csrPem: string;

    beforeAll(async () => {
      privateKeyPem = chain.leaf.privateKey.reveal();
      const pair = await generateKeyPair('EC_P256');
      csrPem = await createCsr({ subject: 'CN=x', dnsNames: ['x'], keys: pair.keys });
    });

    const cases: [string, () => Buffer | string, RegExp][] = [
      ['An empty file is refused', () => '', /^input\.pem: is empty/],
      ['A file of blank lines is refused', () => '\n  \r\n\n', /^input\.pem: is empty/],
      ['Plain text is not a certificate', () => 'hello world\n', /^input\.pem: not a certificate/],
      [
        'A PEM without its END line is truncated',
        () => chain.leaf.certificatePem.slice(0, 200),
        /^input\.pem: truncated PEM: BEGIN CERTIFICATE at line 1 has no END line$/,
      ],
      [
        'An END line without BEGIN is truncated',
        () => chain.leaf.certificatePem.slice(40),
        /^input\.pem: truncated PEM: END CERTIFICATE at line \d+ has no BEGIN line$/,
      ],
      [
        'A second certificate cut short is reported with its line',
        () => chain.leaf.certificatePem + chain.intermediate.certificatePem.slice(0, 100),
        /^input\.pem: truncated PEM: BEGIN CERTIFICATE at line \d+ has no END line$/,
      ],
      [
        'A certificate whose body is cut short does not parse',
        () => {
          const lines = chain.leaf.certificatePem.trimEnd().split('\n');
          return [...lines.slice(0, 4), lines[lines.length - 1]].join('\n');
        },
        /^input\.pem: certificate at line 1 is not a valid certificate \(.+\)$/,
      ],
      [
        'A body that is not base64 is refused',
        () => '-----BEGIN CERTIFICATE-----\nnot*base64!\n-----END CERTIFICATE-----\n',
        /^input\.pem: certificate at line 1 is not valid base64$/,
      ],
      [
        'A private key is refused without echoing it',
        () => privateKeyPem,
        /^input\.pem: contains a private key, not a certificate$/,
      ],
      [
        'A DER private key is refused without echoing it',
        () => {
          const body = privateKeyPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s/g, '');
          return Buffer.from(body, 'base64');
        },
        /^input\.pem: contains a private key, not a certificate$/,
      ],
      [
        'A CSR is refused by name',
        () => csrPem,
        /^input\.pem: not a certificate \(contains a certificate request \(CSR\)\)$/,
      ],
      [
        'A public key is refused by name',
        () =>
          generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
            type: 'spki',
            format: 'pem',
          }),
        /^input\.pem: not a certificate \(contains a public key\)$/,
      ],
      [
        'Bytes that are neither PEM nor DER are refused',
        () => Buffer.from([1, 2, 3, 4, 5]),
        /^input\.pem: not a certificate/,
      ],
      [
        'Truncated DER is refused',
        () => derOf(chain.leaf.certificatePem).subarray(0, 100),
        /^input\.pem: not a certificate \(DER is truncated or malformed\)$/,
      ],
    ];

    it.each(cases)('%s', (_name, input, message) => {
      const error = parseError(input());

      expect(error.message).toMatch(message);
      expect(error.message).not.toContain('\n');
      expect(error.message).not.toContain(privateKeyPem.split('\n')[1]!);
    });
  });
});

describe('private keys', () => {
  let built: BuiltCertificate;

  beforeAll(async () => {
    built = await buildCertificate({ now: NOW });
  });

  it('summarises an unencrypted key and keeps only the key block, wrapped', () => {
    const summary = parsePrivateKey(`junk before\n${built.privateKey.reveal()}junk after`, 'key.pem');

    expect(summary).toMatchObject({ keyAlgorithm: 'EC', curve: 'P-256' });
    expect(summary.key.reveal()).toBe(built.privateKey.reveal());
    expect(JSON.stringify(summary)).not.toContain('PRIVATE KEY');
  });

  it.each([
    [
      'An encrypted PKCS#8 key is refused with a way out',
      () =>
        generateKeyPairSync('ec', {
          namedCurve: 'P-256',
          privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' },
          publicKeyEncoding: { type: 'spki', format: 'pem' },
        }).privateKey,
      /^key\.pem: the private key is encrypted; provide it unencrypted/,
    ],
    [
      'A legacy encrypted RSA key is refused with a way out',
      () =>
        generateKeyPairSync('rsa', {
          modulusLength: 1024,
          privateKeyEncoding: { type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' },
          publicKeyEncoding: { type: 'spki', format: 'pem' },
        }).privateKey,
      /^key\.pem: the private key is encrypted/,
    ],
    ['A certificate is not a key', () => built.certificatePem, /^key\.pem: no private key found/],
    ['An empty key file is refused', () => '', /^key\.pem: is empty/],
    [
      'A cut-off key is truncated',
      () => built.privateKey.reveal().slice(0, 60),
      /^key\.pem: truncated PEM: private key block has no END line$/,
    ],
    [
      'A key whose body is garbage does not parse',
      () => '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
      /^key\.pem: the private key does not parse/,
    ],
  ])('%s', (_name, input, message) => {
    expect(() => parsePrivateKey(input(), 'key.pem')).toThrow(message);
  });

  it('tells whether a key belongs to a certificate', async () => {
    const other = await buildCertificate({ now: NOW });

    expect(keyMatchesCertificate(built.certificatePem, built.privateKey)).toBe(true);
    expect(keyMatchesCertificate(built.certificatePem, other.privateKey)).toBe(false);
    expect(keyMatchesCertificate(built.certificatePem, new SecretKey('not a key'))).toBe(false);
  });
});

describe('names', () => {
  const facts = {
    subjectAltNames: [
      { type: 'DNS', value: 'api.example.test' },
      { type: 'DNS', value: '*.svc.example.test' },
      { type: 'IP', value: '10.0.0.1' },
      { type: 'IP', value: '2001:db8::1' },
    ],
  } as const;

  it.each([
    ['An exact DNS name is covered', 'api.example.test', true],
    ['DNS names compare case-insensitively', 'API.Example.Test', true],
    ['A trailing dot is ignored', 'api.example.test.', true],
    ['A wildcard covers one label', 'a.svc.example.test', true],
    ['A wildcard does not cover two labels', 'a.b.svc.example.test', false],
    ['A wildcard does not cover its own parent', 'svc.example.test', false],
    ['A wildcard name must be present as is', '*.svc.example.test', true],
    ['A broader wildcard is not covered by a narrower one', '*.example.test', false],
    ['An IP address is covered by an IP SAN', '10.0.0.1', true],
    ['An IPv6 address compares in any notation', '2001:DB8:0:0:0:0:0:1', true],
    ['An IP address is never covered by a DNS SAN', '10.0.0.2', false],
    ['An unrelated name is not covered', 'other.example.test', false],
  ])('%s', (_name, name, covered) => {
    expect(coversName(facts, name)).toBe(covered);
  });

  it.each([
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
    ['FE80:0:0:0:1:0:0:0', 'fe80::1:0:0:0'],
    ['192.0.2.1', '192.0.2.1'],
  ])('Normalises %s to %s', (input, expected) => {
    expect(normalizeIp(input)).toBe(expected);
  });

  it.each([
    [{ keyAlgorithm: 'EC', curve: 'P-256' }, 'EC P-256'],
    [{ keyAlgorithm: 'RSA', keySize: 3072 }, 'RSA 3072'],
    [{ keyAlgorithm: 'Ed25519', curve: 'Ed25519' }, 'Ed25519'],
  ] as const)('Describes key %o as %s', (key, text) => {
    expect(describeKey(key)).toBe(text);
  });
});

describe('checking a bundle before an irreversible install', () => {
  let root: BuiltCertificate;
  let intermediate: BuiltCertificate;
  let leaf: BuiltCertificate;
  let fixtures: Record<string, BuiltCertificate>;

  beforeAll(async () => {
    ({ root, intermediate, leaf } = await buildChain({ now: NOW, dnsNames: ['api.example.test', 'api'] }));
    const issuer = intermediate;
    fixtures = {
      other: await buildCertificate({ now: NOW, issuer }),
      expired: await buildCertificate({ now: NOW, daysLeft: -1, issuer }),
      notYetValid: await buildCertificate({ now: NOW, notBefore: new Date(NOW.getTime() + DAY), issuer }),
      clientOnly: await buildCertificate({
        now: NOW,
        extendedKeyUsage: ['clientAuth'],
        dnsNames: ['api.example.test'],
        issuer,
      }),
      noEku: await buildCertificate({
        now: NOW,
        extendedKeyUsage: [],
        dnsNames: ['api.example.test'],
        issuer,
      }),
      outlivesIssuer: await buildCertificate({
        now: NOW,
        dnsNames: ['api.example.test'],
        notAfter: new Date(NOW.getTime() + 2000 * DAY),
        lifetimeDays: 2100,
        issuer,
      }),
      rsa: await buildCertificate({ now: NOW, keySpec: 'RSA_2048', dnsNames: ['api.example.test'], issuer }),
      weak: await buildCertificate({ now: NOW, keySpec: 'RSA_1024', dnsNames: ['api.example.test'], issuer }),
      expiredIntermediate: await buildCertificate({
        now: NOW,
        commonName: 'expired intermediate',
        isCA: true,
        extendedKeyUsage: [],
        daysLeft: -5,
        issuer: root,
      }),
      otherRoot: await buildCa({ now: NOW, commonName: 'some other root' }),
    };
    fixtures.underExpiredIntermediate = await buildCertificate({
      now: NOW,
      dnsNames: ['api.example.test'],
      notAfter: new Date(NOW.getTime() - 6 * DAY),
      issuer: fixtures.expiredIntermediate,
    });
  });

  function request(overrides: Partial<BundleCheckRequest> = {}): BundleCheckRequest {
    return {
      certificate: leaf.certificatePem,
      chain: intermediate.certificatePem,
      privateKey: leaf.privateKey,
      now: NOW,
      expectedNames: ['api.example.test'],
      usage: 'server',
      previousKey: { keyAlgorithm: 'EC', curve: 'P-256' },
      ...overrides,
    };
  }

  const encryptedKey = () =>
    new SecretKey(
      generateKeyPairSync('ec', {
        namedCurve: 'P-256',
        privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' },
        publicKeyEncoding: { type: 'spki', format: 'pem' },
      }).privateKey,
    );

  const cases: [string, () => Partial<BundleCheckRequest>, BundleProblemCode[]][] = [
    ['A matching, valid, complete bundle has no problems', () => ({}), []],
    [
      'A bundle whose chain ends at a given trust anchor has no problems',
      () => ({ trustAnchorsPem: [root.certificatePem] }),
      [],
    ],
    [
      'A chain including the root has no problems',
      () => ({ chain: intermediate.certificatePem + root.certificatePem }),
      [],
    ],
    [
      'A key that belongs to another certificate is a mismatch',
      () => ({ privateKey: fixtures.other!.privateKey }),
      ['key-mismatch'],
    ],
    ['An encrypted key is unusable', () => ({ privateKey: encryptedKey() }), ['private-key-unusable']],
    [
      'An expired certificate is refused',
      () => ({
        certificate: fixtures.expired!.certificatePem,
        privateKey: fixtures.expired!.privateKey,
        expectedNames: [],
      }),
      ['expired'],
    ],
    [
      'A certificate not yet valid is refused',
      () => ({
        certificate: fixtures.notYetValid!.certificatePem,
        privateKey: fixtures.notYetValid!.privateKey,
        expectedNames: [],
      }),
      ['not-yet-valid'],
    ],
    [
      'A client-only certificate cannot serve',
      () => ({
        certificate: fixtures.clientOnly!.certificatePem,
        privateKey: fixtures.clientOnly!.privateKey,
      }),
      ['wrong-usage'],
    ],
    [
      'A client-only certificate can authenticate a client',
      () => ({
        certificate: fixtures.clientOnly!.certificatePem,
        privateKey: fixtures.clientOnly!.privateKey,
        usage: 'client',
      }),
      [],
    ],
    ['A server certificate cannot authenticate a client', () => ({ usage: 'client' }), ['wrong-usage']],
    [
      'A certificate without the EKU extension serves any usage',
      () => ({
        certificate: fixtures.noEku!.certificatePem,
        privateKey: fixtures.noEku!.privateKey,
        usage: 'server-and-client',
      }),
      [],
    ],
    [
      'Expected names missing from the SANs are reported',
      () => ({ expectedNames: ['api.example.test', 'www.example.test'] }),
      ['missing-names'],
    ],
    [
      'A leaf that outlives its issuer is reported',
      () => ({
        certificate: fixtures.outlivesIssuer!.certificatePem,
        privateKey: fixtures.outlivesIssuer!.privateKey,
      }),
      ['outlives-issuer'],
    ],
    [
      'A changed key type is reported',
      () => ({ certificate: fixtures.rsa!.certificatePem, privateKey: fixtures.rsa!.privateKey }),
      ['key-type-changed'],
    ],
    [
      'An RSA key below 2048 bits is weak',
      () => ({
        certificate: fixtures.weak!.certificatePem,
        privateKey: fixtures.weak!.privateKey,
        previousKey: undefined,
      }),
      ['weak-key'],
    ],
    [
      'A chain out of order is reported and reordered',
      () => ({ chain: root.certificatePem + intermediate.certificatePem }),
      ['chain-out-of-order'],
    ],
    ['A leaf without its issuer is an incomplete chain', () => ({ chain: undefined }), ['chain-incomplete']],
    [
      'A chain that does not reach the trust anchors is incomplete',
      () => ({ trustAnchorsPem: [fixtures.otherRoot!.certificatePem] }),
      ['chain-incomplete'],
    ],
    [
      'A certificate that does not belong to the chain is reported',
      () => ({ chain: intermediate.certificatePem + fixtures.otherRoot!.certificatePem }),
      ['chain-unrelated'],
    ],
    [
      'A full chain given as the certificate is several certificates',
      () => ({ certificate: leaf.certificatePem + intermediate.certificatePem, chain: undefined }),
      ['several-certificates'],
    ],
    [
      'An expired intermediate is reported',
      () => ({
        certificate: fixtures.underExpiredIntermediate!.certificatePem,
        privateKey: fixtures.underExpiredIntermediate!.privateKey,
        chain: fixtures.expiredIntermediate!.certificatePem,
      }),
      ['expired', 'chain-expired'],
    ],
    ['A DER certificate is accepted', () => ({ certificate: derOf(leaf.certificatePem) }), []],
    [
      'An unparseable chain is reported',
      () => ({ chain: '-----BEGIN CERTIFICATE-----\nAAAA' }),
      ['unparseable'],
    ],
  ];

  it.each(cases)('%s', (_name, overrides, codes) => {
    // Act
    const check = validateBundle(request(overrides()));

    // Assess
    expect(check.problems.map((p) => p.code).sort()).toEqual([...codes].sort());
    expect(check.ok).toBe(codes.length === 0);
    for (const p of check.problems) {
      expect(p.message).not.toContain('\n');
      expect(p.message).not.toContain('PRIVATE KEY');
    }
  });

  it('returns the chain in issuance order whatever order it was given in', () => {
    const check = validateBundle(request({ chain: root.certificatePem + intermediate.certificatePem }));

    expect(check.leaf?.facts.subject).toBe('O=certrotor tests, CN=api.example.test');
    expect(check.chain.map((c) => c.facts.subject)).toEqual([
      'O=certrotor tests, CN=certrotor test intermediate',
      'O=certrotor tests, CN=certrotor test root',
    ]);
  });

  it('names the inputs in its messages', () => {
    const check = validateBundle(
      request({
        privateKey: fixtures.other!.privateKey,
        inputNames: { certificate: 'vendor.crt', privateKey: 'vendor.key' },
      }),
    );

    expect(check.problems[0]!.message).toMatch(
      /^vendor\.key: does not match vendor\.crt O=certrotor tests, CN=api\.example\.test \(EC P-256 key\)$/,
    );
  });
});
