/**
 * Recovery of an interrupted rotation (`certrotor repair`, and the next run, which resumes the pending
 * version through the same steps): takes the lock (a dead holder's lease has run out; `forceUnlock`
 * breaks a lock whose holder the operator knows is gone), then brings every touched target to one
 * consistent, verified state — the new version promoted when every target was verified on it, the
 * previous version restored otherwise — and finishes the rotation with its outcome event.
 */
import { readCertificateState } from '../certificate-state';
import type { RotationResult } from './finish';
import { finishStep } from './finish';
import { breakRotationLock, releaseIfHolderGone } from './lock';
import { readPlan, readTargetRecords } from './records';
import { rollbackStep } from './rollback';
import type { RotationDeps, RotationRef, RotationSpec } from './spec';
import { promoteStep, startStep } from './steps';

export type RepairResult =
  | { readonly repaired: false; readonly reason: string }
  | { readonly repaired: true; readonly result: RotationResult };

export async function repairRotation(
  deps: RotationDeps,
  spec: RotationSpec,
  options: {
    readonly owner: string;
    readonly forceUnlock?: boolean;
    readonly holder?: RotationRef['holder'];
  },
): Promise<RepairResult> {
  const now = deps.clock();
  const pending = (await readCertificateState(deps.state, spec.name, now))?.value.pending;
  if (options.forceUnlock) await breakRotationLock(deps.state, spec.name, now);
  if (!pending) {
    // Killed after it finished but before it unlocked: nothing to repair but the dead holder's lock.
    const released = await releaseIfHolderGone(deps.state, spec.name, now, deps.isHolderGone);
    const note = released ? `; released the lock left by ${released.owner}, whose process is gone` : '';
    return { repaired: false, reason: `${spec.name} has no interrupted rotation to repair${note}` };
  }
  const ref: RotationRef = {
    name: spec.name,
    version: pending.version,
    owner: options.owner,
    reason: 'repair',
    trigger: 'manual',
    ...(options.holder ? { holder: options.holder } : {}),
  };
  const start = await startStep(deps, spec, ref);
  if (!start.started) return { repaired: false, reason: start.reason };
  const plan = await readPlan(deps.state, spec.name, ref.version, deps.clock());
  const records = await readTargetRecords(deps.state, spec.name, ref.version, deps.clock());
  const targets = plan?.batches.flat() ?? [];
  const allVerified =
    pending.bundle !== undefined &&
    targets.length > 0 &&
    targets.every((t) => records.get(`${t.destination}\u0000${t.target}`)?.state === 'verified');
  if (allVerified) {
    const promoted = await promoteStep(deps, spec, ref);
    if (promoted.promoted)
      return { repaired: true, result: await finishStep(deps, spec, ref, { outcome: 'succeeded' }) };
  }
  const summary = await rollbackStep(deps, spec, ref);
  const reason =
    `repaired an interrupted rotation: ${summary.restored} target(s) restored to the previous version` +
    (summary.failed > 0 ? `, ${summary.failed} could not be` : '');
  return { repaired: true, result: await finishStep(deps, spec, ref, { outcome: 'rolled-back', reason }) };
}
