/**
 * Client certificates presented to upstreams that come from public CAs with clientAuth (see
 * lambda/domain/public-client-auth.ts), as scan findings: every record of client-certificate-records.ts,
 * and every place the same managed certificate is seen with such facts (an agent's report, an
 * inventory source), is a `client-auth-sunset` finding.
 */
import type { Finding } from '../domain/findings';
import type { StateStore } from '../domain/ports';
import { clientAuthSunsetFinding } from '../domain/public-client-auth';
import { clientCertificateRecords } from './client-certificate-records';
import { type Observation, observationEnvironment, observationLocation, observedFacts } from './scan';

/**
 * One finding per upstream and certificate: the recorded client certificate, and any observation
 * of the same managed certificate (what a consumer host's agent reports installed) whose facts are
 * public with clientAuth.
 */
export async function clientAuthFindings(
  state: StateStore,
  observations: readonly Observation[],
  now: Date,
): Promise<Finding[]> {
  const findings = new Map<string, Finding>();
  for (const record of await clientCertificateRecords(state, now)) {
    const uses = [
      {
        facts: record.facts,
        environments: record.environments,
        location: `upstream ${record.upstream} client certificate`,
      },
      ...observations.flatMap((o) => {
        const facts = observedFacts(o);
        const name = o.kind === 'inventory' ? o.item.managedName : o.endpoint.expects;
        return facts && name === record.certificate
          ? [{ facts, environments: [observationEnvironment(o)], location: observationLocation(o) }]
          : [];
      }),
    ];
    for (const use of uses) {
      const finding = clientAuthSunsetFinding(
        { upstream: record.upstream, certificate: record.certificate, ...use },
        now,
      );
      if (!finding) continue;
      const seen = findings.get(finding.dedupeKey);
      findings.set(
        finding.dedupeKey,
        seen
          ? {
              ...seen,
              environments: [...new Set([...seen.environments, ...finding.environments])],
              locations: [...new Set([...seen.locations, ...finding.locations])],
            }
          : finding,
      );
    }
  }
  return [...findings.values()];
}
