import {
  type CertificateUse,
  type GuardFacts,
  renewalGuard,
} from '../../lambda/domain/rotation/renewal-guard';

const base: GuardFacts = {
  facts: {
    extendedKeyUsage: ['serverAuth', 'clientAuth'],
    keyAlgorithm: 'EC',
    curve: 'P-256',
    subjectAltNames: [
      { type: 'DNS', value: 'api.example.com' },
      { type: 'DNS', value: 'www.example.com' },
    ],
    notBefore: '2026-01-01T00:00:00.000Z',
    notAfter: '2026-04-01T00:00:00.000Z',
    issuer: 'CN=R10, O=Let’s Encrypt',
  },
  issuingIntermediate: 'CN=R10, O=Let’s Encrypt',
  root: 'CN=ISRG Root X1',
};

const serverOnly: CertificateUse = { presentedAsClient: [], servedNames: ['api.example.com'] };
const mtls: CertificateUse = { presentedAsClient: ['upstream vendor-api'], servedNames: ['api.example.com'] };

function next(change: Partial<GuardFacts['facts']>, chain: Partial<GuardFacts> = {}): GuardFacts {
  return { ...base, ...chain, facts: { ...base.facts, ...change } };
}

describe('renewalGuard', () => {
  it('passes an identical renewal with no changes', () => {
    expect(renewalGuard(base, next({}), mtls)).toEqual({ breaks: [], changes: [] });
  });

  it('holds a renewal that drops clientAuth while the certificate is presented as a client certificate', () => {
    const verdict = renewalGuard(base, next({ extendedKeyUsage: ['serverAuth'] }), mtls);
    expect(verdict.breaks).toEqual([
      'clientAuth is gone from the extended key usage (serverAuth) while the certificate is presented as a client certificate (upstream vendor-api)',
    ]);
    expect(verdict.changes).toEqual(['extended key usage clientAuth+serverAuth → serverAuth']);
  });

  it('only reports a dropped clientAuth when nothing presents the certificate as a client', () => {
    const verdict = renewalGuard(base, next({ extendedKeyUsage: ['serverAuth'] }), serverOnly);
    expect(verdict.breaks).toEqual([]);
    expect(verdict.changes).toHaveLength(1);
  });

  it('holds a renewal that drops a name an endpoint serves, and reports one that drops an unserved name', () => {
    const dropServed = renewalGuard(
      base,
      next({ subjectAltNames: [{ type: 'DNS', value: 'www.example.com' }] }),
      serverOnly,
    );
    expect(dropServed.breaks).toEqual(['names endpoints serve are no longer covered: api.example.com']);
    const dropOther = renewalGuard(
      base,
      next({ subjectAltNames: [{ type: 'DNS', value: 'api.example.com' }] }),
      serverOnly,
    );
    expect(dropOther).toEqual({ breaks: [], changes: ['names dropped www.example.com'] });
  });

  it('accepts a wildcard that still covers a served name', () => {
    const verdict = renewalGuard(
      base,
      next({ subjectAltNames: [{ type: 'DNS', value: '*.example.com' }] }),
      serverOnly,
    );
    expect(verdict.breaks).toEqual([]);
  });

  it('reports key, chain and validity changes without holding, and holds an untrusted new root', () => {
    const changed = next(
      { keyAlgorithm: 'RSA', curve: undefined, keySize: 2048, notAfter: '2026-02-17T00:00:00.000Z' },
      { issuingIntermediate: 'CN=YE1', root: 'CN=ISRG Root YE' },
    );
    const verdict = renewalGuard(base, changed, serverOnly);
    expect(verdict.breaks).toEqual([]);
    expect(verdict.changes).toEqual([
      'key EC P-256 → RSA 2048',
      'issuing intermediate CN=R10, O=Let’s Encrypt → CN=YE1',
      'root CN=ISRG Root X1 → CN=ISRG Root YE',
      'validity 90 → 47 days',
    ]);
    expect(renewalGuard(base, changed, { ...serverOnly, newChainTrusted: false }).breaks).toEqual([
      "the new chain (root CN=ISRG Root YE) leads to no root the endpoints' consumers trust",
    ]);
  });
});
