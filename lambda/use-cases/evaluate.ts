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
import {
  type RenewalDecision,
  type RenewalPolicy,
  isRenewalDue,
  renewalDueFinding,
  stableRandom,
} from '../domain/renewal';
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

export interface RenewalVerdict {
  readonly name: string;
  readonly due: boolean;
  readonly reason: string;
  readonly renewAt?: string;
  /** The facts the decision was made on: the current version, or what the endpoints serve. */
  readonly basis: 'current-version' | 'observed' | 'none';
  readonly notAfter?: string;
  readonly daysLeft?: number;
}

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
    const verdict = renewalVerdict(m, observations, now);
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

function renewalVerdict(
  m: ManagedView,
  observations: readonly Observation[],
  now: Date,
): { verdict: RenewalVerdict; finding?: Finding } {
  const basis = basisFacts(m, observations);
  if (!basis) {
    return {
      verdict: {
        name: m.name,
        due: true,
        reason: 'never issued by certrotor and not observed anywhere',
        basis: 'none',
      },
    };
  }
  // Seeded by the fingerprint so jitter gives the same renewal time on every scan.
  const decision: RenewalDecision = isRenewalDue(
    basis.facts,
    m.renewal,
    now,
    stableRandom(basis.facts.fingerprintSha256),
  );
  const daysLeft = Math.floor((Date.parse(basis.facts.notAfter) - now.getTime()) / 86_400_000);
  const verdict: RenewalVerdict = {
    name: m.name,
    due: decision.due,
    reason: decision.message,
    renewAt: decision.renewAt.toISOString(),
    basis: basis.kind,
    notAfter: basis.facts.notAfter,
    daysLeft,
  };
  const finding = renewalDueFinding(basis.facts, decision, now, {
    environment: m.environments[0] ?? 'default',
    name: m.name,
  });
  return finding ? { verdict, finding: { ...finding, environments: [...m.environments] } } : { verdict };
}

/**
 * What renewal is decided on: the current version certrotor promoted, or — for a certificate
 * certrotor has not rotated yet — the earliest-expiring certificate its endpoints serve.
 */
function basisFacts(
  m: ManagedView,
  observations: readonly Observation[],
): { kind: 'current-version' | 'observed'; facts: CertificateFacts } | undefined {
  const current = m.state?.current;
  if (current) {
    return {
      kind: 'current-version',
      facts: current.facts ?? {
        fingerprintSha256: current.fingerprintSha256,
        notBefore: current.notBefore,
        notAfter: current.notAfter,
        serialNumber: '',
        subject: m.name,
        issuer: '',
        subjectAltNames: [],
        keyAlgorithm: 'unknown',
        isCA: false,
        selfSigned: false,
        extendedKeyUsage: [],
      },
    };
  }
  const endpoints = new Set(m.endpoints);
  const served = observations
    .filter((o) => o.kind === 'endpoint' && endpoints.has(`${o.endpoint.host}:${o.endpoint.port}`))
    .map(observedFacts)
    .filter((f): f is CertificateFacts => f !== undefined)
    .sort((a, b) => Date.parse(a.notAfter) - Date.parse(b.notAfter));
  return served[0] ? { kind: 'observed', facts: served[0] } : undefined;
}
