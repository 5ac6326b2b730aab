/**
 * Which ACM certificate backs each managed certificate of an `acm` issuer (ACM exportable public
 * certificates): written by the issuer right after ACM answers RequestCertificate, read by the issuer
 * (a retry or a renewal exports the same ARN) and by the renewal reconciliation (has ACM renewed what
 * was distributed?). References and public facts only.
 */

/** State collection of the records, one per issuer and managed certificate. */
export const ACM_ISSUANCE_COLLECTION = 'acm-issuance';

export interface AcmIssuanceRecord {
  readonly issuer: string;
  readonly certificate: string;
  readonly certificateArn: string;
  /** The names requested, the domain name first. */
  readonly names: readonly string[];
  /** ACM's key algorithm, e.g. `EC_prime256v1`. */
  readonly keyAlgorithm: string;
  readonly requestedAt: string;
}

export function acmIssuanceId(issuer: string, certificate: string): string {
  return `${issuer}/${certificate}`;
}

/** What ACM holds now for one certificate ARN, as the reconciliation needs it. */
export interface AcmCertificateStatus {
  /** ACM's status: `ISSUED`, `PENDING_VALIDATION`, `EXPIRED`, … */
  readonly status?: string;
  /** ISO 8601. */
  readonly notAfter?: string;
  readonly serial?: string;
  /** ACM's RenewalSummary status, when a renewal is under way or failed (e.g. `PENDING_VALIDATION`, `FAILED`). */
  readonly renewalStatus?: string;
}
