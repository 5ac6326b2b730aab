/**
 * What the agent's steps share: host reports, health results, local state, dependencies and outcomes.
 */
import type { HostReport } from '../../domain/host-agent';
import type { AgentStateFile, CertificateInstaller, HealthCheck } from '../../domain/ports';
import type { BundleStore, Clock, StateStore } from '../../domain/ports';
import type { DesiredVersionSource } from '../../domain/ports';

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
