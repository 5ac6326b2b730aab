/**
 * ACM renews exportable public certificates itself, keeping the ARN; certrotor must then export the
 * renewed version and redistribute it to every host. This is the reconciliation that finds those
 * renewals: for each certificate of an `acm` issuer, what ACM holds now (DescribeCertificate) against
 * the version distributed (the certificate state's current version). ACM's "ACM Certificate Available"
 * event runs it for the event's ARNs; the planner runs it for all on its schedule, because events are
 * best effort. A renewed certificate becomes due: the planner starts a rotation of it, which exports
 * the renewed material of the same ARN (no new request).
 */
import {
  ACM_ISSUANCE_COLLECTION,
  type AcmCertificateStatus,
  type AcmIssuanceRecord,
  acmIssuanceId,
} from '../domain/acm-issuance';
import { describeError } from '../domain/errors';
import type { Clock, StateStore } from '../domain/ports';
import { readCertificateState } from './certificate-state';

/** A managed certificate issued by an `acm` issuer. */
export interface AcmIssuedCertificate {
  readonly name: string;
  readonly issuer: string;
}

export interface AcmRenewalDeps {
  readonly state: StateStore;
  readonly clock: Clock;
  /** What ACM holds now for an ARN, through the issuer's client (its region). */
  readonly status: (issuer: string, certificateArn: string) => Promise<AcmCertificateStatus>;
}

export interface AcmReconciliation {
  readonly name: string;
  readonly certificateArn?: string;
  /**
   * renewed: ACM holds a later version than the one distributed (or issued one never distributed);
   * current: what was distributed is ACM's latest; not-requested: no ACM certificate yet (the planner's
   * own renewal decision starts the first rotation); failed: ACM could not be read.
   */
  readonly outcome: 'renewed' | 'current' | 'not-requested' | 'failed';
  readonly reason: string;
}

/**
 * Compares ACM with what was distributed, per certificate; one certificate's failure never hides the
 * others. With `certificateArns`, only the certificates backed by those ARNs (an ACM event's resources).
 */
export async function reconcileAcmRenewals(
  deps: AcmRenewalDeps,
  certificates: readonly AcmIssuedCertificate[],
  certificateArns?: readonly string[],
): Promise<AcmReconciliation[]> {
  const out: AcmReconciliation[] = [];
  for (const certificate of certificates) {
    try {
      const result = await reconcileOne(deps, certificate, certificateArns);
      if (result) out.push(result);
    } catch (error) {
      out.push({ name: certificate.name, outcome: 'failed', reason: describeError(error) });
    }
  }
  return out;
}

async function reconcileOne(
  deps: AcmRenewalDeps,
  certificate: AcmIssuedCertificate,
  certificateArns: readonly string[] | undefined,
): Promise<AcmReconciliation | undefined> {
  const now = deps.clock();
  const record = (
    await deps.state.get<AcmIssuanceRecord>(
      ACM_ISSUANCE_COLLECTION,
      acmIssuanceId(certificate.issuer, certificate.name),
      now,
    )
  )?.value;
  if (!record) {
    if (certificateArns) return undefined;
    return { name: certificate.name, outcome: 'not-requested', reason: 'no ACM certificate requested yet' };
  }
  const arn = record.certificateArn;
  if (certificateArns && !certificateArns.includes(arn)) return undefined;
  const base = { name: certificate.name, certificateArn: arn };
  const acm = await deps.status(certificate.issuer, arn);
  if (acm.status !== 'ISSUED' || acm.notAfter === undefined) {
    return {
      ...base,
      outcome: 'current',
      reason: `ACM holds it ${acm.status ?? 'in an unknown status'}${acm.renewalStatus ? ` (renewal ${acm.renewalStatus})` : ''}: nothing to redistribute`,
    };
  }
  const current = (await readCertificateState(deps.state, certificate.name, now))?.value.current;
  if (!current) {
    return {
      ...base,
      outcome: 'renewed',
      reason: `ACM issued ${arn} (notAfter ${acm.notAfter}) and no version of it was distributed yet`,
    };
  }
  if (Date.parse(acm.notAfter) > Date.parse(current.notAfter)) {
    return {
      ...base,
      outcome: 'renewed',
      reason: `ACM renewed ${arn}: notAfter ${acm.notAfter}${acm.serial ? `, serial ${acm.serial}` : ''}; the hosts have the version ending ${current.notAfter}`,
    };
  }
  return {
    ...base,
    outcome: 'current',
    reason: `the hosts have ACM's latest version (notAfter ${acm.notAfter})${acm.renewalStatus ? `; ACM's renewal: ${acm.renewalStatus}` : ''}`,
  };
}
