/**
 * The CLI's driver of the rotation: runs the same steps, in the same order and with the same error
 * paths, as the Step Functions workflow (lib/constructs/rotation-workflow.ts): start → plan → issue →
 * (next → deliver and verify the batch)* → promote | roll back | hold → finish. Only the waiting
 * differs: here a verification round is followed by `sleep`, there by a Wait state.
 */
import { describeError } from '../../domain/errors';
import type { TargetRef } from '../../domain/rotation/rollout';
import { rotationIdOf } from '../../domain/rotation/version';
import { nextVersionId, readCertificateState } from '../certificate-state';
import { type FinishOutcome, type RotationResult, finishStep } from './finish';
import { rollbackStep } from './rollback';
import {
  type RotationDeps,
  type RotationSpec,
  type RotationRef,
  verifyIntervalOf,
  verifyTimeoutOf,
} from './spec';
import {
  type IssuedVersion,
  deliverStep,
  issueStep,
  listTargets,
  nextStep,
  planStep,
  progress,
  promoteStep,
  startStep,
  verifyStep,
} from './steps';

export interface RotateOptions {
  readonly reason: string;
  readonly dryRun?: boolean;
  /** Lock owner id; the CLI passes its invocation id. */
  readonly owner: string;
  readonly trigger?: RotationRef['trigger'];
  /** Checked before each new batch: when it says stop, no new work starts and touched targets roll back. */
  readonly interrupted?: () => boolean;
  /** The process that holds the lock (named in refusals; taken over once it is gone). */
  readonly holder?: RotationRef['holder'];
}

export async function rotateCertificate(
  deps: RotationDeps,
  spec: RotationSpec,
  options: RotateOptions,
): Promise<RotationResult> {
  const now = deps.clock();
  const existing = (await readCertificateState(deps.state, spec.name, now))?.value;
  const version = nextVersionId(spec.name, existing);
  const ref: RotationRef = {
    name: spec.name,
    version,
    owner: options.owner,
    reason: options.reason,
    ...(options.trigger ? { trigger: options.trigger } : {}),
    ...(options.holder ? { holder: options.holder } : {}),
  };
  const base = {
    name: spec.name,
    version,
    rotationId: rotationIdOf(spec.name, version),
    ...(existing?.current ? { previousFingerprint: existing.current.fingerprintSha256 } : {}),
  };

  if (options.dryRun) {
    try {
      const targets = await listTargets(deps, spec);
      return {
        ...base,
        status: 'dry-run',
        reason: `would issue ${spec.name} (${spec.dnsNames.join(', ')}) from ${spec.issuer} and deliver to ${targets.length} target(s): ${targets
          .map((t) => `${t.destination}/${t.target}`)
          .join(', ')}`,
        targets: targets.map((t) => ({ ...t, state: 'pending' })),
        convergence: 0,
      };
    } catch (error) {
      return refused(base, `cannot list the targets of ${spec.name}: ${describeError(error)}`);
    }
  }

  let start;
  try {
    start = await startStep(deps, spec, ref);
  } catch (error) {
    return finishStep(deps, spec, ref, { outcome: 'failed', reason: describeError(error) });
  }
  if (!start.started) return refused(base, start.reason);
  return drive(deps, spec, ref, options);
}

/** Runs a started (or resumed) rotation to its end. `repair` resumes an interrupted one through it. */
export async function drive(
  deps: RotationDeps,
  spec: RotationSpec,
  ref: RotationRef,
  options: Pick<RotateOptions, 'interrupted'> = {},
): Promise<RotationResult> {
  let issued: IssuedVersion;
  try {
    await planStep(deps, spec, ref);
    issued = await issueStep(deps, spec, ref);
  } catch (error) {
    return finish(deps, spec, ref, 'failed', describeError(error));
  }
  for (;;) {
    try {
      if (options.interrupted?.())
        return rollBack(deps, spec, ref, 'interrupted: every touched target rolled back', false);
      const decision = await nextStep(deps, spec, ref);
      switch (decision.action) {
        case 'deliver':
          await Promise.all(
            decision.targets.map((t) => deliverAndVerify(deps, spec, ref, issued, t, options.interrupted)),
          );
          continue;
        case 'promote': {
          const promoted = await promoteStep(deps, spec, ref);
          if (promoted.promoted) return finish(deps, spec, ref, 'succeeded');
          return rollBack(deps, spec, ref, promoted.error);
        }
        case 'rollback':
          return rollBack(deps, spec, ref, decision.reason);
        case 'hold':
          return finish(deps, spec, ref, 'held', decision.reason);
      }
    } catch (error) {
      return rollBack(deps, spec, ref, describeError(error));
    }
  }
}

/** The workflow's item processor: deliver, then verification rounds until verified or failed. */
async function deliverAndVerify(
  deps: RotationDeps,
  spec: RotationSpec,
  ref: RotationRef,
  issued: IssuedVersion,
  target: TargetRef,
  interrupted: (() => boolean) | undefined,
): Promise<void> {
  const delivery = await deliverStep(deps, spec, ref, issued.bundle, target);
  if (delivery.state === 'failed') return;
  const rounds = Math.max(1, Math.ceil(verifyTimeoutOf(spec) / Math.max(1, verifyIntervalOf(spec))));
  for (let round = 1; ; round++) {
    const result = await verifyStep(deps, spec, ref, target, issued.fingerprint, delivery.deadline);
    if (result.state !== 'retry') return;
    // Interrupted: the target stays unsettled (delivered), so the rollback that follows restores it.
    if (interrupted?.()) return;
    await progress(deps, {
      phase: 'verifying',
      name: spec.name,
      version: ref.version,
      target: target.target,
      detail: `${round}/${rounds} probes: ${result.error ?? 'not serving the new version yet'}`,
    });
    await deps.sleep(verifyIntervalOf(spec));
  }
}

async function rollBack(
  deps: RotationDeps,
  spec: RotationSpec,
  ref: RotationRef,
  reason: string,
  countsAsFailure = true,
): Promise<RotationResult> {
  try {
    const summary = await rollbackStep(deps, spec, ref);
    const note = summary.failed > 0 ? `; ${summary.failed} target(s) could not be rolled back` : '';
    return finish(deps, spec, ref, 'rolled-back', `${reason}${note}`, countsAsFailure);
  } catch (error) {
    return finish(deps, spec, ref, 'failed', `${reason}; rollback failed: ${describeError(error)}`);
  }
}

function finish(
  deps: RotationDeps,
  spec: RotationSpec,
  ref: RotationRef,
  outcome: FinishOutcome,
  reason?: string,
  countsAsFailure = true,
): Promise<RotationResult> {
  return finishStep(deps, spec, ref, {
    outcome,
    ...(reason ? { reason } : {}),
    ...(countsAsFailure ? {} : { countsAsFailure: false }),
  });
}

function refused(
  base: { name: string; version: string; rotationId: string; previousFingerprint?: string },
  reason: string,
): RotationResult {
  return { ...base, status: 'refused', reason, targets: [], convergence: 0 };
}
