import {
  CLIENT_AUTH_SUNSETS,
  clientAuthMark,
  clientAuthSunsetFinding,
  issuedByPublicCa,
  issuerOrganization,
  publicClientAuthSunset,
} from '../../lambda/domain/public-client-auth';

const facts = (issuer: string, extendedKeyUsage: string[] = ['serverAuth', 'clientAuth'], isCA = false) => ({
  issuer,
  extendedKeyUsage,
  isCA,
});

describe('public CAs and the clientAuth EKU', () => {
  it('keeps its dated table earliest first: Let’s Encrypt 2026-05-13, the Chrome Root Program 2027-03-15', () => {
    expect(CLIENT_AUTH_SUNSETS.map((r) => [r.authority, r.date])).toEqual([
      ["Let's Encrypt", '2026-05-13'],
      ['Chrome Root Program', '2027-03-15'],
    ]);
  });

  it('reads the issuing organization, escaped commas included', () => {
    expect(issuerOrganization({ issuer: "CN=R10, O=Let's Encrypt, C=US" })).toBe("Let's Encrypt");
    expect(
      issuerOrganization({ issuer: 'CN=Go Daddy Secure CA - G2, OU=x, O=GoDaddy.com\\, Inc., C=US' }),
    ).toBe('GoDaddy.com, Inc.');
    expect(issuerOrganization({ issuer: 'CN=certrotor local CA' })).toBeUndefined();
    expect(
      issuedByPublicCa({ issuer: 'CN=DigiCert Global G2 TLS RSA SHA256 2020 CA1, O=DigiCert Inc, C=US' }),
    ).toBe(true);
    expect(issuedByPublicCa({ issuer: 'CN=Payments private CA, O=Example Corp' })).toBe(false);
  });

  it("marks a Let's Encrypt certificate with clientAuth with Let's Encrypt's date, any other public CA's with Chrome's", () => {
    expect(publicClientAuthSunset(facts("CN=R10, O=Let's Encrypt, C=US"))?.date).toBe('2026-05-13');
    expect(publicClientAuthSunset(facts('CN=Sectigo RSA DV, O=Sectigo Limited, C=GB'))).toMatchObject({
      date: '2027-03-15',
      authority: 'Chrome Root Program',
    });
  });

  it('does not mark a certificate without clientAuth, a CA certificate, or one from a private CA', () => {
    expect(publicClientAuthSunset(facts("CN=R10, O=Let's Encrypt", ['serverAuth']))).toBeUndefined();
    expect(publicClientAuthSunset(facts("CN=R10, O=Let's Encrypt", [], true))).toBeUndefined();
    expect(publicClientAuthSunset(facts('CN=certrotor local CA'))).toBeUndefined();
    // The caller knows better: an ACME issuer's certificates are public, a local CA's are not.
    expect(publicClientAuthSunset(facts('CN=Pebble Intermediate CA 1a2b3c'), { publicCa: true })?.date).toBe(
      '2027-03-15',
    );
    expect(publicClientAuthSunset(facts("CN=R10, O=Let's Encrypt"), { publicCa: false })).toBeUndefined();
  });

  it('says "until" before the date and "since" from it on', () => {
    const sunset = publicClientAuthSunset(facts("CN=R10, O=Let's Encrypt"))!;
    expect(clientAuthMark(sunset, new Date('2026-05-12T23:59:59Z'))).toBe(
      "public clientAuth: renewable with clientAuth until 2026-05-13 (Let's Encrypt)",
    );
    expect(clientAuthMark(sunset, new Date('2026-05-13T00:00:00Z'))).toBe(
      "public clientAuth: no longer renewable with clientAuth since 2026-05-13 (Let's Encrypt)",
    );
  });

  it('makes a warning of a client certificate presented to an upstream, critical from the date on', () => {
    const use = {
      upstream: 'payments',
      certificate: 'vendor-client',
      environments: ['prod'],
      location: 'upstream payments client certificate',
      facts: {
        ...facts("CN=R10, O=Let's Encrypt, C=US"),
        fingerprintSha256: 'AB:CD',
        subject: 'CN=client.example.com',
        serialNumber: '01',
        notAfter: '2026-08-01T00:00:00.000Z',
      },
    };
    const before = clientAuthSunsetFinding(use, new Date('2026-03-01T00:00:00Z'));
    expect(before).toMatchObject({
      kind: 'client-auth-sunset',
      severity: 'warning',
      dedupeKey: 'client-auth-sunset:payments:ABCD:warning',
      details: { upstream: 'payments', sunsetDate: '2026-05-13' },
    });
    // Critical from the date on, under a key of its own: people hear of it once more.
    expect(clientAuthSunsetFinding(use, new Date('2026-06-01T00:00:00Z'))).toMatchObject({
      severity: 'critical',
      dedupeKey: 'client-auth-sunset:payments:ABCD:critical',
    });
    expect(
      clientAuthSunsetFinding(
        { ...use, facts: { ...use.facts, issuer: 'CN=Vendor CA, O=Vendor' } },
        new Date(),
      ),
    ).toBeUndefined();
  });
});
