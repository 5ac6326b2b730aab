/**
 * The one renewal decision for a managed certificate, taken by every caller (the scan's Renewal Due
 * finding, `plan`, `run`, the inventory and probe jobs, and the planner that starts the deployed
 * workflow), so what is announced as due is what gets rotated. Pure: facts and time in, a verdict out.
 *
 * The decision is made on the current version certrotor promoted; for a certificate certrotor has not
 * rotated yet, on the earliest-expiring certificate its endpoints were seen serving; with neither, the
 * certificate is due now (it was never issued). Jitter is seeded by the fingerprint so every caller, on
 * every run, computes the same renewal time for the same version.
 */
import type { CertificateFacts } from './certificate';
import type { Finding } from './findings';
import { type RenewalPolicy, isRenewalDue, renewalDueFinding, stableRandom } from './renewal';

export interface RenewalSubject {
  readonly name: string;
  readonly environments: readonly string[];
  readonly renewal: RenewalPolicy;
  /** The version certrotor promoted, if any. */
  readonly current?: {
    readonly fingerprintSha256: string;
    readonly notBefore: string;
    readonly notAfter: string;
    readonly facts?: CertificateFacts;
  };
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

/** Enough of a certificate to decide on: what a stored observation keeps. */
export type ServedFacts = Pick<CertificateFacts, 'fingerprintSha256' | 'notBefore' | 'notAfter'> &
  Partial<CertificateFacts>;

export function renewalVerdict(
  subject: RenewalSubject,
  served: readonly ServedFacts[],
  now: Date,
): { verdict: RenewalVerdict; finding?: Finding } {
  const basis = basisFacts(subject, served);
  if (!basis) {
    return {
      verdict: {
        name: subject.name,
        due: true,
        reason: 'never issued by certrotor and not observed anywhere',
        basis: 'none',
      },
    };
  }
  const decision = isRenewalDue(
    basis.facts,
    subject.renewal,
    now,
    stableRandom(basis.facts.fingerprintSha256),
  );
  const verdict: RenewalVerdict = {
    name: subject.name,
    due: decision.due,
    reason: decision.message,
    renewAt: decision.renewAt.toISOString(),
    basis: basis.kind,
    notAfter: basis.facts.notAfter,
    daysLeft: Math.floor((Date.parse(basis.facts.notAfter) - now.getTime()) / 86_400_000),
  };
  const finding = renewalDueFinding(completeFacts(subject.name, basis.facts), decision, now, {
    environment: subject.environments[0] ?? 'default',
    name: subject.name,
  });
  return finding
    ? { verdict, finding: { ...finding, environments: [...subject.environments] } }
    : { verdict };
}

function basisFacts(
  subject: RenewalSubject,
  served: readonly ServedFacts[],
): { kind: 'current-version' | 'observed'; facts: ServedFacts } | undefined {
  const current = subject.current;
  if (current) return { kind: 'current-version', facts: current.facts ?? current };
  const earliest = [...served].sort((a, b) => Date.parse(a.notAfter) - Date.parse(b.notAfter))[0];
  return earliest ? { kind: 'observed', facts: earliest } : undefined;
}

function completeFacts(name: string, f: ServedFacts): CertificateFacts {
  return {
    serialNumber: '',
    subject: name,
    issuer: '',
    subjectAltNames: [],
    keyAlgorithm: 'unknown',
    isCA: false,
    selfSigned: false,
    extendedKeyUsage: [],
    ...f,
  } as CertificateFacts;
}
