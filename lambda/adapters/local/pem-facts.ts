/**
 * CertificateFacts for a PEM certificate the local adapters issued or installed, through the
 * domain's parser so that facts agree with what inspection and probes report.
 */
import { X509Certificate } from 'node:crypto';
import type { CertificateFacts } from '../../domain/certificate';
import { factsOf } from '../../domain/x509';

/** Facts of the first certificate in `pem`. Throws when it is not a certificate. */
export function factsFromPem(pem: string): CertificateFacts {
  return factsOf(new X509Certificate(pem));
}

/** SHA-256 fingerprint of the first certificate in `pem`, in the facts' format. */
export function fingerprintOfPem(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}
