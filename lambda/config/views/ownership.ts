/**
 * Ownership: who owns a certificate, endpoint, upstream or environment, and its runbook, from the
 * configuration. The scan, the upstream watch and their events (CLI and Lambdas) all resolve owners
 * through this one view.
 */
import type { CertrotorConfig } from '../configuration';
import { ENVIRONMENT_OWNER_PREFIX, type OwnershipLookup } from '../../use-cases/finding-events';

/** Owner and runbook of a certificate, endpoint, upstream or (`environment:<name>`) environment, from configuration. */
export function ownershipLookup(
  config: Pick<CertrotorConfig, 'certificates' | 'endpoints' | 'upstreams'> &
    Partial<Pick<CertrotorConfig, 'environments'>>,
): OwnershipLookup {
  return (name) => {
    if (name?.startsWith(ENVIRONMENT_OWNER_PREFIX)) {
      const environment = name.slice(ENVIRONMENT_OWNER_PREFIX.length);
      const found = (config.environments ?? []).find((x) => x.name === environment);
      return {
        ...(found?.owner ? { owner: found.owner } : {}),
        ...(found?.runbookUrl ? { runbookUrl: found.runbookUrl } : {}),
      };
    }
    const c = name ? config.certificates.find((x) => x.name === name) : undefined;
    const e = name ? config.endpoints.find((x) => x.name === name) : undefined;
    const u = name ? config.upstreams.find((x) => x.name === name) : undefined;
    const owner = c?.owner ?? e?.owner ?? u?.owner;
    const runbookUrl = c?.runbookUrl ?? e?.runbookUrl ?? u?.runbookUrl;
    return { ...(owner ? { owner } : {}), ...(runbookUrl ? { runbookUrl } : {}) };
  };
}
