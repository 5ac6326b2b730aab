/**
 * The host agent (`certrotor agent`): runs on a host, pulls the version each of its certificates
 * should have, installs it, proves the host serves it, and reports back.
 *
 * Primary course of one cycle, per certificate: send any report left unsent by a store outage →
 * read the desired version → if the installed files hold another certificate: fetch the bundle →
 * install it (atomic writes, key 0600, previous version kept, reload with a timeout) → health check
 * (a fresh handshake to the host's own endpoint, or a check command) → report. A failed health
 * check puts the previous files back, reloads again and reports the failure; the same version is not
 * retried until `retryFailedAfterMs` has passed (or on demand), so a broken version does not flap
 * the host. When the store cannot be read nothing on disk changes: the host keeps serving what it
 * has, and the report waits for the next cycle.
 *
 * Ports only; the CLI composes it with the local or AWS adapters.
 */
import { describeError } from '../domain/errors';
import type {
  BundleRef,
  BundleStore,
  CertificateBundle,
  Clock,
  ProbeRequest,
  RandomSource,
  StateStore,
  TargetOutcome,
  TlsProber,
} from '../domain/ports';
import { scrubPrivateKeys } from '../domain/secret';
import { COLLECTIONS } from './certificate-state';

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

/** Where an agent learns which version it should install. */
export interface DesiredVersionSource {
  readonly name: string;
  /** Undefined when nothing is desired yet. Throws when the store cannot be read. */
  desired(host: string, certificate: string, now: Date): Promise<DesiredVersion | undefined>;
}

/** Desired versions from the state store (`desired` records written by the `agent` destination). */
export class StateStoreDesiredSource implements DesiredVersionSource {
  readonly name = 'state-store';
  constructor(private readonly state: StateStore) {}

  async desired(host: string, certificate: string, now: Date): Promise<DesiredVersion | undefined> {
    const item = await this.state.get<DesiredRecord>(
      DESIRED_COLLECTION,
      hostRecordId(host, certificate),
      now,
    );
    return item?.value;
  }
}

/**
 * The first source that names a desired version wins: with the AWS backend, the `desired` record the
 * rotation workflow writes while it rolls out (so hosts install, and are verified, before promotion;
 * a rollback points it back), else the promoted version (the secret's AWSCURRENT) for certificates no
 * workflow has rolled out to this host yet. A source that cannot be read is an outage, never a
 * reason to fall through to an older answer.
 */
export class FirstDesiredSource implements DesiredVersionSource {
  readonly name: string;
  constructor(private readonly sources: readonly DesiredVersionSource[]) {
    this.name = sources.map((s) => s.name).join(', then ');
  }

  async desired(host: string, certificate: string, now: Date): Promise<DesiredVersion | undefined> {
    for (const source of this.sources) {
      const found = await source.desired(host, certificate, now);
      if (found) return found;
    }
    return undefined;
  }
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

/** A fresh handshake to the host's own endpoint must show the installed certificate. */
export function handshakeHealthCheck(
  prober: TlsProber,
  request: ProbeRequest,
  options: { attempts?: number; intervalMs?: number; sleep: (ms: number) => Promise<void> },
): HealthCheck {
  const attempts = Math.max(1, options.attempts ?? 5);
  const where = `${request.host}:${request.port}`;
  return {
    async check(expected) {
      let last: HealthResult = { healthy: false, error: `${where}: not probed` };
      for (let attempt = 0; attempt < attempts; attempt++) {
        if (attempt > 0) await options.sleep(options.intervalMs ?? 500);
        const results = await prober.probe(request);
        const failed = results.find((r) => !r.ok || r.chain.length === 0);
        const served = results[0]?.chain[0]?.facts.fingerprintSha256;
        if (results.length === 0) last = { healthy: false, error: `${where}: resolved to no address` };
        else if (failed)
          last = { healthy: false, error: `${where} handshake failed: ${failed.error ?? 'no certificate'}` };
        else if (expected !== undefined && served !== expected)
          last = {
            healthy: false,
            servedFingerprint: served,
            error: `${where} serves ${served ?? 'nothing'}, expected ${expected}`,
          };
        else return { healthy: true, ...(served ? { servedFingerprint: served } : {}) };
        if (last.servedFingerprint === undefined && served !== undefined)
          last = { ...last, servedFingerprint: served };
      }
      return last;
    },
  };
}

/** Every check must pass; the served fingerprint comes from the first that saw one. */
export function allHealthChecks(checks: readonly HealthCheck[]): HealthCheck {
  return {
    async check(expected) {
      let served: string | undefined;
      for (const c of checks) {
        const r = await c.check(expected);
        served ??= r.servedFingerprint;
        if (!r.healthy) return { ...r, ...(served ? { servedFingerprint: served } : {}) };
      }
      return { healthy: true, ...(served ? { servedFingerprint: served } : {}) };
    },
  };
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

/** One pass over every certificate of this host. Never throws for a single certificate's trouble. */
export async function runAgentCycle(deps: AgentDeps, options: CycleOptions = {}): Promise<CycleResult[]> {
  let local = await loadLocal(deps);
  const results: CycleResult[] = [];
  for (const certificate of deps.certificates) {
    const entry = local.certificates[certificate.name] ?? {};
    const { result, failed } = await cycleOne(deps, certificate, entry.failed, options);
    const reported = result.report ? await sendReport(deps, result.report) : false;
    let unsent = result.report && !reported ? result.report : undefined;
    // A report left by an earlier outage is superseded by this one; send it only when this cycle has none.
    if (!result.report && entry.unsent)
      unsent = (await sendReport(deps, entry.unsent)) ? undefined : entry.unsent;
    local = {
      certificates: {
        ...local.certificates,
        [certificate.name]: { ...(failed ? { failed } : {}), ...(unsent ? { unsent } : {}) },
      },
    };
    results.push({ ...result, reported });
    log(deps, describeResult(deps.host, { ...result, reported }));
  }
  try {
    await deps.local.save(local);
  } catch (error) {
    log(deps, `agent ${deps.host}: could not save local state: ${scrubPrivateKeys(describeError(error))}`);
  }
  return results;
}

type FailedMark = NonNullable<AgentLocalState['certificates'][string]['failed']>;

async function cycleOne(
  deps: AgentDeps,
  certificate: AgentCertificate,
  failedBefore: FailedMark | undefined,
  options: CycleOptions,
): Promise<{ result: Omit<CycleResult, 'reported'>; failed?: FailedMark }> {
  const name = certificate.name;
  const now = deps.clock();
  let installed: string | undefined;
  try {
    installed = await certificate.installer.installedFingerprint();
  } catch (error) {
    installed = undefined;
    log(deps, `agent ${deps.host}: ${name}: cannot read installed files: ${describeError(error)}`);
  }
  const base = (extra: Partial<HostReport>): HostReport => ({
    host: deps.host,
    certificate: name,
    ...(deps.environment ? { environment: deps.environment } : {}),
    ...(installed ? { installedFingerprint: installed } : {}),
    reloadOk: true,
    healthy: false,
    at: deps.clock().toISOString(),
    ...extra,
  });

  let desired: DesiredVersion | undefined;
  try {
    desired = await deps.desired.desired(deps.host, name, now);
  } catch (error) {
    // Store outage: touch nothing, report what is served so the record catches up later.
    const error_ = `cannot read the desired version from ${deps.desired.name}: ${clean(error)}`;
    const health = await checkHealth(certificate, installed);
    return {
      result: {
        certificate: name,
        outcome: 'store-unavailable',
        report: base({ ...healthFields(health), error: error_ }),
        error: error_,
      },
      ...(failedBefore ? { failed: failedBefore } : {}),
    };
  }
  const desiredFields = desired
    ? { desiredVersion: desired.version, desiredFingerprint: desired.fingerprintSha256 }
    : {};

  if (!desired || desired.fingerprintSha256 === installed) {
    const health = await checkHealth(certificate, installed);
    const installedVersion = desired && desired.fingerprintSha256 === installed ? desired.version : undefined;
    return {
      result: {
        certificate: name,
        outcome: desired ? 'unchanged' : 'nothing-desired',
        report: base({
          ...desiredFields,
          ...(installedVersion ? { installedVersion } : {}),
          ...healthFields(health),
        }),
      },
      // Once the desired version is installed, an old failure no longer matters.
      ...(failedBefore && desired && failedBefore.fingerprintSha256 !== desired.fingerprintSha256
        ? { failed: failedBefore }
        : {}),
    };
  }

  const retryAfter = options.retryFailedAfterMs ?? 3_600_000;
  if (
    !options.force &&
    failedBefore?.fingerprintSha256 === desired.fingerprintSha256 &&
    now.getTime() - Date.parse(failedBefore.at) < retryAfter
  ) {
    const health = await checkHealth(certificate, installed);
    const error = `${failedBefore.error ?? `version ${desired.version} failed here`} (at ${failedBefore.at}; not retried before ${new Date(Date.parse(failedBefore.at) + retryAfter).toISOString()})`;
    return {
      result: {
        certificate: name,
        outcome: 'skipped-failed-version',
        report: base({
          ...desiredFields,
          attemptedFingerprint: desired.fingerprintSha256,
          ...healthFields(health),
          reloadOk: failedBefore.reloadOk ?? true,
          healthy: false,
          error,
        }),
        error,
      },
      failed: failedBefore,
    };
  }

  const attempt = await installVersion(deps, certificate, desired);
  installed = attempt.installedFingerprint;
  const report = base({
    ...desiredFields,
    attemptedFingerprint: desired.fingerprintSha256,
    ...(attempt.installedFingerprint ? { installedFingerprint: attempt.installedFingerprint } : {}),
    ...(attempt.ok ? { installedVersion: desired.version } : {}),
    reloadOk: attempt.reloadOk,
    healthy: attempt.ok,
    ...(attempt.servedFingerprint ? { servedFingerprint: attempt.servedFingerprint } : {}),
    ...(attempt.error ? { error: attempt.error } : {}),
  });
  if (attempt.fetchFailed) {
    // The bundle could not be read: nothing was touched; try again next cycle.
    return {
      result: { certificate: name, outcome: 'store-unavailable', report, error: attempt.error },
      ...(failedBefore ? { failed: failedBefore } : {}),
    };
  }
  if (attempt.ok) return { result: { certificate: name, outcome: 'installed', report } };
  return {
    result: {
      certificate: name,
      outcome: 'failed',
      report,
      ...(attempt.error ? { error: attempt.error } : {}),
    },
    failed: {
      fingerprintSha256: desired.fingerprintSha256,
      version: desired.version,
      at: now.toISOString(),
      reloadOk: attempt.reloadOk,
      ...(attempt.error ? { error: attempt.error } : {}),
    },
  };
}

interface InstallAttempt {
  readonly ok: boolean;
  readonly reloadOk: boolean;
  readonly fetchFailed?: boolean;
  readonly installedFingerprint?: string;
  readonly servedFingerprint?: string;
  readonly error?: string;
}

async function installVersion(
  deps: AgentDeps,
  certificate: AgentCertificate,
  desired: DesiredVersion,
): Promise<InstallAttempt> {
  const label = `${certificate.name}@${desired.version}`;
  const before = await certificate.installer.installedFingerprint().catch(() => undefined);
  let bundle: CertificateBundle;
  try {
    bundle = await deps.bundles.get(desired.bundle);
  } catch (error) {
    return {
      ok: false,
      reloadOk: true,
      fetchFailed: true,
      ...(before ? { installedFingerprint: before } : {}),
      error: `cannot fetch ${label}: ${clean(error)}`,
    };
  }
  if (bundle.facts.fingerprintSha256 !== desired.fingerprintSha256) {
    return {
      ok: false,
      reloadOk: true,
      ...(before ? { installedFingerprint: before } : {}),
      error: `${label}: stored bundle has fingerprint ${bundle.facts.fingerprintSha256}, desired ${desired.fingerprintSha256}; not installed`,
    };
  }
  const installed = await guard(() => certificate.installer.install(bundle));
  if (!installed.ok) {
    // The installer put the previous files back when the reload failed.
    const now = await certificate.installer.installedFingerprint().catch(() => undefined);
    return {
      ok: false,
      reloadOk: false,
      ...(now ? { installedFingerprint: now } : {}),
      error: `install of ${label} failed: ${clean(installed.error ?? 'unknown error')}`,
    };
  }
  log(deps, `agent ${deps.host}: installed ${label} (${desired.fingerprintSha256})`);
  const health = await checkHealth(certificate, desired.fingerprintSha256);
  if (health.healthy)
    return {
      ok: true,
      reloadOk: true,
      installedFingerprint: desired.fingerprintSha256,
      ...(health.servedFingerprint ? { servedFingerprint: health.servedFingerprint } : {}),
    };
  const restored = await guard(() => certificate.installer.restorePrevious());
  const after = await certificate.installer.installedFingerprint().catch(() => undefined);
  const served = before !== undefined ? await checkHealth(certificate, after) : undefined;
  return {
    ok: false,
    reloadOk: restored.ok,
    ...(after ? { installedFingerprint: after } : {}),
    ...(served?.servedFingerprint ? { servedFingerprint: served.servedFingerprint } : {}),
    error: `health check of ${label} failed: ${health.error ?? 'unhealthy'}; ${
      restored.ok
        ? 'previous version restored'
        : `restoring the previous version failed: ${clean(restored.error ?? '')}`
    }`,
  };
}

async function checkHealth(
  certificate: AgentCertificate,
  expected: string | undefined,
): Promise<HealthResult> {
  if (!certificate.healthCheck) return { healthy: expected !== undefined };
  try {
    return await certificate.healthCheck.check(expected);
  } catch (error) {
    return { healthy: false, error: `health check could not run: ${clean(error)}` };
  }
}

function healthFields(health: HealthResult): Partial<HostReport> {
  return {
    healthy: health.healthy,
    ...(health.servedFingerprint ? { servedFingerprint: health.servedFingerprint } : {}),
    ...(health.error ? { error: health.error } : {}),
  };
}

async function sendReport(deps: AgentDeps, report: HostReport): Promise<boolean> {
  try {
    await deps.state.put(
      COLLECTIONS.hosts,
      hostRecordId(report.host, report.certificate),
      report,
      deps.clock(),
    );
    return true;
  } catch (error) {
    log(
      deps,
      `agent ${deps.host}: report for ${report.certificate} not sent (kept for later): ${clean(error)}`,
    );
    return false;
  }
}

async function loadLocal(deps: AgentDeps): Promise<AgentLocalState> {
  try {
    return await deps.local.load();
  } catch (error) {
    log(deps, `agent ${deps.host}: local state unreadable, starting fresh: ${clean(error)}`);
    return { certificates: {} };
  }
}

async function guard(action: () => Promise<TargetOutcome>): Promise<TargetOutcome> {
  try {
    return await action();
  } catch (error) {
    return { target: '', ok: false, error: clean(error) };
  }
}

function clean(error: unknown): string {
  return scrubPrivateKeys(typeof error === 'string' ? error : describeError(error));
}

function log(deps: Pick<AgentDeps, 'log'>, line: string): void {
  try {
    deps.log?.(scrubPrivateKeys(line));
  } catch {
    // Logging must never stop the agent.
  }
}

function describeResult(host: string, r: CycleResult): string {
  const fp = r.report?.installedFingerprint ?? 'none';
  return `agent ${host}: ${r.certificate}: ${r.outcome} (installed ${fp}${r.reported ? '' : ', report pending'})${r.error ? `: ${r.error}` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// The loop
// ---------------------------------------------------------------------------------------------

export interface AgentLoopControl {
  /**
   * Waits `ms`, or less when triggered on demand (SIGUSR1); resolves `true` when triggered.
   */
  wait(ms: number): Promise<boolean>;
  stopped(): boolean;
}

export interface AgentLoopOptions extends CycleOptions {
  readonly pollIntervalMs: number;
  readonly jitterMs: number;
  readonly random: RandomSource;
}

/**
 * Polls until stopped: a cycle, then the poll interval plus random jitter (so a fleet restarted
 * together does not hit the store at once). A trigger runs the next cycle at once and retries
 * failed versions.
 */
export async function runAgentLoop(
  deps: AgentDeps,
  options: AgentLoopOptions,
  control: AgentLoopControl,
): Promise<void> {
  let force = false;
  // Start with jitter too: agents restarted together spread out from the first poll.
  const first = Math.floor(options.random() * options.jitterMs);
  if (first > 0) force = await control.wait(first);
  while (!control.stopped()) {
    try {
      await runAgentCycle(deps, { ...options, force });
    } catch (error) {
      log(deps, `agent ${deps.host}: cycle failed: ${clean(error)}`);
    }
    if (control.stopped()) break;
    force = await control.wait(options.pollIntervalMs + Math.floor(options.random() * options.jitterMs));
  }
}
