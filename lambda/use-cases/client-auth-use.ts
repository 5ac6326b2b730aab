/**
 * Client certificates presented to upstreams that come from public CAs with clientAuth (see
 * lambda/domain/public-client-auth.ts), as scan findings: every record of client-certificate-records.ts,
 * every configured upstream `clientCertificate` (its current version certrotor holds, even when it was
 * never imported: a certificate certrotor issues itself), and every place the same managed certificate
 * is seen with such facts (an agent's report, an inventory source), is a `client-auth-sunset` finding.
 */
import type { Finding } from '../domain/findings';
import type { StateStore } from '../domain/ports';
import { type ClientCertificateUse, clientAuthSunsetFinding } from '../domain/public-client-auth';
import { readCertificateState } from './certificate-state';
import { clientCertificateRecords } from './client-certificate-records';
import { type Observation, observationEnvironment, observationLocation, observedFacts } from './scan';

/** An upstream's configured `clientCertificate` (lambda/config/views/scan.ts). */
export interface ConfiguredClientCertificate {
  readonly upstream: string;
  /** The managed certificate it presents. */
  readonly certificate: string;
  /** The environments of the upstream's endpoints. */
  readonly environments: readonly string[];
}

/** What the scan's input carries for this check. */
export interface ClientAuthScanInput {
  /** Every upstream's configured client certificate. @default none: imported records only */
  readonly clientCertificateUses?: readonly ConfiguredClientCertificate[];
}

type Use = Omit<ClientCertificateUse, 'facts'> & { readonly facts?: ClientCertificateUse['facts'] };

/**
 * One finding per upstream and certificate: the recorded client certificate (else, for a configured
 * one never imported, the current version certrotor holds), and any observation of the same managed
 * certificate (what a consumer host's agent reports installed) whose facts are public with clientAuth.
 */
export async function clientAuthFindings(
  state: StateStore,
  observations: readonly Observation[],
  now: Date,
  input: ClientAuthScanInput = {},
): Promise<Finding[]> {
  const findings = new Map<string, Finding>();
  const records = await clientCertificateRecords(state, now);
  const recorded: Use[] = records.map((record) => ({
    upstream: record.upstream,
    certificate: record.certificate,
    facts: record.facts,
    environments: record.environments,
    location: `upstream ${record.upstream} client certificate`,
  }));
  const configured: Use[] = [];
  for (const use of input.clientCertificateUses ?? []) {
    if (records.some((r) => r.upstream === use.upstream && r.certificate === use.certificate)) continue;
    // The version certrotor holds: the one it rotated last, else the one imported for another upstream.
    const current = (await readCertificateState(state, use.certificate, now))?.value.current;
    const imported = records
      .filter((r) => r.certificate === use.certificate)
      .sort((a, b) => b.recordedAt.localeCompare(a.recordedAt))[0];
    const facts = current?.facts ?? imported?.facts;
    configured.push({
      ...use,
      ...(facts ? { facts } : {}),
      location: `upstream ${use.upstream} client certificate`,
    });
  }
  for (const upstream of [...recorded, ...configured]) {
    const uses = [
      ...(upstream.facts ? [upstream as ClientCertificateUse] : []),
      ...observations.flatMap((o): ClientCertificateUse[] => {
        const facts = observedFacts(o);
        const name = o.kind === 'inventory' ? o.item.managedName : o.endpoint.expects;
        return facts && name === upstream.certificate
          ? [
              {
                upstream: upstream.upstream,
                certificate: upstream.certificate,
                facts,
                environments: [observationEnvironment(o)],
                location: observationLocation(o),
              },
            ]
          : [];
      }),
    ];
    for (const use of uses) {
      const finding = clientAuthSunsetFinding(use, now);
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
