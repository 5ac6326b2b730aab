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
import { shortFingerprint } from '../../domain/certificate';
import { describeError } from '../../domain/errors';
import type { CertificateBundle, TargetOutcome } from '../../domain/ports';
import { scrubPrivateKeys } from '../../domain/secret';
import { COLLECTIONS } from '../certificate-state';
import { type DesiredVersion, hostRecordId } from '../../domain/host-agent';
import type { AgentCertificate, AgentDeps, CycleOptions, CycleResult } from './model';
import type { AgentLocalState, HostReport } from '../../domain/host-agent';
import type { HealthResult } from '../../domain/ports';

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
      error: `${label}: stored bundle has fingerprint ${shortFingerprint(bundle.facts.fingerprintSha256)}, desired ${shortFingerprint(desired.fingerprintSha256)}; not installed`,
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
  log(deps, `agent ${deps.host}: installed ${label} (${shortFingerprint(desired.fingerprintSha256)})`);
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

export function clean(error: unknown): string {
  return scrubPrivateKeys(typeof error === 'string' ? error : describeError(error));
}

export function log(deps: Pick<AgentDeps, 'log'>, line: string): void {
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
