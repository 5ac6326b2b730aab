/**
 * Evaluation: observations in, findings and renewal decisions out. Pure (time and randomness are
 * parameters); every judgement is delegated to the domain's policy functions, in this order:
 * expiry thresholds for everything seen → endpoint checks (drift, chain, hostname, key) → renewal
 * for managed certificates → group the same certificate across environments.
 */
import type { CertificateFacts } from '../domain/certificate';
import { endpointFindings } from '../domain/endpoint-findings';
import type { Finding } from '../domain/findings';
import { groupAcrossEnvironments } from '../domain/findings';
import type { RenewalPolicy } from '../domain/renewal';
import { type RenewalVerdict, renewalVerdict } from '../domain/renewal-verdict';
import { DEFAULT_THRESHOLDS, type Threshold, expiryFinding } from '../domain/thresholds';
import type { CertificateState } from './certificate-state';
import { type Observation, observationEnvironment, observationLocation, observedFacts } from './scan';

export interface ManagedView {
  readonly name: string;
  readonly environments: readonly string[];
  readonly renewal: RenewalPolicy;
  readonly state?: CertificateState;
  /** Endpoints (by `host:port`) that serve this certificate. */
  readonly endpoints: readonly string[];
}

export interface EvaluationPolicy {
  /** @default DEFAULT_THRESHOLDS */
  readonly thresholds?: readonly Threshold[];
  /** @default 2048 */
  readonly minimumKeyBits?: number;
}

export type { RenewalVerdict };

export interface Evaluation {
  /** Grouped across environments. */
  readonly findings: Finding[];
  readonly renewals: RenewalVerdict[];
}

export function evaluate(
  observations: readonly Observation[],
  managed: readonly ManagedView[],
  policy: EvaluationPolicy,
  now: Date,
): Evaluation {
  const thresholds = policy.thresholds ?? DEFAULT_THRESHOLDS;
  const byEndpoint = new Map<string, ManagedView>();
  for (const m of managed) for (const e of m.endpoints) byEndpoint.set(e, m);

  const findings: Finding[] = [];
  for (const observation of observations) {
    const environment = observationEnvironment(observation);
    const location = observationLocation(observation);
    if (observation.kind === 'inventory') {
      const finding = expiryFinding(observation.item.facts, thresholds, now, {
        environment,
        location,
        ...(observation.item.managedName ? { name: observation.item.managedName } : {}),
      });
      if (finding) findings.push(finding);
      continue;
    }
    const { endpoint, result } = observation;
    const owner = byEndpoint.get(`${endpoint.host}:${endpoint.port}`);
    const name = endpoint.expects ?? owner?.name;
    const expected = expectedFingerprints(owner ?? managed.find((m) => m.name === name));
    const context = { environment, location, ...(name ? { name } : {}) };
    // Expiry thresholds come from expiryFinding (with escalation); endpointFindings' own `expired`
    // would duplicate it under the same key.
    const leaf = result.ok ? result.chain[0]?.facts : undefined;
    const expiry = leaf ? expiryFinding(leaf, thresholds, now, context) : undefined;
    if (expiry) findings.push(expiry);
    for (const f of endpointFindings(
      result,
      {
        ...(expected.length > 0 ? { expectedFingerprints: expected } : {}),
        ...(policy.minimumKeyBits ? { minimumKeyBits: policy.minimumKeyBits } : {}),
      },
      now,
      context,
    )) {
      // The expiry finding already says it; an untrusted chain caused only by the expired leaf is noise.
      const onlyExpired = f.kind === 'untrusted-chain' && f.details.authorizationError === 'CERT_HAS_EXPIRED';
      if (expiry && (f.kind === 'expired' || onlyExpired)) continue;
      findings.push(f);
    }
  }

  const renewals: RenewalVerdict[] = [];
  for (const m of managed) {
    const verdict = renewalVerdict(
      {
        name: m.name,
        environments: m.environments,
        renewal: m.renewal,
        ...(m.state?.current ? { current: m.state.current } : {}),
      },
      servedBy(m, observations),
      now,
    );
    renewals.push(verdict.verdict);
    if (verdict.finding) findings.push(verdict.finding);
  }
  return { findings: groupAcrossEnvironments(findings), renewals };
}

/** The current version, plus the pending one while a rollout converges (both are legitimately served). */
function expectedFingerprints(m: ManagedView | undefined): string[] {
  if (!m?.state?.current) return [];
  return [
    m.state.current.fingerprintSha256,
    ...(m.state.pending?.fingerprintSha256 ? [m.state.pending.fingerprintSha256] : []),
  ];
}

/** What the managed certificate's endpoints were seen serving in this scan. */
function servedBy(m: ManagedView, observations: readonly Observation[]): CertificateFacts[] {
  const endpoints = new Set(m.endpoints);
  return observations
    .filter((o) => o.kind === 'endpoint' && endpoints.has(`${o.endpoint.host}:${o.endpoint.port}`))
    .map(observedFacts)
    .filter((f): f is CertificateFacts => f !== undefined);
}
