/**
 * Rollback: every target the rotation touched (recorded `delivering` or later) is restored to the
 * current version and verified serving it again. Targets of asynchronous destinations (agents that
 * poll) are re-checked for a bounded time, since their hosts act on their next poll.
 */
import { isAsynchronous } from '../../domain/ports';
import type { TargetRecord } from '../../domain/rotation/rollout';
import { readCertificateState } from '../certificate-state';
import { readTargetRecords, writeTargetRecord } from './records';
import { checkTarget, guard, progress } from './steps';
import { renewRotationLock } from './lock';
import {
  type RotationDeps,
  type RotationRef,
  type RotationSpec,
  verifyIntervalOf,
  verifyTimeoutOf,
} from './spec';

const DEFAULT_ROLLBACK_WAIT = { timeoutMs: 150_000, intervalMs: 5_000 };

export interface RollbackSummary {
  readonly restored: number;
  readonly failed: number;
  /** Every restored target was verified serving the previous version. */
  readonly verified: boolean;
  /** Where each touched target stands after the rollback. */
  readonly targets: readonly TargetRecord[];
}

export async function rollbackStep(
  deps: RotationDeps,
  spec: RotationSpec,
  ref: RotationRef,
): Promise<RollbackSummary> {
  const now = deps.clock();
  await renewRotationLock(deps.state, spec.name, ref, now);
  const records = [...(await readTargetRecords(deps.state, spec.name, ref.version, now)).values()];
  const previous = (await readCertificateState(deps.state, spec.name, now))?.value.current?.fingerprintSha256;
  const touched = records.filter((r) => r.state !== 'pending' && r.state !== 'rolled-back');
  const asynchronous = (r: TargetRecord) => {
    const d = deps.destinations.get(r.destination);
    return d !== undefined && isAsynchronous(d);
  };
  const [immediate, later] = await Promise.all([
    Promise.all(touched.filter((r) => !asynchronous(r)).map((r) => rollbackOne(deps, spec, r, previous))),
    Promise.all(touched.filter(asynchronous).map((r) => rollbackOne(deps, spec, r, undefined))),
  ]);
  const settled = previous ? await settle(deps, spec, ref, previous, later) : later;
  const outcome = [...immediate, ...settled];
  for (const r of outcome) await writeTargetRecord(deps.state, spec.name, ref.version, r, deps.clock());
  for (const r of outcome)
    await progress(deps, {
      phase: r.state === 'rollback-failed' ? 'rollback-failed' : 'rolled-back',
      name: spec.name,
      version: ref.version,
      target: r.target,
      ...(r.error ? { detail: r.error } : {}),
    });
  const failed = outcome.filter((r) => r.state === 'rollback-failed').length;
  return { restored: outcome.length - failed, failed, verified: failed === 0, targets: outcome };
}

async function rollbackOne(
  deps: RotationDeps,
  spec: RotationSpec,
  r: TargetRecord,
  previous: string | undefined,
): Promise<TargetRecord> {
  const destination = deps.destinations.get(r.destination)!;
  // A delivery that was recorded but may never have happened (the process died, or it failed): if the
  // target still holds the current version there is nothing to undo, and undoing would install the
  // version before it.
  if (previous && (r.state === 'delivering' || r.failedAt === 'deliver')) {
    const untouched = await checkTarget(deps, spec, r, previous, 'previous');
    // A failed delivery stays this target's failure (the report names it); it needs no restoring.
    if (untouched.ok)
      return r.state === 'failed' ? r : { ...r, state: 'rolled-back', fingerprintSha256: previous };
  }
  const outcome = await guard(r, () => destination.rollback(r.target));
  if (r.state === 'verified') r = { ...r, verifiedNew: true };
  // The failure that caused the rollback stays on the record: the report must still name it.
  const cause = r.state === 'failed' ? r.error : undefined;
  if (r.failedAt === 'deliver') {
    // Delivery never completed (host down, write refused): the host most likely still holds the old
    // version, so a rollback that cannot reach it is noted, not counted as a broken host.
    return outcome.ok
      ? { ...r, state: 'rolled-back' }
      : { ...r, state: 'failed', error: join(cause, `rollback not confirmed: ${outcome.error}`) };
  }
  if (!outcome.ok)
    return { ...r, state: 'rollback-failed', error: join(cause, `rollback failed: ${outcome.error}`) };
  if (!previous) return { ...r, state: 'rolled-back', ...(cause ? { error: cause } : {}) };
  const check = await checkUntil(deps, spec, r, previous);
  if (!check.ok)
    return { ...r, state: 'rollback-failed', error: join(cause, `after rollback ${check.error}`) };
  return { ...r, state: 'rolled-back', fingerprintSha256: previous, ...(cause ? { error: cause } : {}) };
}

/** A restored target reloads: check it in rounds, as a delivery is verified, until its verify timeout. */
async function checkUntil(deps: RotationDeps, spec: RotationSpec, r: TargetRecord, previous: string) {
  const interval = Math.max(1, verifyIntervalOf(spec));
  const rounds = Math.max(1, Math.ceil(verifyTimeoutOf(spec) / interval));
  let check = await checkTarget(deps, spec, r, previous, 'previous');
  for (let round = 1; !check.ok && round < rounds; round++) {
    await deps.sleep(interval);
    check = await checkTarget(deps, spec, r, previous, 'previous');
  }
  return check;
}

/** Re-checks asynchronous targets until each serves the previous version or the wait runs out. */
async function settle(
  deps: RotationDeps,
  spec: RotationSpec,
  ref: RotationRef,
  previous: string,
  records: readonly TargetRecord[],
): Promise<TargetRecord[]> {
  const wait = deps.rollbackWait ?? DEFAULT_ROLLBACK_WAIT;
  const deadline = deps.clock().getTime() + wait.timeoutMs;
  const out = [...records];
  let open = out.flatMap((r, i) => (r.state === 'rolled-back' && r.failedAt !== 'deliver' ? [i] : []));
  const errors = new Map<number, string>();
  for (;;) {
    const checks = await Promise.all(
      open.map(async (i) => ({ i, check: await checkTarget(deps, spec, out[i]!, previous, 'previous') })),
    );
    for (const { i, check } of checks) {
      if (check.ok) out[i] = { ...out[i]!, fingerprintSha256: previous };
      else errors.set(i, check.error);
    }
    open = checks.filter(({ check }) => !check.ok).map(({ i }) => i);
    if (open.length === 0 || deps.clock().getTime() >= deadline) break;
    await renewRotationLock(deps.state, spec.name, ref, deps.clock());
    await deps.sleep(Math.min(wait.intervalMs, Math.max(0, deadline - deps.clock().getTime())));
  }
  for (const i of open) {
    const r = out[i]!;
    const error = `after rollback not confirmed within ${Math.round(wait.timeoutMs / 1000)} s: ${errors.get(i) ?? 'does not serve the previous version'}`;
    out[i] = { ...r, state: 'rollback-failed', error: join(r.error, error) };
  }
  return out;
}

const join = (a: string | undefined, b: string) => (a ? `${a}; ${b}` : b);
