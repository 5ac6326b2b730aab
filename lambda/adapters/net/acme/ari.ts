/**
 * ACME Renewal Information (RFC 9773): the certificate identifier the CA's renewalInfo resource and
 * newOrder's `replaces` take: base64url(AKI keyIdentifier) "." base64url(serial's DER content octets).
 */
import 'reflect-metadata';
import { X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';

export function ariCertId(certificatePem: string): string {
  const cert = new x509.X509Certificate(certificatePem);
  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension);
  if (!aki?.keyId) throw new Error('the certificate has no authority key identifier; ARI needs one');
  let serial = new X509Certificate(certificatePem).serialNumber.toLowerCase();
  if (serial.length % 2 === 1) serial = `0${serial}`;
  // DER INTEGER content: a leading zero octet keeps a serial with its high bit set positive.
  if (Number.parseInt(serial.slice(0, 2), 16) >= 0x80) serial = `00${serial}`;
  return `${Buffer.from(aki.keyId, 'hex').toString('base64url')}.${Buffer.from(serial, 'hex').toString('base64url')}`;
}
