/**
 * Rules about certificate versions that every rotation driver shares: the offline checks a new version
 * must pass before anything is delivered, and the dedupe keys of the rotation events.
 */
import type { CertificateFacts } from '../certificate';

/** Allowed clock skew for a new certificate's notBefore (issuers back-date; clocks drift). */
const NOT_BEFORE_SKEW_MS = 5 * 60_000;

/**
 * Offline checks before anything is delivered: a new version must be valid now and strictly better
 * than the current one. Returns the reason it is rejected, or undefined.
 */
export function checkNewVersion(
  facts: Pick<CertificateFacts, 'notAfter' | 'notBefore' | 'fingerprintSha256'>,
  current: { readonly notAfter: string; readonly fingerprintSha256: string } | undefined,
  now: Date,
): string | undefined {
  if (Date.parse(facts.notAfter) <= now.getTime()) return `it expired at ${facts.notAfter}`;
  if (Date.parse(facts.notBefore) > now.getTime() + NOT_BEFORE_SKEW_MS)
    return `it is not valid before ${facts.notBefore}`;
  if (current && Date.parse(facts.notAfter) <= Date.parse(current.notAfter)) {
    return `its notAfter ${facts.notAfter} is not later than the current version's ${current.notAfter}`;
  }
  if (current && facts.fingerprintSha256 === current.fingerprintSha256)
    return 'it is the current certificate';
  return undefined;
}

export type RotationEventKind = 'started' | 'succeeded' | 'failed' | 'rolled-back';

/**
 * The catalogue's dedupe key rule for rotation events: `rotation-<kind>:<rotation id>`, and for a
 * failure also its escalation level (`:L<n>`). The started event and the outcome never share a key
 * (a channel drops a repeated key as a duplicate); a version retried after a failure is announced
 * once, and its failure is told again only when the level rises as expiry nears.
 */
export function rotationDedupeKey(kind: RotationEventKind, rotationId: string, level?: number): string {
  const escalation = level !== undefined && (kind === 'failed' || kind === 'rolled-back') ? `:L${level}` : '';
  return `rotation-${kind}:${rotationId}${escalation}`.slice(0, 512);
}

export function rotationIdOf(name: string, version: string): string {
  return `${name}:${version}`;
}
