/**
 * The last step of every rotation, whichever driver ran it: records the outcome, releases the lock,
 * publishes the outcome event and reports what happened to each target. A rollout held within its
 * failure tolerance keeps its pending version (the next run resumes it instead of issuing again); a
 * rolled-back or failed one counts a failed attempt.
 */
import type { TargetRecord } from '../../domain/rotation/rollout';
import { convergencePercent } from '../../domain/rotation/rollout';
import { escalationLevel } from '../../domain/rotation/backoff';
import { rotationIdOf } from '../../domain/rotation/version';
import { COLLECTIONS, readCertificateState, updateCertificateState } from '../certificate-state';
import { outcomeEvent, publish } from './events';
import { releaseRotationLock } from './lock';
import { clearRotationRecords, readPlan, readTargetRecords } from './records';
import type { RotationDeps, RotationRef, RotationSpec } from './spec';
import { progress } from './steps';

export type FinishOutcome = 'succeeded' | 'rolled-back' | 'failed' | 'held';

export interface FinishInput {
  readonly outcome: FinishOutcome;
  /** One line: why it did not succeed. */
  readonly reason?: string;
  /**
   * Whether a rotation that did not succeed counts as a failed attempt (backoff before the next). An
   * operator's interrupt does not. @default true
   */
  readonly countsAsFailure?: boolean;
}

export type RotationResultStatus = 'succeeded' | 'rolled-back' | 'failed' | 'refused' | 'dry-run';

/** What a driver reports: the outcome and where every target stands. */
export interface RotationResult {
  readonly name: string;
  readonly version: string;
  readonly rotationId: string;
  readonly status: RotationResultStatus;
  readonly reason?: string;
  readonly previousFingerprint?: string;
  readonly newFingerprint?: string;
  readonly newNotAfter?: string;
  readonly targets: readonly TargetRecord[];
  /** Percentage of targets verified on the new version (0-100, one decimal). */
  readonly convergence: number;
}

export async function finishStep(
  deps: RotationDeps,
  spec: RotationSpec,
  ref: RotationRef,
  input: FinishInput,
): Promise<RotationResult> {
  const now = deps.clock();
  const before = (await readCertificateState(deps.state, spec.name, now))?.value;
  const pending = before?.pending?.version === ref.version ? before.pending : undefined;
  const plan = await readPlan(deps.state, spec.name, ref.version, now);
  const records = await readTargetRecords(deps.state, spec.name, ref.version, now);
  const targets: TargetRecord[] = (plan?.batches.flat() ?? []).map(
    (t) => records.get(`${t.destination}\u0000${t.target}`) ?? { ...t, state: 'pending' },
  );
  const succeeded = input.outcome === 'succeeded' && before?.current?.version === ref.version;
  const outcome = input.outcome === 'succeeded' && !succeeded ? 'failed' : input.outcome;
  const reason = outcome === 'succeeded' ? undefined : (input.reason ?? 'the rotation did not complete');

  if (outcome !== 'succeeded') {
    await updateCertificateState(deps.state, spec.name, now, (state) => {
      const { pending: ours, ...rest } = state;
      const keep = outcome === 'held' && ours?.version === ref.version;
      return {
        ...(ours?.version === ref.version && !keep ? rest : state),
        failedAttempts:
          keep || input.countsAsFailure === false ? state.failedAttempts : state.failedAttempts + 1,
        lastFailure: { at: now.toISOString(), reason: reason!, version: ref.version },
      };
    });
    await deps.state.put(
      COLLECTIONS.rotations,
      `${spec.name}#${ref.version}`,
      { status: outcome === 'held' ? 'failed' : outcome, reason, at: now.toISOString() },
      now,
    );
  }
  // A held rollout keeps its records: the verified targets stay settled when it resumes.
  if (outcome !== 'held') await clearRotationRecords(deps.state, spec.name, ref.version, now);
  await releaseRotationLock(deps.state, spec.name, ref.owner, now);

  const after = (await readCertificateState(deps.state, spec.name, now))?.value;
  const issued = succeeded ? after?.current?.facts : pending?.facts;
  const previous = succeeded ? after?.previous : after?.current;
  const verified = targets.filter((t) => t.state === 'verified' || t.verifiedNew).length;
  const convergence = succeeded ? 100 : convergencePercent(verified, targets.length);
  await publish(deps, () =>
    outcomeEvent(
      spec,
      ref,
      {
        outcome: outcome === 'held' ? 'failed' : outcome,
        ...(reason ? { reason } : {}),
        stage: stageOf(targets, issued !== undefined),
        ...(issued ? { issued } : {}),
        ...(previous ? { previous } : {}),
        records: targets,
        total: targets.length,
        verifiedBeforeRollback: succeeded ? targets.length : verified,
        level: escalationLevel(after?.current?.notAfter, now),
      },
      now,
    ),
  );
  if (outcome !== 'succeeded')
    await progress(deps, { phase: 'failed', name: spec.name, version: ref.version, detail: reason });
  const rolledBackCleanly = outcome === 'rolled-back' && !targets.some((t) => t.state === 'rollback-failed');
  return {
    name: spec.name,
    version: ref.version,
    rotationId: rotationIdOf(spec.name, ref.version),
    status: succeeded ? 'succeeded' : rolledBackCleanly ? 'rolled-back' : 'failed',
    ...(reason ? { reason } : {}),
    ...(previous?.fingerprintSha256 ? { previousFingerprint: previous.fingerprintSha256 } : {}),
    ...(issued ? { newFingerprint: issued.fingerprintSha256, newNotAfter: issued.notAfter } : {}),
    targets,
    convergence,
  };
}

function stageOf(
  targets: readonly TargetRecord[],
  issued: boolean,
): 'issue' | 'distribute' | 'verify' | 'promote' | 'rollback' {
  if (targets.some((t) => t.state === 'rollback-failed')) return 'rollback';
  if (targets.some((t) => t.failedAt === 'promote')) return 'promote';
  if (targets.some((t) => t.failedAt === 'verify')) return 'verify';
  if (targets.some((t) => t.failedAt === 'deliver')) return 'distribute';
  return issued ? 'distribute' : 'issue';
}
