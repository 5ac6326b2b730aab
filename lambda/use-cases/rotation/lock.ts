/**
 * One rotation per certificate at a time: a lock that names its holder and carries a short lease. Every
 * step of the holder renews the lease, so a live rotation keeps its lock however long it runs, and a
 * holder that died (a killed CLI, a timed-out execution) loses it when the lease runs out: the next
 * run or `repair` takes it over. A refusal names the holder, the lease's end and the way out.
 */
import { ConditionFailedError, type StateStore } from '../../domain/ports';
import type { LockHolder } from '../../domain/rotation/lock';

export type { LockHolder };
import { COLLECTIONS, type Lock } from '../certificate-state';
import type { RotationRef } from './spec';

/** How long a lock outlives the last step of its holder. Longer than any one step (a Lambda's 5 minutes). */
export const ROTATION_LOCK_LEASE_MS = 10 * 60_000;
/** A lease renewed less than this long ago is not written again (it still has over 9 minutes to run). */
export const RENEWAL_INTERVAL_MS = 15_000;

export interface RotationLock extends Lock {
  readonly leaseUntil?: string;
  readonly holder?: LockHolder;
  /** Why the rotation runs, as whoever took the lock said it (the planner, for the workflow it starts). */
  readonly reason?: string;
}

export type LockOutcome =
  /**
   * `alreadyHeld`: the owner held it already (a retried start, or the planner's lock for this
   * execution), with the reason it was taken for.
   */
  | { readonly taken: true; readonly alreadyHeld: boolean; readonly reason?: string }
  | { readonly taken: false; readonly reason: string };

/** Takes the lock for `ref.owner`, or finds it already held by that owner (a retried start). */
export async function acquireRotationLock(
  state: StateStore,
  name: string,
  ref: RotationRef,
  now: Date,
  isHolderGone?: (holder: LockHolder) => boolean,
): Promise<LockOutcome> {
  const lock: RotationLock = {
    owner: ref.owner,
    acquiredAt: now.toISOString(),
    purpose: `rotate ${name} ${ref.version}`,
    leaseUntil: new Date(now.getTime() + ROTATION_LOCK_LEASE_MS).toISOString(),
    ...(ref.holder ? { holder: ref.holder } : {}),
    ...(ref.reason ? { reason: ref.reason.slice(0, 500) } : {}),
  };
  try {
    await state.put(COLLECTIONS.locks, name, lock, now, {
      ifAbsent: true,
      expiresAt: new Date(now.getTime() + ROTATION_LOCK_LEASE_MS),
    });
    return { taken: true, alreadyHeld: false };
  } catch (error) {
    if (!(error instanceof ConditionFailedError)) throw error;
  }
  const held = await state.get<RotationLock>(COLLECTIONS.locks, name, now);
  if (!held) return acquireRotationLock(state, name, ref, now);
  if (held.value.owner === ref.owner) {
    await renewRotationLock(state, name, ref, now);
    return { taken: true, alreadyHeld: true, ...(held.value.reason ? { reason: held.value.reason } : {}) };
  }
  // Its holder died (a killed process on this host): take the lock over, as its lease would allow later.
  if (held.value.holder && isHolderGone?.(held.value.holder)) {
    try {
      await state.delete(COLLECTIONS.locks, name, { expectedRevision: held.revision });
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
    }
    return acquireRotationLock(state, name, ref, now);
  }
  return { taken: false, reason: lockRefusal(name, held.value) };
}

/**
 * Extends the lease of a lock `ref.owner` holds. Steps of one rotation renew concurrently (a batch's
 * targets), so a conflicting write by the same owner is a renewal, not a loss; a lock now held by
 * someone else is.
 */
export async function renewRotationLock(
  state: StateStore,
  name: string,
  ref: RotationRef,
  now: Date,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const held = await state.get<RotationLock>(COLLECTIONS.locks, name, now);
    if (held && held.value.owner !== ref.owner) {
      throw new LockLostError(`${name}: the rotation lock is now held by ${held.value.owner}`);
    }
    // Renewed by this rotation moments ago (a batch's steps renew together): its lease is as good as
    // a new one, so there is nothing to write.
    const leaseLeft = held?.value.leaseUntil ? Date.parse(held.value.leaseUntil) - now.getTime() : 0;
    if (held && attempt === 0 && leaseLeft > ROTATION_LOCK_LEASE_MS - RENEWAL_INTERVAL_MS) return;
    const value: RotationLock = {
      ...(held?.value ?? {
        owner: ref.owner,
        acquiredAt: now.toISOString(),
        purpose: `rotate ${name} ${ref.version}`,
      }),
      leaseUntil: new Date(now.getTime() + ROTATION_LOCK_LEASE_MS).toISOString(),
    };
    try {
      await state.put(COLLECTIONS.locks, name, value, now, {
        ...(held ? { expectedRevision: held.revision } : { ifAbsent: true }),
        expiresAt: new Date(now.getTime() + ROTATION_LOCK_LEASE_MS),
      });
      return;
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
      // Another step of this rotation renewed it first (a batch of hundreds renews at once): its lease
      // is as fresh as ours would be. Only a lock now held by someone else (or gone) is a loss.
      const after = await state.get<RotationLock>(COLLECTIONS.locks, name, now);
      if (after && after.value.owner === ref.owner && after.revision !== held?.revision) return;
      if (attempt >= 4) throw new LockLostError(`${name}: the rotation lock changed under this rotation`);
    }
  }
}

export async function releaseRotationLock(
  state: StateStore,
  name: string,
  owner: string,
  now: Date,
): Promise<void> {
  const held = await state.get<RotationLock>(COLLECTIONS.locks, name, now);
  if (held && held.value.owner === owner)
    await state.delete(COLLECTIONS.locks, name, { expectedRevision: held.revision });
}

/**
 * Releases a lock whose holder is known to be gone (a killed process on this host), returning it; a
 * live holder's lock stays. A rotation killed after it finished, before it unlocked, leaves such a lock.
 */
export async function releaseIfHolderGone(
  state: StateStore,
  name: string,
  now: Date,
  isHolderGone: ((holder: LockHolder) => boolean) | undefined,
): Promise<Lock | undefined> {
  const held = await state.get<RotationLock>(COLLECTIONS.locks, name, now);
  if (!held?.value.holder || !isHolderGone?.(held.value.holder)) return undefined;
  try {
    await state.delete(COLLECTIONS.locks, name, { expectedRevision: held.revision });
  } catch (error) {
    if (!(error instanceof ConditionFailedError)) throw error;
    return undefined;
  }
  return held.value;
}

/** Breaks a lock whoever holds it (`certrotor repair --force-unlock`): the caller checked its holder is gone. */
export async function breakRotationLock(
  state: StateStore,
  name: string,
  now: Date,
): Promise<Lock | undefined> {
  const held = await state.get<RotationLock>(COLLECTIONS.locks, name, now);
  if (held) await state.delete(COLLECTIONS.locks, name, { expectedRevision: held.revision });
  return held?.value;
}

export function lockRefusal(name: string, lock: RotationLock): string {
  const until = lock.leaseUntil ? `, lease until ${lock.leaseUntil}` : '';
  const who = lock.holder
    ? `${lock.owner} (\`certrotor ${lock.holder.command}\`, pid ${lock.holder.pid} on ${lock.holder.host})`
    : lock.owner;
  return (
    `rotation of ${name} is already in progress (lock held by ${who} since ${lock.acquiredAt}${until}); ` +
    `if that run is gone, wait for the lease to end or run \`certrotor repair ${name} --force-unlock\``
  );
}

/** The lock was lost mid-rotation (its lease ran out and another run took it): stop touching targets. */
export class LockLostError extends Error {
  override readonly name = 'LockLostError';
}
