/** The planner's view of the configuration: each managed certificate with its renewal policy. */
import type { CertrotorConfig } from '../configuration';
import type { PlannedCertificate } from '../../use-cases/rotation/plan-rotations';

/** Issuer kinds the deployed workflow issues from. */
const DEPLOYED_ISSUER_KINDS: ReadonlySet<string> = new Set(['acm-pca']);

export function plannedCertificates(config: CertrotorConfig): PlannedCertificate[] {
  const deployable = new Set(
    config.issuers.filter((i) => DEPLOYED_ISSUER_KINDS.has(i.kind)).map((i) => i.name),
  );
  return config.certificates.map((c) => ({
    name: c.name,
    environments: [
      ...new Set(config.endpoints.filter((e) => c.endpoints.includes(e.name)).map((e) => e.environment)),
    ],
    renewal: {
      ...(c.renewal.renewBefore !== undefined ? { renewBefore: c.renewal.renewBefore } : {}),
      ...(c.renewal.renewBeforePercentage !== undefined
        ? { renewBeforePercentage: c.renewal.renewBeforePercentage }
        : {}),
      jitterPercentage: c.renewal.jitterPercentage,
    },
    ...(deployable.has(c.issuer)
      ? {}
      : { notDeployable: `issuer ${c.issuer} is not issued from the deployed service` }),
  }));
}
