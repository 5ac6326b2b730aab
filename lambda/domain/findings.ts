/**
 * Findings: the judgements policy makes about certificates, endpoints and upstream rotations.
 * Policy functions return findings as values; evaluation turns them into events, and events into
 * messages. A finding carries its own deduplication key so re-running a scan never repeats it.
 */
import type { CertificateFacts } from './certificate';

export const FINDING_KINDS = [
  'expiring',
  'expired',
  'renewal-due',
  'drift',
  'not-yet-valid',
  'hostname-mismatch',
  'incomplete-chain',
  'untrusted-chain',
  'chain-expired',
  'weak-key',
  'probe-failed',
  'upstream-window',
  'consumers-not-ready',
  'upstream-certificate-changed',
] as const;

export type FindingKind = (typeof FINDING_KINDS)[number];

/** Ordered least to most severe. */
export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** The certificate a finding is about, reduced to what a message and an event need. */
export interface FindingCertificate {
  readonly fingerprintSha256: string;
  readonly subject: string;
  readonly serialNumber?: string;
  readonly notAfter?: string;
  /** Managed certificate name, when the certificate is one of ours. */
  readonly name?: string;
}

export interface Finding {
  readonly kind: FindingKind;
  readonly severity: Severity;
  /** Absent for findings about something other than one certificate (a failed probe, an announcement). */
  readonly certificate?: FindingCertificate;
  /** Every environment the finding applies to; one until merged by `groupAcrossEnvironments`. */
  readonly environments: readonly string[];
  /** Human readable places: `api.example.com:443 (10.0.0.7)`, `acm:us-east-1`, a host name. */
  readonly locations: readonly string[];
  /** Whole days until the certificate (or deadline) is reached, floored; negative once past. */
  readonly daysLeft?: number;
  /** One line, no trailing period, safe to show as is. */
  readonly message: string;
  /** Stable across scans for the same situation: one alert per key. */
  readonly dedupeKey: string;
  /**
   * Keys of findings merged into this one that differ from `dedupeKey`. A notifier records these too,
   * so a member that was already reported is not repeated; an unrecorded one is news.
   */
  readonly relatedKeys?: readonly string[];
  /** Kind-specific facts for events and messages. Never key material. */
  readonly details: Readonly<Record<string, unknown>>;
}

/** Where a finding was made: the caller knows the environment and place, policy does not. */
export interface FindingContext {
  readonly environment: string;
  /** Overrides the location policy would derive (e.g. the endpoint). */
  readonly location?: string;
  /** Managed certificate name, when known. */
  readonly name?: string;
}

export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

export function maxSeverity(a: Severity, b: Severity): Severity {
  return severityRank(a) >= severityRank(b) ? a : b;
}

export function certificateOf(
  facts: Pick<CertificateFacts, 'fingerprintSha256' | 'subject' | 'serialNumber' | 'notAfter'>,
  name?: string,
): FindingCertificate {
  return {
    fingerprintSha256: facts.fingerprintSha256,
    subject: facts.subject,
    serialNumber: facts.serialNumber,
    notAfter: facts.notAfter,
    ...(name !== undefined ? { name } : {}),
  };
}

/** Fingerprint as used inside keys: hex without separators, uppercase. */
export function keyFingerprint(fingerprintSha256: string): string {
  return fingerprintSha256.replace(/:/g, '').toUpperCase();
}

/**
 * Merges findings about the same certificate (by fingerprint) and kind into one, so a message can say
 * "also in staging, prod-eu" instead of repeating itself per environment. Findings without a
 * certificate merge only with findings of the same kind and deduplication key.
 *
 * The merged finding keeps the first most severe member's message and details, the union of
 * environments and locations in first-seen order, the highest severity and the fewest days left.
 * Groups appear in the order of their first member.
 */
export function groupAcrossEnvironments(findings: readonly Finding[]): Finding[] {
  const groups = new Map<string, Finding[]>();
  for (const finding of findings) {
    const identity = finding.certificate
      ? `cert:${keyFingerprint(finding.certificate.fingerprintSha256)}`
      : `key:${finding.dedupeKey}`;
    const key = `${finding.kind}\u0000${identity}`;
    const group = groups.get(key);
    if (group) group.push(finding);
    else groups.set(key, [finding]);
  }
  return [...groups.values()].map(mergeGroup);
}

function mergeGroup(members: readonly Finding[]): Finding {
  const first = members[0] as Finding;
  if (members.length === 1) return first;
  const representative = members.reduce((best, next) =>
    severityRank(next.severity) > severityRank(best.severity) ? next : best,
  );
  const daysLeft = members
    .map((member) => member.daysLeft)
    .filter((days): days is number => days !== undefined);
  const relatedKeys = unique(
    members.flatMap((member) => [member.dedupeKey, ...(member.relatedKeys ?? [])]),
  ).filter((key) => key !== representative.dedupeKey);
  const { relatedKeys: _ignored, daysLeft: _days, ...rest } = representative;
  return {
    ...rest,
    environments: unique(members.flatMap((member) => member.environments)),
    locations: unique(members.flatMap((member) => member.locations)),
    ...(daysLeft.length > 0 ? { daysLeft: Math.min(...daysLeft) } : {}),
    ...(relatedKeys.length > 0 ? { relatedKeys } : {}),
  };
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
