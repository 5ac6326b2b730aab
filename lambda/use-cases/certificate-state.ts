/**
 * The state certrotor keeps per managed certificate, on top of the StateStore port: which version is
 * current, which is kept as the rollback target, and which rotation (if any) is pending. Only
 * references and public facts are stored here; key material stays in the BundleStore.
 */
import { createHash } from 'node:crypto';
import { COLLECTIONS, type CertificateState, type Lock } from '../domain/certificate-state';
import type { StateStore, StoredItem } from '../domain/ports';
import { ConditionFailedError } from '../domain/ports';

export {
  COLLECTIONS,
  type CertificateState,
  type Lock,
  type PendingRotation,
  type VersionRecord,
} from '../domain/certificate-state';

export async function readCertificateState(
  store: StateStore,
  name: string,
  now: Date,
): Promise<StoredItem<CertificateState> | undefined> {
  return store.get<CertificateState>(COLLECTIONS.certificates, name, now);
}

/** Read-modify-write with optimistic concurrency; retries a few times on a concurrent change. */
export async function updateCertificateState(
  store: StateStore,
  name: string,
  now: Date,
  change: (state: CertificateState) => CertificateState,
): Promise<CertificateState> {
  for (let attempt = 0; ; attempt++) {
    const existing = await readCertificateState(store, name, now);
    const next = change(existing?.value ?? { name, failedAttempts: 0 });
    try {
      await store.put(
        COLLECTIONS.certificates,
        name,
        next,
        now,
        existing ? { expectedRevision: existing.revision } : { ifAbsent: true },
      );
      return next;
    } catch (error) {
      if (!(error instanceof ConditionFailedError) || attempt >= 4) throw error;
    }
  }
}

/**
 * A deterministic version id for "the next version after `current`": a duplicate scheduled
 * invocation computes the same id (so it cannot start a second rotation), and a retry after a failure
 * reuses it, with the certificate already issued for it (no new key per attempt).
 */
export function nextVersionId(name: string, state: CertificateState | undefined): string {
  const basis = `${name}|${state?.current?.fingerprintSha256 ?? 'initial'}`;
  return `v${createHash('sha256').update(basis).digest('hex').slice(0, 16)}`;
}

/** One rotation per certificate at a time: a conditional write that expires so a crash can't wedge it. */
export async function acquireLock(
  store: StateStore,
  name: string,
  lock: Lock,
  now: Date,
  ttlMs: number,
): Promise<boolean> {
  try {
    await store.put(COLLECTIONS.locks, name, lock, now, {
      ifAbsent: true,
      expiresAt: new Date(now.getTime() + ttlMs),
    });
    return true;
  } catch (error) {
    if (error instanceof ConditionFailedError) return false;
    throw error;
  }
}

export async function releaseLock(store: StateStore, name: string, owner: string, now: Date): Promise<void> {
  const held = await store.get<Lock>(COLLECTIONS.locks, name, now);
  if (held && held.value.owner === owner)
    await store.delete(COLLECTIONS.locks, name, { expectedRevision: held.revision });
}
