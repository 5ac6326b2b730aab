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
import { formatDuration } from './duration';
import type { Finding } from './findings';
import {
  type RenewalDecision,
  type RenewalPolicy,
  isRenewalDue,
  renewalDueFinding,
  stableRandom,
} from './renewal';

/** Why a certificate its CA renews (ACM) is not due by certrotor's own renewal time. */
export const CA_RENEWS_NOT_DUE = 'its CA renews it: a rotation follows when the CA has renewed it';

export interface RenewalSubject {
  readonly name: string;
  readonly environments: readonly string[];
  readonly renewal: RenewalPolicy;
  /**
   * Its CA renews it (ACM exportable certificates): once certrotor has distributed a version, its own
   * renewal time neither makes it due nor raises a finding; the CA's renewal does (acm-renewals.ts).
   * Expiry thresholds still alert, as for any certificate.
   */
  readonly caRenews?: boolean;
  /** The version certrotor promoted, if any. */
  readonly current?: {
    readonly fingerprintSha256: string;
    readonly notBefore: string;
    readonly notAfter: string;
    readonly facts?: CertificateFacts;
  };
  /**
   * ARI (RFC 9773): the CA's suggested renewal window for the certificate decided on, when the CA
   * offers one. A point in it (seeded like the jitter) is the renewal time, capped by the policy's
   * own time: the CA can move a renewal earlier (an incident, a revocation), never later.
   */
  readonly suggestedWindow?: {
    readonly start: string;
    readonly end: string;
    readonly explanationUrl?: string;
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
  if (subject.caRenews && subject.current) {
    return {
      verdict: {
        name: subject.name,
        due: false,
        reason: CA_RENEWS_NOT_DUE,
        basis: basis.kind,
        notAfter: basis.facts.notAfter,
        daysLeft: Math.floor((Date.parse(basis.facts.notAfter) - now.getTime()) / 86_400_000),
      },
    };
  }
  const decision = withSuggestedWindow(
    isRenewalDue(basis.facts, subject.renewal, now, stableRandom(basis.facts.fingerprintSha256)),
    subject.suggestedWindow,
    basis.facts,
    now,
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

/** The policy's decision, moved earlier to a point in the CA's suggested window when that is sooner. */
function withSuggestedWindow(
  decision: RenewalDecision,
  window: RenewalSubject['suggestedWindow'],
  facts: ServedFacts,
  now: Date,
): RenewalDecision {
  if (!window || decision.reason === 'expired') return decision;
  const start = Date.parse(window.start);
  const end = Date.parse(window.end);
  if (Number.isNaN(start) || Number.isNaN(end) || end < start) return decision;
  const point =
    Math.floor((start + stableRandom(`ari:${facts.fingerprintSha256}`)() * (end - start)) / 1000) * 1000;
  if (point >= decision.renewAt.getTime()) return decision; // the policy's time caps the CA's
  const renewAt = new Date(point);
  const span = `the CA's suggested renewal window ${window.start} – ${window.end} (ARI)${
    window.explanationUrl ? `, see ${window.explanationUrl}` : ''
  }`;
  const left = formatDuration(Date.parse(facts.notAfter) - now.getTime());
  return now.getTime() >= point
    ? {
        ...decision,
        due: true,
        reason: 'renewal-time-reached',
        renewAt,
        message: `renewal was due at ${renewAt.toISOString()}, inside ${span}; ${left} left`,
      }
    : {
        ...decision,
        due: false,
        reason: 'scheduled',
        renewAt,
        message: `renews at ${renewAt.toISOString()}, in ${formatDuration(point - now.getTime())}, inside ${span}`,
      };
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
