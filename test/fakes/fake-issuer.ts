import { X509Certificate } from 'node:crypto';
import type { CertificateFacts } from '../../lambda/domain/certificate';
import type { CertificateBundle, IssueRequest, Issuer } from '../../lambda/domain/ports';
import { buildCertificate, type BuiltCertificate } from '../builders/certificates';

/** Issues real certificates from a test CA and counts issuances (to prove retries never reissue). */
export class CountingIssuer implements Issuer {
  readonly name = 'test-ca';
  issued = 0;
  failNext?: Error;

  constructor(
    private readonly ca: BuiltCertificate,
    private readonly lifetimeDays = 90,
  ) {}

  async issue(request: IssueRequest, now: Date): Promise<CertificateBundle> {
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = undefined;
      throw error;
    }
    this.issued++;
    const built = await buildCertificate({
      dnsNames: [...request.dnsNames],
      issuer: this.ca,
      now,
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + this.lifetimeDays * 86_400_000),
    });
    return {
      name: request.name,
      version: request.version,
      certificatePem: built.certificatePem,
      chainPem: built.chainPem,
      privateKey: built.privateKey,
      facts: minimalFacts(built.certificatePem),
    };
  }
}

export function minimalFacts(pem: string): CertificateFacts {
  const cert = new X509Certificate(pem);
  return {
    fingerprintSha256: cert.fingerprint256,
    serialNumber: cert.serialNumber,
    subject: cert.subject.replace(/\n/g, ', '),
    issuer: cert.issuer.replace(/\n/g, ', '),
    subjectAltNames: [],
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    keyAlgorithm: 'EC',
    curve: 'P-256',
    isCA: false,
    selfSigned: false,
    extendedKeyUsage: ['serverAuth'],
  };
}
