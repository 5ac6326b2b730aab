/**
 * What the agent's steps share: host reports, health results, local state, dependencies and outcomes.
 */
import type { BundleStore, CertificateBundle, Clock, StateStore, TargetOutcome } from '../../domain/ports';
import type { DesiredVersionSource } from './desired-source';

/** What an agent reports per certificate, in `hosts` under `<host>#<certificate>`. Never key material. */
export interface HostReport {
  readonly host: string;
  readonly certificate: string;
  readonly environment?: string;
  /** Fingerprint of the certificate file installed now. */
  readonly installedFingerprint?: string;
  readonly installedVersion?: string;
  /** Fingerprint seen in a fresh handshake to the host's own endpoint (absent without a handshake check). */
  readonly servedFingerprint?: string;
  /** The desired version seen in this cycle. */
  readonly desiredVersion?: string;
  readonly desiredFingerprint?: string;
  /** Set when this cycle tried to install a version: the fingerprint it tried. */
  readonly attemptedFingerprint?: string;
  readonly reloadOk: boolean;
  readonly healthy: boolean;
  readonly at: string;
  readonly error?: string;
}

/** One certificate's files on this host (the local FileDestination, for one host). */
export interface CertificateInstaller {
  installedFingerprint(): Promise<string | undefined>;
  /** Writes the files atomically, keeps the previous set, reloads; restores the previous set when the reload fails. */
  install(bundle: CertificateBundle): Promise<TargetOutcome>;
  /** Puts the previous set back and reloads. */
  restorePrevious(): Promise<TargetOutcome>;
}

export interface HealthResult {
  readonly healthy: boolean;
  readonly servedFingerprint?: string;
  readonly error?: string;
}

/** How the host proves it serves what it installed. */
export interface HealthCheck {
  check(expectedFingerprint: string | undefined): Promise<HealthResult>;
}

/** What the agent remembers across restarts (a small file on the host). */
export interface AgentLocalState {
  readonly certificates: Readonly<
    Record<
      string,
      {
        /** The last version that failed here: not retried until the retry delay passed. */
        readonly failed?: {
          readonly fingerprintSha256: string;
          readonly version: string;
          readonly at: string;
          readonly reloadOk?: boolean;
          readonly error?: string;
        };
        /** A report the store did not accept; sent first on the next cycle. */
        readonly unsent?: HostReport;
      }
    >
  >;
}

export interface AgentStateFile {
  load(): Promise<AgentLocalState>;
  save(state: AgentLocalState): Promise<void>;
}

export interface AgentCertificate {
  readonly name: string;
  readonly installer: CertificateInstaller;
  readonly healthCheck?: HealthCheck;
}

export interface AgentDeps {
  readonly host: string;
  readonly environment?: string;
  readonly certificates: readonly AgentCertificate[];
  readonly desired: DesiredVersionSource;
  readonly bundles: BundleStore;
  /** Where reports go. */
  readonly state: StateStore;
  readonly local: AgentStateFile;
  readonly clock: Clock;
  /** Lines for the agent's log: fingerprints and versions, never key material. */
  readonly log?: (line: string) => void;
}

export type CertificateCycleOutcome =
  'unchanged' | 'installed' | 'failed' | 'skipped-failed-version' | 'nothing-desired' | 'store-unavailable';

export interface CycleResult {
  readonly certificate: string;
  readonly outcome: CertificateCycleOutcome;
  readonly report?: HostReport;
  /** True when the report reached the store. */
  readonly reported: boolean;
  readonly error?: string;
}

export interface CycleOptions {
  /** Retry a version that failed here only after this long. @default 1 hour */
  readonly retryFailedAfterMs?: number;
  /** Retry failed versions now (on-demand trigger, `--once`). */
  readonly force?: boolean;
}
