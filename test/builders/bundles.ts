/**
 * CertificateBundle builder: a real leaf (EC P-256 unless asked) issued by a test CA, with facts,
 * for destination and bundle-store tests.
 */
import type { CertificateBundle } from '../../lambda/domain/ports';
import { factsFromPem } from '../../lambda/adapters/local/pem-facts';
import { type BuiltCertificate, buildCa, buildCertificate, type CertificateOptions } from './certificates';

export interface BundleOptions extends Omit<CertificateOptions, 'issuer'> {
  name?: string;
  version?: string;
  /** Issuing CA; a fresh test root when absent. */
  issuer?: BuiltCertificate;
}

export async function buildBundle(options: BundleOptions = {}): Promise<CertificateBundle> {
  const { name = 'api-internal', version = 'v1', issuer, ...certificate } = options;
  const ca = issuer ?? (await buildCa());
  const leaf = await buildCertificate({
    dnsNames: ['api.internal'],
    ...certificate,
    issuer: ca,
  });
  return {
    name,
    version,
    certificatePem: leaf.certificatePem,
    chainPem: leaf.chainPem,
    privateKey: leaf.privateKey,
    facts: factsFromPem(leaf.certificatePem),
  };
}

/** Several versions of one managed certificate from one CA, oldest first. */
export async function buildBundleVersions(
  count: number,
  options: Omit<BundleOptions, 'version'> = {},
): Promise<CertificateBundle[]> {
  const issuer = options.issuer ?? (await buildCa());
  const bundles: CertificateBundle[] = [];
  for (let i = 1; i <= count; i++) bundles.push(await buildBundle({ ...options, issuer, version: `v${i}` }));
  return bundles;
}
