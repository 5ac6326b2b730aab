/**
 * The issuers' own CA certificates as inventory. A CA that expires takes every certificate it signed
 * with it, and AWS sends no event for an ACM PCA CA nearing expiry: so each issuer's CA certificate
 * becomes an inventory item, and the ordinary evaluation raises Certificate Expiring / Expired for it
 * with the same thresholds, deduplication and routing as any certificate.
 *
 * Primary course: read each issuer's CA certificate → one item per environment the issuer signs for
 * (the same certificate in several environments is grouped into one finding, routed to each) →
 * nothing for a CA that does not exist yet. Each issuer is its own source, so one issuer whose CA
 * cannot be read is one failure in the scan report and the others are still read.
 */
import type { CaCertificateReader } from '../domain/ports';
import type { CertificateSource, InventoryItem } from '../domain/ports';

/** InventoryItem.source of every CA item. */
export const ISSUER_SOURCE = 'issuer';

/** One certificate source per issuer; `environmentsOf` names where each issuer's certificates live. */
export function issuerCaSources(
  readers: readonly CaCertificateReader[],
  environmentsOf: (issuer: string) => readonly string[],
): CertificateSource[] {
  return readers.map((reader) => ({
    name: `${ISSUER_SOURCE}:${reader.issuer}`,
    async discover(): Promise<InventoryItem[]> {
      const ca = await reader.read();
      if (ca === undefined) return [];
      return environmentsOf(reader.issuer).map((environment) => ({
        id: reader.location,
        source: ISSUER_SOURCE,
        environment,
        location: reader.location,
        facts: ca.facts,
      }));
    },
  }));
}

/** What `issuerEnvironments` needs of a managed certificate. */
export interface IssuedSpec {
  readonly issuer: string;
  readonly environments: readonly string[];
}

/**
 * The environments an issuer signs for: those of the certificates naming it, in their order; an
 * issuer no certificate names yet is watched in `fallback` (the first configured environment).
 */
export function issuerEnvironments(
  specs: readonly IssuedSpec[],
  fallback: string,
): (issuer: string) => string[] {
  return (issuer) => {
    const environments = new Set(specs.filter((s) => s.issuer === issuer).flatMap((s) => s.environments));
    return environments.size > 0 ? [...environments] : [fallback];
  };
}
