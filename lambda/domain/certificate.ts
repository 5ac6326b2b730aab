/**
 * The parsed facts of one X.509 certificate. Everything certrotor decides about a certificate
 * is decided from these facts; the certificate body itself is carried only where it must be
 * delivered or verified.
 */
export interface CertificateFacts {
  /** SHA-256 over the DER, uppercase hex, colon separated, as `openssl x509 -fingerprint -sha256` prints it. */
  readonly fingerprintSha256: string;
  /** Uppercase hex without separators or leading zero padding beyond what the certificate encodes. */
  readonly serialNumber: string;
  /** RFC 2253-like one-line rendering, e.g. `CN=example.com, O=Example`. */
  readonly subject: string;
  readonly issuer: string;
  readonly subjectAltNames: readonly SubjectAltName[];
  /** ISO 8601 UTC, e.g. `2026-01-01T00:00:00.000Z`. */
  readonly notBefore: string;
  readonly notAfter: string;
  readonly keyAlgorithm: KeyAlgorithm;
  /** Bits, for RSA and DSA keys. */
  readonly keySize?: number;
  /** Named curve for EC keys (`P-256`, `P-384`, `P-521`), or `Ed25519`/`Ed448`. */
  readonly curve?: string;
  readonly isCA: boolean;
  readonly selfSigned: boolean;
  /** Extended key usages by name (`serverAuth`, `clientAuth`, …) or OID when unnamed. Empty when the extension is absent. */
  readonly extendedKeyUsage: readonly string[];
}

export type KeyAlgorithm = 'RSA' | 'EC' | 'Ed25519' | 'Ed448' | 'DSA' | 'unknown';

export interface SubjectAltName {
  readonly type: 'DNS' | 'IP' | 'email' | 'URI';
  readonly value: string;
}

/** Facts plus what an inspection reports about time: computed against an injected clock. */
export interface CertificateReport extends CertificateFacts {
  /** Whole days until notAfter, negative once expired (floor of the fractional value). */
  readonly daysLeft: number;
}

export const DAY_MS = 86_400_000;

/** Whole days from `now` until `notAfter`, floored; negative once expired. */
export function daysLeft(facts: Pick<CertificateFacts, 'notAfter'>, now: Date): number {
  return Math.floor((Date.parse(facts.notAfter) - now.getTime()) / DAY_MS);
}

export function withDaysLeft(facts: CertificateFacts, now: Date): CertificateReport {
  return { ...facts, daysLeft: daysLeft(facts, now) };
}

/**
 * The one fingerprint format of text output (CLI tables and lines, messages, errors, logs): the first
 * 12 hex digits of the SHA-256 fingerprint, uppercase, without separators (`3F2A9C01B4D7`). JSON
 * output, events and state always carry the whole fingerprint (`3F:2A:9C:…`, 32 bytes).
 */
export function shortFingerprint(fingerprintSha256: string): string {
  return fingerprintSha256.replace(/:/g, '').slice(0, 12);
}
