/**
 * Configured upstream client certificates (`upstreams[].clientCertificate` naming a managed
 * certificate) are checked for clientAuth from a public CA whether or not they were imported with
 * `upstream import-client-cert`: from the version certrotor rotated last (its state, in a real file
 * state store), and from every place the certificate is seen.
 */
import { join } from 'node:path';
import { generateKeyPair, mintCertificate } from '../../lambda/adapters/crypto/mint';
import { FileStateStore } from '../../lambda/adapters/local/file-state-store';
import { parseCertificates } from '../../lambda/domain/x509';
import type { CertificateFacts } from '../../lambda/domain/certificate';
import { COLLECTIONS, type CertificateState } from '../../lambda/use-cases/certificate-state';
import { clientAuthFindings } from '../../lambda/use-cases/client-auth-use';
import { useTempDirs } from '../support/temp-dir';

const DAY = 86_400_000;
const NOW = new Date('2026-12-04T00:00:00Z');
const temp = useTempDirs();

/** A client certificate (serverAuth + clientAuth) from a CA named like a public CA operator's. */
async function publicClientFacts(organization: string): Promise<CertificateFacts> {
  const ca = await generateKeyPair('EC_P256');
  const caPem = await mintCertificate({
    subject: `C=US, O=${organization}, CN=${organization} Test CA`,
    dnsNames: [],
    notBefore: new Date(NOW.getTime() - 365 * DAY),
    notAfter: new Date(NOW.getTime() + 3650 * DAY),
    subjectKeys: ca.keys,
    isCA: true,
    extendedKeyUsage: [],
  });
  const leaf = await generateKeyPair('EC_P256');
  const pem = await mintCertificate({
    subject: 'CN=client.example.com',
    dnsNames: ['client.example.com'],
    notBefore: new Date(NOW.getTime() - DAY),
    notAfter: new Date(NOW.getTime() + 200 * DAY),
    subjectKeys: leaf.keys,
    isCA: false,
    extendedKeyUsage: ['serverAuth', 'clientAuth'],
    issuer: { certificatePem: caPem, keys: ca.keys },
  });
  return parseCertificates(pem, 'client')[0]!.facts;
}

async function stateWithCurrent(name: string, facts: CertificateFacts): Promise<FileStateStore> {
  const state = new FileStateStore({ directory: join(await temp.make('client-auth-use'), 'state') });
  const record: CertificateState = {
    name,
    failedAttempts: 0,
    current: {
      version: 'v1',
      fingerprintSha256: facts.fingerprintSha256,
      notBefore: facts.notBefore,
      notAfter: facts.notAfter,
      bundle: { name, version: 'v1', location: `bundles/${name}/v1` },
      facts,
    },
  };
  await state.put(COLLECTIONS.certificates, name, record, NOW);
  return state;
}

const uses = [{ upstream: 'payments', certificate: 'payments-client', environments: ['prod'] }];

describe('configured upstream client certificates and public clientAuth', () => {
  it('finds a configured client certificate never imported, from the version certrotor rotated', async () => {
    const state = await stateWithCurrent('payments-client', await publicClientFacts('DigiCert Inc'));

    const findings = await clientAuthFindings(state, [], NOW, { clientCertificateUses: uses });

    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      kind: 'client-auth-sunset',
      severity: 'warning',
      environments: ['prod'],
      locations: ['upstream payments client certificate'],
      certificate: { name: 'payments-client' },
      details: { upstream: 'payments', authority: 'Chrome Root Program', sunsetDate: '2027-03-15' },
    });
    expect(findings[0]!.message).toMatch(/^payments-client is presented to upstream payments/);
  });

  it('says nothing of a configured client certificate from a private CA, nor without configured uses', async () => {
    const privateCa = await stateWithCurrent('payments-client', await publicClientFacts('Example Corp'));
    const publicCa = await stateWithCurrent('payments-client', await publicClientFacts('DigiCert Inc'));

    expect(await clientAuthFindings(privateCa, [], NOW, { clientCertificateUses: uses })).toEqual([]);
    expect(await clientAuthFindings(publicCa, [], NOW)).toEqual([]);
  });
});
