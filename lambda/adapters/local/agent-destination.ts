/**
 * Destination `agent`: hosts running `certrotor agent`. Delivering does not touch a host: it writes
 * the host's desired version (a reference and a fingerprint, never the key) to the state store and
 * waits, bounded, for the host's agent to report that version installed and healthy, or failed.
 * Rollback points the desired version back at the previous one and waits the same way. What a host
 * serves (for verification without an endpoint) is its last reported served fingerprint.
 *
 * With `waitForReport: false` (the deployed workflow, where one Lambda task must not wait for a fleet)
 * deliver and rollback only write the desired record and return: the workflow's verify step then
 * polls `currentFingerprint` until its deadline, in another process, so everything needed to verify
 * or roll back a host is read back from the state store.
 */
import { shortFingerprint } from '../../domain/certificate';
import { describeError } from '../../domain/errors';
import type {
  AsynchronousDestination,
  BundleRef,
  BundleStore,
  CertificateBundle,
  Clock,
  Destination,
  InspectableDestination,
  StateStore,
  TargetOutcome,
} from '../../domain/ports';
import { scrubPrivateKeys } from '../../domain/secret';
import { DESIRED_COLLECTION, type DesiredRecord, hostRecordId } from '../../domain/host-agent';
import { type HostReport } from '../../domain/host-agent';
import { COLLECTIONS, type CertificateState } from '../../domain/certificate-state';

export interface AgentDestinationOptions {
  readonly name: string;
  readonly hosts: readonly string[];
  readonly state: StateStore;
  readonly bundles: BundleStore;
  readonly clock: Clock;
  readonly sleep: (ms: number) => Promise<void>;
  /** How long to wait for a host's report after changing its desired version. @default 300000 */
  readonly timeoutMs?: number;
  /** How often to read the host's report while waiting. @default 1000 */
  readonly pollMs?: number;
  /** Asks a host's agent to act now (e.g. an SSM command sending SIGUSR1); best effort. */
  readonly nudge?: (host: string) => Promise<void>;
  /**
   * Wait for the host's report after changing its desired version. When false, deliver and rollback
   * return once the desired record is written and the caller verifies the host later. @default true
   */
  readonly waitForReport?: boolean;
}

export class AgentDestination implements Destination, InspectableDestination, AsynchronousDestination {
  readonly name: string;
  readonly kind = 'agent';
  /** True when deliver and rollback return before the host acted (`waitForReport: false`). */
  readonly asynchronous: boolean;
  private readonly hosts: readonly string[];
  private readonly timeoutMs: number;
  private readonly pollMs: number;
  /** Certificate last delivered per host, so `rollback(host)` knows which record to turn back. */
  private readonly lastCertificate = new Map<string, string>();

  constructor(private readonly options: AgentDestinationOptions) {
    this.name = options.name;
    this.hosts = [...options.hosts];
    this.timeoutMs = options.timeoutMs ?? 300_000;
    this.pollMs = options.pollMs ?? 1000;
    this.asynchronous = options.waitForReport === false;
  }

  async targets(): Promise<string[]> {
    return [...this.hosts];
  }

  async deliver(target: string, bundle: CertificateBundle): Promise<TargetOutcome> {
    if (!this.hosts.includes(target)) return this.unknown(target);
    try {
      const { state, clock } = this.options;
      this.lastCertificate.set(target, bundle.name);
      const ref =
        (await this.options.bundles.find(bundle.name, bundle.version)) ??
        (await this.options.bundles.put(bundle));
      const id = hostRecordId(target, bundle.name);
      const now = clock();
      const existing = (await state.get<DesiredRecord>(DESIRED_COLLECTION, id, now))?.value;
      const fingerprint = bundle.facts.fingerprintSha256;
      const previous = await this.previousFor(existing, bundle.name, fingerprint, now);
      const record: DesiredRecord = {
        host: target,
        certificate: bundle.name,
        version: bundle.version,
        fingerprintSha256: fingerprint,
        bundle: ref,
        requestedAt: now.toISOString(),
        ...(previous ? { previous } : {}),
      };
      await state.put(DESIRED_COLLECTION, id, record, now);
      if (this.asynchronous) return await this.requested(target, bundle.name, bundle.version, fingerprint);
      return await this.waitFor(target, bundle.name, bundle.version, fingerprint, now);
    } catch (error) {
      return failed(target, `cannot set the desired version: ${scrubPrivateKeys(describeError(error))}`);
    }
  }

  async rollback(target: string): Promise<TargetOutcome> {
    if (!this.hosts.includes(target)) return this.unknown(target);
    try {
      const { state, clock } = this.options;
      const now = clock();
      const certificate = await this.certificateOf(target, now);
      if (!certificate) return failed(target, `no desired version recorded for host ${target}`);
      const id = hostRecordId(target, certificate);
      const existing = (await state.get<DesiredRecord>(DESIRED_COLLECTION, id, now))?.value;
      if (!existing?.previous)
        return failed(target, `no previous version of ${certificate} recorded for host ${target}`);
      const back: DesiredRecord = {
        host: target,
        certificate,
        ...existing.previous,
        requestedAt: now.toISOString(),
        // Rolling back twice must not flip forward again: the previous stays the previous.
        previous: existing.previous,
      };
      await state.put(DESIRED_COLLECTION, id, back, now);
      if (this.asynchronous)
        return await this.requested(target, certificate, back.version, back.fingerprintSha256);
      return await this.waitFor(target, certificate, back.version, back.fingerprintSha256, now);
    } catch (error) {
      return failed(target, `cannot roll back: ${scrubPrivateKeys(describeError(error))}`);
    }
  }

  /** The fingerprint the host last reported serving (installed, when it has no handshake check). */
  async currentFingerprint(target: string): Promise<string | undefined> {
    const now = this.options.clock();
    const certificate = await this.certificateOf(target, now);
    if (!certificate) return undefined;
    const report = await this.report(target, certificate, now);
    return report?.servedFingerprint ?? report?.installedFingerprint;
  }

  /** Non-blocking: the desired version is recorded; whether the host took it is for the verifier to find out. */
  private async requested(
    target: string,
    certificate: string,
    version: string,
    fingerprint: string,
  ): Promise<TargetOutcome> {
    await this.options.nudge?.(target).catch(() => undefined);
    return {
      target,
      ok: true,
      detail: `desired version of ${certificate} on ${target} set to ${version} (${shortFingerprint(fingerprint)}); awaiting the agent's report`,
    };
  }

  private async waitFor(
    target: string,
    certificate: string,
    version: string,
    fingerprint: string,
    requestedAt: Date,
  ): Promise<TargetOutcome> {
    await this.options.nudge?.(target).catch(() => undefined);
    const deadline = requestedAt.getTime() + this.timeoutMs;
    let last: HostReport | undefined;
    for (;;) {
      last = await this.report(target, certificate, this.options.clock()).catch(() => last);
      if (last && last.installedFingerprint === fingerprint && last.healthy) {
        return {
          target,
          ok: true,
          fingerprintSha256: last.servedFingerprint ?? fingerprint,
          detail: `agent on ${target} installed ${certificate}@${version} at ${last.at}`,
        };
      }
      if (
        last &&
        last.attemptedFingerprint === fingerprint &&
        !last.healthy &&
        Date.parse(last.at) >= requestedAt.getTime()
      ) {
        return failed(
          target,
          `agent on ${target} failed to install ${certificate}@${version}: ${last.error ?? 'unhealthy'}`,
          last.servedFingerprint ?? last.installedFingerprint,
        );
      }
      if (this.options.clock().getTime() >= deadline) {
        const seen = last
          ? `last report at ${last.at} shows ${last.installedFingerprint ? shortFingerprint(last.installedFingerprint) : 'nothing'} installed`
          : 'no report at all';
        return failed(
          target,
          `agent on ${target} did not report ${certificate}@${version} installed within ${this.timeoutMs} ms (${seen})`,
          last?.servedFingerprint ?? last?.installedFingerprint,
        );
      }
      await this.options.sleep(this.pollMs);
    }
  }

  private async report(target: string, certificate: string, now: Date): Promise<HostReport | undefined> {
    return (
      await this.options.state.get<HostReport>(COLLECTIONS.hosts, hostRecordId(target, certificate), now)
    )?.value;
  }

  private async certificateOf(target: string, now: Date): Promise<string | undefined> {
    const known = this.lastCertificate.get(target);
    if (known) return known;
    // A fresh process (a separate workflow task): the most recent desired record of this host.
    const records = (
      await this.options.state.list<DesiredRecord>(DESIRED_COLLECTION, now, `${target}#`)
    ).filter((r) => r.value.host === target);
    const byTime = (a: { value: DesiredRecord }, b: { value: DesiredRecord }) =>
      (a.value.requestedAt ?? '').localeCompare(b.value.requestedAt ?? '');
    if (records.length > 1) {
      // A host with several certificates: a workflow task (verify, rollback) asks about the one whose
      // rotation is under way and whose desired record that rotation wrote.
      const rotating = [];
      for (const r of records) {
        const pending = (
          await this.options.state.get<CertificateState>(COLLECTIONS.certificates, r.value.certificate, now)
        )?.value.pending;
        if (pending && (r.value.requestedAt ?? '') >= pending.startedAt) rotating.push(r);
      }
      const latest = rotating.sort(byTime).pop();
      if (latest) return latest.value.certificate;
    }
    const latest = records.sort(byTime).pop();
    return latest?.value.certificate;
  }

  /** The rollback target: the version desired before this delivery, or the promoted current one. */
  private async previousFor(
    existing: DesiredRecord | undefined,
    certificate: string,
    fingerprint: string,
    now: Date,
  ): Promise<DesiredRecord['previous']> {
    if (existing && existing.fingerprintSha256 !== fingerprint) return versionOf(existing);
    if (existing?.previous) return existing.previous;
    const current = (
      await this.options.state.get<CertificateState>(COLLECTIONS.certificates, certificate, now)
    )?.value.current;
    if (current && current.fingerprintSha256 !== fingerprint)
      return {
        version: current.version,
        fingerprintSha256: current.fingerprintSha256,
        bundle: current.bundle,
      };
    return undefined;
  }

  private unknown(target: string): TargetOutcome {
    return failed(
      target,
      `destination ${this.name} has no host ${target} (hosts: ${this.hosts.join(', ') || 'none'})`,
    );
  }
}

function versionOf(record: DesiredRecord): { version: string; fingerprintSha256: string; bundle: BundleRef } {
  return { version: record.version, fingerprintSha256: record.fingerprintSha256, bundle: record.bundle };
}

function failed(target: string, error: string, fingerprintSha256?: string): TargetOutcome {
  return { target, ok: false, error, ...(fingerprintSha256 ? { fingerprintSha256 } : {}) };
}
