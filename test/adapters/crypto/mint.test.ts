import { X509Certificate, createPrivateKey } from 'node:crypto';
import { buildChain, buildCertificate, DAY } from '../../builders/certificates';
import { createCsr, generateKeyPair } from '../../../lambda/adapters/crypto/mint';

describe('minting certificates', () => {
  it('builds a leaf that verifies against its intermediate and names its SANs', async () => {
    const { intermediate, leaf } = await buildChain({ dnsNames: ['api.internal', 'api'] });

    const cert = new X509Certificate(leaf.certificatePem);

    expect(cert.verify(new X509Certificate(intermediate.certificatePem).publicKey)).toBe(true);
    expect(cert.subjectAltName).toBe('DNS:api.internal, DNS:api');
    expect(cert.checkPrivateKey(createPrivateKey(leaf.privateKey.reveal()))).toBe(true);
  });

  it('honours explicit validity and RSA key sizes', async () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const built = await buildCertificate({ now, daysLeft: 10, keySpec: 'RSA_2048' });

    const cert = new X509Certificate(built.certificatePem);

    expect(new Date(cert.validTo).getTime()).toBe(now.getTime() + 10 * DAY);
    expect(cert.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  it('never renders the private key when serialised', async () => {
    const built = await buildCertificate();

    expect(JSON.stringify({ key: built.privateKey })).toBe('{"key":"[REDACTED]"}');
    expect(`${built.privateKey}`).toBe('[REDACTED]');
  });

  it('creates a CSR signed by the generated key', async () => {
    const pair = await generateKeyPair('EC_P256');

    const csr = await createCsr({ subject: 'CN=api.internal', dnsNames: ['api.internal'], keys: pair.keys });

    expect(csr).toContain('-----BEGIN CERTIFICATE REQUEST-----');
  });
});
