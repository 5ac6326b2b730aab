/**
 * What the host agent and certrotor exchange through the state store: the version a host should hold
 * (written by the `agent` destination) and what the agent reports back. Public facts only, never a key.
 */
import type { BundleRef } from './ports';

/** Collection of desired-version records written by the `agent` destination, id `<host>#<certificate>`. */
export const DESIRED_COLLECTION = 'desired';

export function hostRecordId(host: string, certificate: string): string {
  return `${host}#${certificate}`;
}

/** The version a host should hold. Public facts and a reference only, never the key. */
export interface DesiredVersion {
  readonly certificate: string;
  readonly version: string;
  readonly fingerprintSha256: string;
  readonly bundle: BundleRef;
  readonly requestedAt?: string;
}

/** What the `agent` destination writes per host and certificate. */
export interface DesiredRecord extends DesiredVersion {
  readonly host: string;
  /** The version to go back to on rollback. */
  readonly previous?: Omit<DesiredVersion, 'certificate' | 'requestedAt'>;
}

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
