/**
 * ACM renews exportable public certificates itself, keeping the ARN; certrotor must then export the
 * renewed version and redistribute it to every host. This is the reconciliation that finds those
 * renewals: for each certificate of an `acm` issuer, what ACM holds now (DescribeCertificate) against
 * the version distributed (the certificate state's current version). ACM's "ACM Certificate Available"
 * event runs it for the event's ARNs; the planner runs it for all on its schedule, because events are
 * best effort; `certrotor run` runs it on every cycle. A renewed certificate becomes due: a rotation of it exports
 * the renewed material of the same ARN (no new request). `caRenewalDecision` is the one decision both use.
 */
import { CA_RENEWS_NOT_DUE } from '../domain/renewal-verdict';
import {
  ACM_ISSUANCE_COLLECTION,
  type AcmCertificateStatus,
  type AcmIssuanceRecord,
  acmIssuanceId,
} from '../domain/acm-issuance';
import { describeError } from '../domain/errors';
import type { Clock, StateStore } from '../domain/ports';
import { readCertificateState } from './certificate-state';

export { CA_RENEWS_NOT_DUE };

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

/** Why a certificate whose CA renews it is not due: the hosts have the CA's latest version. */

/**
 * The renewal decision for a certificate its CA renews (ACM), the deployed planner's and
 * `certrotor run`'s alike: due when the CA renewed it (`dueBecause`, from the reconciliation); not due
 * once a version was distributed and the CA has not renewed it, whatever certrotor's own renewal time
 * says; undefined otherwise (never distributed, or not renewed by its CA): certrotor's own renewal
 * decision applies (it starts the first rotation).
 */
export function caRenewalDecision(
  certificate: { readonly caRenews?: boolean; readonly dueBecause?: string },
  distributed: boolean,
): { readonly due: boolean; readonly reason: string } | undefined {
  if (certificate.dueBecause !== undefined) return { due: true, reason: certificate.dueBecause };
  if (certificate.caRenews && distributed) return { due: false, reason: CA_RENEWS_NOT_DUE };
  return undefined;
}

/** Why each reconciled certificate is due: those ACM renewed (the `dueBecause` of the decision). */
export function renewedReasons(reconciled: readonly AcmReconciliation[]): Map<string, string> {
  return new Map(reconciled.flatMap((r) => (r.outcome === 'renewed' ? [[r.name, r.reason] as const] : [])));
}

/** What `certrotor run` needs to reconcile ACM's renewals: the `acm` certificates and ACM's view. */
export interface AcmRenewalSource {
  readonly certificates: readonly AcmIssuedCertificate[];
  readonly status: AcmRenewalDeps['status'];
}

/**
 * A cycle's rotations: certrotor's own verdicts, except for the certificates ACM renews, which the
 * reconciliation decides as the planner does (`caRenewalDecision`). An unfinished rotation (a pending
 * version) keeps its own verdict: finishing it is not a renewal. A failed reconciliation is reported
 * and leaves its certificate not due.
 */
export async function dueInCycle<
  V extends { readonly name: string; readonly due: boolean; readonly reason: string },
>(
  deps: { readonly state: StateStore; readonly clock: Clock; readonly acm?: AcmRenewalSource },
  verdicts: readonly V[],
): Promise<{ due: V[]; failures: { what: string; error: string }[] }> {
  const certificates = deps.acm?.certificates ?? [];
  if (!deps.acm || certificates.length === 0) return { due: verdicts.filter((v) => v.due), failures: [] };
  const reconciled = await reconcileAcmRenewals(
    { state: deps.state, clock: deps.clock, status: deps.acm.status },
    certificates,
  );
  const dueBecause = renewedReasons(reconciled);
  const caRenews = new Set(certificates.map((c) => c.name));
  const due: V[] = [];
  for (const verdict of verdicts) {
    if (!caRenews.has(verdict.name)) {
      if (verdict.due) due.push(verdict);
      continue;
    }
    const stored = (await readCertificateState(deps.state, verdict.name, deps.clock()))?.value;
    const decided =
      stored?.pending === undefined
        ? caRenewalDecision(
            {
              caRenews: true,
              ...(dueBecause.has(verdict.name) ? { dueBecause: dueBecause.get(verdict.name)! } : {}),
            },
            stored?.current !== undefined,
          )
        : undefined;
    if (decided ? decided.due : verdict.due)
      due.push(decided ? { ...verdict, due: true, reason: decided.reason } : verdict);
  }
  return {
    due,
    failures: reconciled
      .filter((r) => r.outcome === 'failed')
      .map((r) => ({ what: `ACM renewal check ${r.name}`, error: r.reason })),
  };
}
