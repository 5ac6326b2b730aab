/**
 * The planner's view of the configuration: each managed certificate with its renewal policy and its
 * environments, taken from the same certificate spec the scan and both rotation drivers get
 * (certificates.ts), so the planner and the scan judge renewal on the same inputs.
 */
import type { CertrotorConfig, IssuerConfig } from '../configuration';
import { ISSUER_KINDS } from '../backends';
import type { PlannedCertificate } from '../../use-cases/rotation/plan-rotations';
import { renewalPolicy, toCertificateSpec } from './certificates';

/**
 * Whether the deployed workflow issues from an issuer: a kind the aws backend runs, except `external`
 * (a vendor supplies those certificates; the upstream watcher distributes them).
 */
function issuedByDeployedService(issuer: IssuerConfig | undefined): boolean {
  if (!issuer || issuer.kind === 'external') return false;
  return (ISSUER_KINDS[issuer.kind].backends as readonly string[]).includes('aws');
}

export function plannedCertificates(config: CertrotorConfig): PlannedCertificate[] {
  return config.certificates.map((c) => ({
    name: c.name,
    issuer: c.issuer,
    environments: toCertificateSpec(config, c).environments,
    renewal: renewalPolicy(c),
    // ACM renews exportable certificates itself; the planner redistributes its renewals.
    ...(config.issuers.find((i) => i.name === c.issuer)?.kind === 'acm' ? { caRenews: true } : {}),
    ...(issuedByDeployedService(config.issuers.find((i) => i.name === c.issuer))
      ? {}
      : { notDeployable: `issuer ${c.issuer} is not issued from the deployed service` }),
  }));
}

/** The certificates an `acm` issuer issues: what the ACM renewal reconciliation looks at. */
export function acmIssuedCertificates(config: CertrotorConfig): { name: string; issuer: string }[] {
  const acm = new Set(config.issuers.filter((i) => i.kind === 'acm').map((i) => i.name));
  return config.certificates
    .filter((c) => acm.has(c.issuer))
    .map((c) => ({ name: c.name, issuer: c.issuer }));
}
