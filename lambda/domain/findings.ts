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
  'client-auth-sunset',
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
  /** With notAfter, the lifetime thresholds (and the owner mention) scale with. */
  readonly notBefore?: string;
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
  /**
   * What a person would call "the same certificate" (see `certificateIdentity`): findings with one
   * identity are one finding, wherever they were made. Set by evaluation.
   */
  readonly identity?: string;
  /**
   * Every place with this identity seen in the scan, with its own state ("expires in 5 days", "ok"),
   * the finding's own places first. Set by `groupByIdentity`.
   */
  readonly places?: readonly FindingPlace[];
  /** Configured endpoint names the finding was made at (for ownership). */
  readonly endpoints?: readonly string[];
}

/** One place a certificate identity was seen, and how it is there. */
export interface FindingPlace {
  readonly environment: string;
  readonly location: string;
  /** `expired 2 days ago`, `expires in 5 days`, `ok`, or a problem kind. */
  readonly status: string;
  /** True when this place has a finding of the group. */
  readonly affected: boolean;
  readonly fingerprintSha256?: string;
  readonly notAfter?: string;
  /** Set for what a host agent reports installed: the host's name (the message says "on host X"). */
  readonly host?: string;
}

/**
 * How certificates are told apart for the sibling sweep:
 * - `name` (default): the configured certificate name where one is declared, otherwise the same
 *   subject and set of DNS/IP names (another serial, another key: still the same certificate);
 * - `subject-and-names`: subject and names only, even when a name is declared;
 * - `fingerprint`: only the very same certificate.
 */
export type IdentityMode = 'name' | 'subject-and-names' | 'fingerprint';

/** The identity of a certificate, by `mode`: `name:api-cert`, `subject:CN=api|DNS:a,DNS:b`, `fp:AB…`. */
export function certificateIdentity(
  facts: Pick<CertificateFacts, 'fingerprintSha256' | 'subject'> & {
    readonly subjectAltNames?: CertificateFacts['subjectAltNames'];
  },
  name: string | undefined,
  mode: IdentityMode = 'name',
): string {
  if (mode === 'fingerprint') return `fp:${keyFingerprint(facts.fingerprintSha256)}`;
  if (mode === 'name' && name) return `name:${name}`;
  const names = [...new Set((facts.subjectAltNames ?? []).map((s) => `${s.type}:${s.value.toLowerCase()}`))]
    .sort()
    .join(',');
  return `subject:${facts.subject}|${names}`;
}

/** A short label for an identity: the name, or the subject. */
export function identityLabel(identity: string): string {
  if (identity.startsWith('name:')) return identity.slice(5);
  if (identity.startsWith('subject:')) return identity.slice(8).split('|')[0] ?? identity;
  return identity;
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
  facts: Pick<CertificateFacts, 'fingerprintSha256' | 'subject' | 'serialNumber' | 'notAfter'> & {
    readonly notBefore?: string;
  },
  name?: string,
): FindingCertificate {
  return {
    fingerprintSha256: facts.fingerprintSha256,
    subject: facts.subject,
    serialNumber: facts.serialNumber,
    notAfter: facts.notAfter,
    ...(facts.notBefore !== undefined ? { notBefore: facts.notBefore } : {}),
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

/** Expired and expiring are one story about one certificate: grouped together. */
function family(kind: FindingKind): string {
  return kind === 'expired' || kind === 'expiring' ? 'expiry' : kind;
}

/**
 * The sibling sweep's grouping: findings with the same identity (and family: expired and expiring
 * together) become one finding naming every place of that identity seen in the scan, so "expired on
 * staging" also says "also in prod: expires in 5 days; dev: ok". Findings without an identity group
 * as `groupAcrossEnvironments` does. The merged message ends with the other places' states.
 * @param places every place seen in the scan, by identity
 */
export function groupByIdentity(
  findings: readonly Finding[],
  places: ReadonlyMap<string, readonly Omit<FindingPlace, 'affected'>[]>,
): Finding[] {
  const groups = new Map<string, Finding[]>();
  for (const finding of findings) {
    const identity = finding.identity
      ? `id:${finding.identity}`
      : finding.certificate
        ? `cert:${keyFingerprint(finding.certificate.fingerprintSha256)}`
        : `key:${finding.dedupeKey}`;
    const key = `${finding.identity ? family(finding.kind) : finding.kind}\u0000${identity}`;
    const group = groups.get(key);
    if (group) group.push(finding);
    else groups.set(key, [finding]);
  }
  return [...groups.values()].map((members) => {
    const merged = mergeGroup(members);
    const seen = merged.identity ? places.get(merged.identity) : undefined;
    if (!merged.identity || !seen || seen.length === 0) return merged;
    return withPlaces(merged, members, seen);
  });
}

function withPlaces(
  merged: Finding,
  members: readonly Finding[],
  seen: readonly Omit<FindingPlace, 'affected'>[],
): Finding {
  const byPlace = new Map<string, FindingPlace>();
  const placeKey = (environment: string, location: string) => `${environment}\u0000${location}`;
  for (const member of members) {
    for (const location of member.locations) {
      const environment = member.environments[0] ?? 'default';
      const known = seen.find((p) => p.environment === environment && p.location === location);
      byPlace.set(placeKey(environment, location), {
        environment,
        location,
        status: known && family(member.kind) === 'expiry' ? known.status : member.kind,
        affected: true,
        ...(known?.host !== undefined ? { host: known.host } : {}),
        ...(member.certificate ? { fingerprintSha256: member.certificate.fingerprintSha256 } : {}),
        ...(member.certificate?.notAfter ? { notAfter: member.certificate.notAfter } : {}),
      });
    }
  }
  for (const place of seen) {
    const key = placeKey(place.environment, place.location);
    if (!byPlace.has(key)) byPlace.set(key, { ...place, affected: false });
  }
  const all = [...byPlace.values()];
  const representative = members.find((m) => m.message === merged.message) ?? merged;
  const representativeEnvironment = representative.environments[0];
  const representativeLocation = representative.locations[0];
  const others = all.filter((p) => p.host === undefined && p.environment !== representativeEnvironment);
  const perEnvironment = new Map<string, string[]>();
  for (const p of others) {
    const list = perEnvironment.get(p.environment) ?? [];
    if (!list.includes(p.status)) list.push(p.status);
    perEnvironment.set(p.environment, list);
  }
  // Hosts are named one by one, whatever their environment: "on host worker-1: expires in 5 days".
  const hosts = all
    .filter((p) => p.host !== undefined && p.location !== representativeLocation)
    .map((p) => `on host ${p.host}: ${p.status}`);
  const parts = [
    ...(perEnvironment.size > 0
      ? [
          `in ${[...perEnvironment].map(([environment, states]) => `${environment}: ${states.join(', ')}`).join('; ')}`,
        ]
      : []),
    ...hosts,
  ];
  const also = parts.length > 0 ? `; also ${parts.join('; ')}` : '';
  return {
    ...merged,
    places: all,
    message: `${merged.message}${also}`,
  };
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
  const { relatedKeys: _ignored, daysLeft: _days, endpoints: _endpoints, ...rest } = representative;
  const endpoints = unique(members.flatMap((member) => member.endpoints ?? []));
  return {
    ...rest,
    ...(endpoints.length > 0 ? { endpoints } : {}),
    environments: unique(members.flatMap((member) => member.environments)),
    locations: unique(members.flatMap((member) => member.locations)),
    ...(daysLeft.length > 0 ? { daysLeft: Math.min(...daysLeft) } : {}),
    ...(relatedKeys.length > 0 ? { relatedKeys } : {}),
  };
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
