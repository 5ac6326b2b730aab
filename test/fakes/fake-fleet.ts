/**
 * A fleet of simulated hosts: a Destination that installs certificates on hosts and a TlsProber that
 * reports what each host serves. Faults are injected per host; an observer checks after every change
 * that no host is left without a valid certificate.
 */
import { X509Certificate } from 'node:crypto';
import type {
  BundleRef,
  BundleStore,
  CertificateBundle,
  Destination,
  ProbeRequest,
  ProbeResult,
  TargetOutcome,
  TlsProber,
} from '../../lambda/domain/ports';

export type HostFault = 'down' | 'reload-fails' | 'keeps-old' | 'rollback-fails';

interface Host {
  serving?: { fingerprint: string; notAfter: string };
  installed?: { fingerprint: string; notAfter: string };
  previous?: { fingerprint: string; notAfter: string };
}

export class FakeFleet implements Destination, TlsProber {
  readonly kind = 'fake-fleet';
  readonly hosts = new Map<string, Host>();
  readonly faults = new Map<string, HostFault>();
  readonly violations: string[] = [];
  readonly log: string[] = [];

  constructor(
    readonly name: string,
    hostNames: readonly string[],
    initial: { fingerprint: string; notAfter: string },
    private readonly now: () => Date,
  ) {
    for (const h of hostNames) this.hosts.set(h, { serving: initial, installed: initial });
  }

  async targets(): Promise<string[]> {
    return [...this.hosts.keys()];
  }

  async deliver(target: string, bundle: CertificateBundle): Promise<TargetOutcome> {
    const host = this.hosts.get(target);
    if (!host) return { target, ok: false, error: 'unknown host' };
    const fault = this.faults.get(target);
    if (fault === 'down') return { target, ok: false, error: 'connection refused' };
    const next = { fingerprint: bundle.facts.fingerprintSha256, notAfter: bundle.facts.notAfter };
    host.previous = host.installed;
    host.installed = next;
    this.log.push(`deliver ${target}`);
    if (fault === 'reload-fails') return { target, ok: false, error: 'reload command exited 1' };
    if (fault !== 'keeps-old') host.serving = next;
    this.check();
    return { target, ok: true, fingerprintSha256: next.fingerprint };
  }

  async rollback(target: string): Promise<TargetOutcome> {
    const host = this.hosts.get(target);
    if (!host) return { target, ok: false, error: 'unknown host' };
    if (this.faults.get(target) === 'rollback-fails') return { target, ok: false, error: 'rollback refused' };
    this.log.push(`rollback ${target}`);
    if (host.previous) {
      host.installed = host.previous;
      if (this.faults.get(target) !== 'down') host.serving = host.previous;
    }
    this.check();
    return { target, ok: true, ...(host.installed ? { fingerprintSha256: host.installed.fingerprint } : {}) };
  }

  async probe(request: ProbeRequest): Promise<ProbeResult[]> {
    const host = this.hosts.get(request.host);
    const base = {
      host: request.host,
      port: request.port,
      address: '127.0.0.1',
      observedAt: this.now().toISOString(),
    };
    if (!host || this.faults.get(request.host) === 'down' || !host.serving) {
      return [
        {
          ...base,
          ok: false,
          error: 'connection refused',
          chain: [],
          authorized: false,
          hostnameMatches: false,
        },
      ];
    }
    const facts = { fingerprintSha256: host.serving.fingerprint, notAfter: host.serving.notAfter } as never;
    return [{ ...base, ok: true, chain: [{ facts, pem: '' }], authorized: true, hostnameMatches: true }];
  }

  /** Invariant: every host that is up serves a certificate valid now. */
  private check(): void {
    for (const [name, host] of this.hosts) {
      if (this.faults.get(name) === 'down') continue;
      if (!host.serving || Date.parse(host.serving.notAfter) <= this.now().getTime()) {
        this.violations.push(`${name} serves no valid certificate`);
      }
    }
  }
}

export class MemoryBundleStore implements BundleStore {
  readonly bundles = new Map<string, CertificateBundle>();
  async put(bundle: CertificateBundle): Promise<BundleRef> {
    this.bundles.set(`${bundle.name}#${bundle.version}`, bundle);
    return {
      name: bundle.name,
      version: bundle.version,
      location: `memory:${bundle.name}#${bundle.version}`,
    };
  }
  async get(ref: BundleRef): Promise<CertificateBundle> {
    const b = this.bundles.get(`${ref.name}#${ref.version}`);
    if (!b) throw new Error(`no bundle ${ref.location}`);
    return b;
  }
  async find(name: string, version: string): Promise<BundleRef | undefined> {
    return this.bundles.has(`${name}#${version}`)
      ? { name, version, location: `memory:${name}#${version}` }
      : undefined;
  }
}

export function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}
