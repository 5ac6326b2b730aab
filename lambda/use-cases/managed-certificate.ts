/**
 * The use-case view of a managed certificate: what to issue, where to deliver it, how to verify it.
 * One mapping from the validated configuration produces it for every driver
 * (lambda/config/views/certificates.ts), so use cases don't depend on the configuration file's layout.
 */
import type { CertificateUsage, KeySpec } from '../domain/ports';

export interface VerifyEndpoint {
  readonly environment: string;
  readonly host: string;
  readonly port: number;
  readonly servername?: string;
  /** The destination target (host) that serves this endpoint; verification of that target probes it. */
  readonly target?: string;
  /** Trust anchors for this endpoint (the issuing CA for private PKI). */
  readonly caPem?: readonly string[];
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

export interface VerifyPolicy {
  /** Probe attempts per endpoint before a target counts as not serving the new certificate. @default 5 */
  readonly attempts: number;
  /** Pause between attempts (reloads take a moment). @default 500 */
  readonly intervalMs: number;
  /** Connect + handshake timeout per probe. @default 5000 */
  readonly timeoutMs: number;
}

export interface ManagedCertificateSpec {
  readonly name: string;
  readonly commonName: string;
  readonly dnsNames: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly keySpec: KeySpec;
  readonly usage: CertificateUsage;
  readonly validityDays: number;
  readonly issuer: string;
  /** Its CA renews it (an `acm` issuer): certrotor redistributes the CA's renewals. */
  readonly caRenews?: boolean;
  readonly destinations: readonly string[];
  readonly verify: readonly VerifyEndpoint[];
  readonly environments: readonly string[];
  readonly rollout: RolloutPolicy;
  readonly verifyPolicy: VerifyPolicy;
  readonly owner?: string;
  readonly runbookUrl?: string;
}

export const DEFAULT_ROLLOUT: RolloutPolicy = { canary: 1, batchSize: 5, failureTolerance: 0 };
export const DEFAULT_VERIFY: VerifyPolicy = { attempts: 5, intervalMs: 500, timeoutMs: 5000 };
