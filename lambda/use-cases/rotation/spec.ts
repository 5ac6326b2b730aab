/**
 * What a rotation takes and who it talks to: one spec type and one set of dependencies for both
 * drivers (the CLI's in-process driver and the Step Functions workflow's step handler).
 */
import type {
  BundleStore,
  Clock,
  Destination,
  EventPublisher,
  Issuer,
  StateStore,
  TlsProber,
} from '../../domain/ports';
import type { TargetRef } from '../../domain/rotation/rollout';
import type { LockHolder } from '../../domain/rotation/lock';
import type { ManagedCertificateSpec, VerifyEndpoint } from '../managed-certificate';

export interface RotationSpec extends ManagedCertificateSpec {
  /**
   * How long a target may take to serve the new version after delivery.
   * @default verifyPolicy.attempts × verifyPolicy.intervalMs
   */
  readonly verifyTimeoutMs?: number;
  /** Pause between verification rounds. @default verifyPolicy.intervalMs */
  readonly verifyIntervalMs?: number;
  /** Environment of each destination (by destination name), for events and endpoint matching. */
  readonly destinationEnvironments?: ReadonlyMap<string, string | undefined>;
}

export interface RotationDeps {
  readonly issuers: ReadonlyMap<string, Issuer>;
  readonly destinations: ReadonlyMap<string, Destination>;
  readonly bundles: BundleStore;
  readonly state: StateStore;
  readonly prober: TlsProber;
  readonly clock: Clock;
  /** Pauses between verification rounds; injected so tests can run fast. */
  readonly sleep: (ms: number) => Promise<void>;
  /**
   * Where the started and outcome events go (EventBridge in the service; the CLI's publisher and
   * notifier). Never allowed to fail a rotation. @default events are dropped
   */
  readonly events?: EventPublisher;
  /** Called at each transition (progress lines); never allowed to fail the rotation. */
  readonly onProgress?: (progress: RotationProgress) => void | Promise<void>;
  /**
   * How long a rollback re-checks targets of asynchronous destinations (agents that poll) before
   * calling their rollback failed, and how often. Kept well within the rotation Lambda's timeout.
   * @default { timeoutMs: 150000, intervalMs: 5000 }
   */
  readonly rollbackWait?: { readonly timeoutMs: number; readonly intervalMs: number };
  /**
   * Whether a lock's holder is known to be gone (a process on this host that no longer exists), so its
   * lock is taken over at once instead of after its lease. @default never known
   */
  readonly isHolderGone?: (holder: LockHolder) => boolean;
}

export type RotationPhase =
  | 'started'
  | 'issued'
  | 'delivered'
  | 'verifying'
  | 'verified'
  | 'verify-failed'
  | 'rolled-back'
  | 'rollback-failed'
  | 'promoted'
  | 'failed';

export interface RotationProgress {
  readonly phase: RotationPhase;
  readonly name: string;
  readonly version: string;
  readonly target?: string;
  readonly detail?: string;
}

/** Who runs a rotation: the lock owner (CLI invocation id, or the workflow execution name). */
export interface RotationRef {
  readonly name: string;
  readonly version: string;
  readonly owner: string;
  readonly trigger?: 'schedule' | 'manual' | 'upstream' | 'drift';
  /** Why it runs, for the pending record and `status`. */
  readonly reason?: string;
  /** The process holding the lock, when it is one (the CLI). */
  readonly holder?: LockHolder;
}

export function verifyTimeoutOf(spec: RotationSpec): number {
  return spec.verifyTimeoutMs ?? Math.max(1, spec.verifyPolicy.attempts) * spec.verifyPolicy.intervalMs;
}

export function verifyIntervalOf(spec: RotationSpec): number {
  return spec.verifyIntervalMs ?? spec.verifyPolicy.intervalMs;
}

/**
 * Endpoints that prove a target: those that name the target (a host's own endpoint), and, for a
 * destination with an environment, the endpoints of that environment that name no target.
 */
export function endpointsFor(spec: RotationSpec, target: TargetRef): VerifyEndpoint[] {
  const environment = spec.destinationEnvironments?.get(target.destination);
  return spec.verify
    .filter(
      (e) =>
        e.target === target.target ||
        (e.target === undefined && environment !== undefined && e.environment === environment),
    )
    .map((e) => ({ ...e, target: target.target }));
}

export function environmentOf(spec: RotationSpec, destination: string): string | undefined {
  return spec.destinationEnvironments?.get(destination);
}
