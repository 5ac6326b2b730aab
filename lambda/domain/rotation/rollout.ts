/**
 * The rollout rules every rotation driver follows (the CLI's in-process driver and the Step Functions
 * workflow call the same `decideNext`): targets are split into batches with the canary first, each
 * batch is delivered and verified, and after each batch the recorded target states decide what comes
 * next. Pure: target states in, a decision out.
 */

/** One target of one destination: the unit of delivery, verification and rollback. */
export interface TargetRef {
  readonly destination: string;
  readonly target: string;
}

export interface RolloutPolicy {
  /** Targets updated and verified first, alone. @default 1 */
  readonly canary: number;
  /** Targets updated at once after the canary. @default 5 */
  readonly batchSize: number;
  /**
   * Failed targets tolerated before the whole rollout is rolled back. Tolerance never allows
   * promotion: a rollout with any unverified target is not promoted. @default 0
   */
  readonly failureTolerance: number;
}

export const DEFAULT_ROLLOUT: RolloutPolicy = { canary: 1, batchSize: 5, failureTolerance: 0 };

/**
 * Where one target stands in a rotation. `delivering` is recorded before a delivery starts, so a
 * delivery that dies half way is still rolled back.
 */
export type TargetState =
  'pending' | 'delivering' | 'delivered' | 'verified' | 'failed' | 'rolled-back' | 'rollback-failed';

export interface TargetRecord extends TargetRef {
  readonly state: TargetState;
  readonly error?: string;
  /** Which step failed, when one did: a failed delivery may have changed nothing on the target. */
  readonly failedAt?: 'deliver' | 'verify' | 'promote';
  /** What the target was found to serve or hold after the last step. */
  readonly fingerprintSha256?: string;
  /** It had been verified on the new version before a rollback restored it (for convergence). */
  readonly verifiedNew?: boolean;
}

/** Splits targets into batches: the canary batch alone first, then `batchSize` at a time. */
export function planBatches(targets: readonly TargetRef[], rollout: RolloutPolicy): TargetRef[][] {
  const canary = targets.slice(0, Math.max(0, rollout.canary));
  const rest = targets.slice(canary.length);
  const size = Math.max(1, rollout.batchSize);
  const batches: TargetRef[][] = canary.length > 0 ? [canary] : [];
  for (let i = 0; i < rest.length; i += size) batches.push(rest.slice(i, i + size));
  return batches;
}

export type RolloutDecision =
  | { readonly action: 'deliver'; readonly batch: number; readonly targets: readonly TargetRef[] }
  | { readonly action: 'promote' }
  | { readonly action: 'rollback'; readonly reason: string }
  | { readonly action: 'hold'; readonly reason: string };

const SETTLED: ReadonlySet<TargetState> = new Set(['verified', 'failed']);

/**
 * What to do next, from the batches and the recorded state of each target:
 * a failed canary → roll back (a broken certificate should touch one host, not a batch);
 * more failures than tolerated → roll back;
 * a batch not yet settled → deliver it;
 * every target verified → promote;
 * otherwise (failures within tolerance) → hold: nothing is promoted, verified targets keep the new
 * (valid) certificate, the rest keep the old (valid) one, and a later run retries the stragglers.
 */
export function decideNext(
  batches: readonly (readonly TargetRef[])[],
  records: ReadonlyMap<string, TargetRecord>,
  rollout: RolloutPolicy,
): RolloutDecision {
  const stateOf = (t: TargetRef) => records.get(targetKey(t))?.state ?? 'pending';
  const failed = batches.flat().filter((t) => stateOf(t) === 'failed');
  const hasCanary = rollout.canary > 0 && batches.length > 0;
  if (hasCanary && batches[0]!.some((t) => stateOf(t) === 'failed')) {
    return { action: 'rollback', reason: `the canary failed: ${describeTargets(failed, records)}` };
  }
  if (failed.length > rollout.failureTolerance) {
    return {
      action: 'rollback',
      reason: `failed on ${describeTargets(failed, records)} (tolerance ${rollout.failureTolerance})`,
    };
  }
  const next = batches.findIndex((batch) => batch.some((t) => !SETTLED.has(stateOf(t))));
  if (next >= 0) return { action: 'deliver', batch: next, targets: batches[next]! };
  if (failed.length === 0) return { action: 'promote' };
  return {
    action: 'hold',
    reason: `not promoted: ${describeTargets(failed, records)} not verified (within failure tolerance ${rollout.failureTolerance})`,
  };
}

/** Share of targets verified on the new version, 0-100 with one decimal. */
export function convergencePercent(verified: number, total: number): number {
  if (total === 0) return 0;
  return Math.round((Math.min(verified, total) / total) * 1000) / 10;
}

export function targetKey(t: TargetRef): string {
  return `${t.destination}\u0000${t.target}`;
}

export function describeTargets(
  list: readonly TargetRef[],
  records?: ReadonlyMap<string, TargetRecord>,
): string {
  return list
    .map((t) => {
      const error = records?.get(targetKey(t))?.error ?? (t as Partial<TargetRecord>).error;
      return `${t.target}${error ? ` (${error})` : ''}`;
    })
    .join(', ');
}
