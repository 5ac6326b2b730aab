/**
 * The deployed service's planner: starts one workflow execution per certificate due for renewal, with
 * the same renewal decision the scan announces (`renewalVerdict`). The execution name is derived from
 * the certificate and its next version id, so a duplicate start (two schedules, a retry) is a no-op,
 * never a second rotation.
 *
 * Before starting, the planner takes the certificate's rotation lock on behalf of that execution (the
 * lock owner is the execution name, which the workflow's start step recognises as its own). A lock held
 * by anyone else (a manual `certrotor rotate`, an execution for another version) means a rotation is in
 * progress: the certificate is reported as locked and nothing is started.
 */
import { describeError } from '../../domain/errors';
import type { VersionRecord } from '../../domain/certificate-state';
import type { StartExecution, StateStore } from '../../domain/ports';
import type { RenewalPolicy } from '../../domain/renewal';
import { type RenewalSubject, type ServedFacts, renewalVerdict } from '../../domain/renewal-verdict';
import { retryNotBefore } from '../../domain/rotation/backoff';
import { COLLECTIONS, nextVersionId, readCertificateState } from '../certificate-state';
import type { StoredObservation } from '../cycle';
import { acquireRotationLock, releaseRotationLock } from './lock';
import { caRenewalDecision } from '../acm-renewals';

/** A managed certificate as the planner sees it (lambda/config/views/planner.ts). */
export interface PlannedCertificate {
  readonly name: string;
  /** Its issuer's name (configuration), for the CA's renewal window (ARI). */
  readonly issuer?: string;
  readonly environments: readonly string[];
  readonly renewal: RenewalPolicy;
  /** Why the deployed service does not rotate it (its issuer runs only in the CLI), if so. */
  readonly notDeployable?: string;
  /**
   * Due whatever its renewal time says, and why: its CA renewed it by itself and the hosts still have
   * the previous version (ACM exportable certificates, lambda/use-cases/acm-renewals.ts).
   */
  readonly dueBecause?: string;
  /**
   * Its CA renews it by itself (ACM exportable certificates): once a version is distributed, it is due
   * only when the CA renewed it (`dueBecause`), never by its own renewal time.
   */
  readonly caRenews?: boolean;
}

export interface PlannedStart {
  readonly name: string;
  readonly version?: string;
  readonly executionName?: string;
  readonly status: 'started' | 'already-started' | 'locked' | 'not-due' | 'not-managed-here' | 'failed';
  readonly reason: string;
}

/**
 * Step Functions execution names: 1-80 characters of letters, digits, `-` and `_`; the version (and,
 * for a retry after failures, the attempt) so a duplicate start is `ExecutionAlreadyExists`.
 */
export function executionNameFor(name: string, version: string, attempt = 0): string {
  const suffix = attempt > 0 ? `-r${attempt}` : '';
  return `${name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80 - version.length - suffix.length - 1)}-${version}${suffix}`;
}

export type { StartExecution };

/**
 * ARI (RFC 9773): the CA's suggested renewal window for a certificate's current version, when its
 * issuer offers one (ACME); the same question the CLI's scan asks (lambda/wiring/acme.ts). A failure
 * to ask is no window: certrotor's own policy decides.
 */
export type RenewalWindowReader = (
  certificate: { readonly name: string; readonly issuer: string },
  current: VersionRecord,
) => Promise<RenewalSubject['suggestedWindow']>;

export async function planRotations(
  certificates: readonly PlannedCertificate[],
  state: StateStore,
  start: StartExecution,
  now: Date,
  renewalWindow?: RenewalWindowReader,
): Promise<PlannedStart[]> {
  const results: PlannedStart[] = [];
  for (const certificate of certificates) {
    if (certificate.notDeployable) {
      results.push({ name: certificate.name, status: 'not-managed-here', reason: certificate.notDeployable });
      continue;
    }
    // One certificate's failure (state unreadable, start refused) never keeps the others from rotating.
    try {
      results.push(await planOne(certificate, state, start, now, renewalWindow));
    } catch (error) {
      results.push({ name: certificate.name, status: 'failed', reason: describeError(error) });
    }
  }
  return results;
}

async function planOne(
  certificate: PlannedCertificate,
  state: StateStore,
  start: StartExecution,
  now: Date,
  renewalWindow?: RenewalWindowReader,
): Promise<PlannedStart> {
  const current = (await readCertificateState(state, certificate.name, now))?.value;
  const version = nextVersionId(certificate.name, current);
  // A retry of the same version after a failure is a new execution of it (its earlier one has ended).
  const attempt = current?.pending === undefined ? (current?.failedAttempts ?? 0) : 0;
  const executionName = executionNameFor(certificate.name, version, attempt);
  const base = { name: certificate.name, version, executionName };
  let dueReason: string | undefined;
  // A pending version is an unfinished rotation: resuming it is due whatever the renewal time says.
  if (current?.pending?.version !== version) {
    // Its CA renews it (ACM): the same decision as `certrotor run`'s (../acm-renewals.ts).
    const byCa = caRenewalDecision(certificate, current?.current !== undefined);
    if (byCa && !byCa.due) return { ...base, status: 'not-due', reason: byCa.reason };
    if (byCa === undefined) {
      const served = current?.current ? [] : await servedFacts(state, certificate.name, now);
      const window =
        current?.current && renewalWindow && certificate.issuer !== undefined
          ? await renewalWindow(
              { name: certificate.name, issuer: certificate.issuer },
              current.current,
            ).catch(() => undefined)
          : undefined;
      const { verdict } = renewalVerdict(
        {
          ...certificate,
          ...(current?.current ? { current: current.current } : {}),
          ...(window ? { suggestedWindow: window } : {}),
        },
        served,
        now,
      );
      if (!verdict.due) return { ...base, status: 'not-due', reason: verdict.reason };
      // Said why when the CA moved it earlier (an incident, a revocation): the verdict names the window.
      if (window) dueReason = verdict.reason;
    }
    const notBefore = retryNotBefore(current?.failedAttempts ?? 0, current?.lastFailure?.at, now);
    if (notBefore)
      return {
        ...base,
        status: 'not-due',
        reason: `backing off after ${current!.failedAttempts} failed attempt(s): next attempt after ${notBefore.toISOString()}`,
      };
  }
  const why =
    certificate.dueBecause ?? (current?.current ? (dueReason ?? 'renewal due') : 'no current version');
  // The reason rides in the lock: the workflow's Start step records it and Rotation Started says it.
  const owner = { name: certificate.name, version, owner: executionName, reason: why };
  const lock = await acquireRotationLock(state, certificate.name, owner, now);
  if (!lock.taken) return { ...base, status: 'locked', reason: lock.reason };
  try {
    const started = await start(executionName, { name: certificate.name, version, trigger: 'schedule' });
    if (started === 'already-started' && !lock.alreadyHeld && current?.pending?.version === version) {
      // The lock had lapsed, yet an execution of this name exists: it ended (died, timed out) with the
      // rotation unfinished. A new execution resumes it: the steps finish or undo what it left.
      const resumed = await resume(certificate.name, version, executionName, state, start, now);
      if (resumed) return { ...base, ...resumed };
    }
    // StartExecution with the same name and input is idempotent while the execution runs: an earlier
    // run of the planner (which took the lock for it) started it, this one changed nothing.
    const status = lock.alreadyHeld ? 'already-started' : started;
    return {
      ...base,
      status,
      reason: status === 'already-started' ? `execution ${executionName} was started earlier` : why,
    };
  } catch (error) {
    // Nothing will run under this lock: free it so the next schedule (or a manual rotation) can.
    let released = '';
    await releaseRotationLock(state, certificate.name, executionName, now).catch((releaseError: unknown) => {
      released = `; its lock could not be released either (its lease ends by itself): ${describeError(releaseError)}`;
    });
    return { ...base, status: 'failed', reason: `${describeError(error)}${released}` };
  }
}

/** Starts `<execution>-resumeN` under the lock, for the first N not used yet. */
async function resume(
  name: string,
  version: string,
  executionName: string,
  state: StateStore,
  start: StartExecution,
  now: Date,
): Promise<Pick<PlannedStart, 'executionName' | 'status' | 'reason'> | undefined> {
  await releaseRotationLock(state, name, executionName, now);
  for (let n = 1; n <= 20; n++) {
    const suffix = `-resume${n}`;
    const resumeName = `${executionName.slice(0, 80 - suffix.length)}${suffix}`;
    const lock = await acquireRotationLock(state, name, { name, version, owner: resumeName }, now);
    if (!lock.taken) return { executionName: resumeName, status: 'locked', reason: lock.reason };
    if ((await start(resumeName, { name, version, trigger: 'schedule' })) === 'started')
      return {
        executionName: resumeName,
        status: 'started',
        reason: `resumed the unfinished rotation to ${version}: its execution ${executionName} ended`,
      };
    await releaseRotationLock(state, name, resumeName, now);
  }
  return undefined;
}

/** What the probe last saw the certificate's endpoints serve (recorded by the scan). */
async function servedFacts(state: StateStore, name: string, now: Date): Promise<ServedFacts[]> {
  const observations = await state.list<StoredObservation>(COLLECTIONS.observations, now);
  return observations
    .map((o) => o.value)
    .filter((o) => o.managedName === name && o.fingerprintSha256 && o.notAfter && o.notBefore)
    .map((o) => ({
      fingerprintSha256: o.fingerprintSha256!,
      notBefore: o.notBefore!,
      notAfter: o.notAfter!,
    }));
}
