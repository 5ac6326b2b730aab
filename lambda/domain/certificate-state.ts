/**
 * What certrotor records per managed certificate (which version is current, which is kept as the
 * rollback target, which rotation is pending) and the state store's collection names. Records only:
 * reading and changing them is lambda/use-cases/certificate-state.ts.
 */
import type { CertificateFacts } from './certificate';
import type { BundleRef } from './ports';

export interface VersionRecord {
  readonly version: string;
  readonly fingerprintSha256: string;
  readonly notAfter: string;
  readonly notBefore: string;
  readonly bundle: BundleRef;
  readonly promotedAt?: string;
  /** Public facts of this version, for findings and status. */
  readonly facts?: CertificateFacts;
}

export interface PendingRotation {
  readonly version: string;
  readonly rotationId: string;
  readonly startedAt: string;
  readonly reason: string;
  readonly bundle?: BundleRef;
  readonly fingerprintSha256?: string;
  /** Public facts of the issued version, once issued. */
  readonly facts?: CertificateFacts;
}

export interface CertificateState {
  readonly name: string;
  readonly current?: VersionRecord;
  /** Kept as the rollback target after promotion. */
  readonly previous?: VersionRecord;
  readonly pending?: PendingRotation;
  /** Consecutive failed attempts at the next version; decides the backoff before the next attempt. */
  readonly failedAttempts: number;
  readonly lastFailure?: { readonly at: string; readonly reason: string; readonly version: string };
}

export const COLLECTIONS = {
  certificates: 'certificates',
  locks: 'locks',
  rotations: 'rotations',
  alerts: 'alerts',
  observations: 'observations',
  hosts: 'hosts',
  announcements: 'announcements',
  silences: 'silences',
} as const;

export interface Lock {
  readonly owner: string;
  readonly acquiredAt: string;
  readonly purpose: string;
}
