/**
 * What the probe probes: configured endpoints, and (where the driver reaches them) the endpoints the
 * hosts serve. One mapping for the CLI and the probe job; trust anchors are read by the caller's
 * `readCaFile`, since the views never touch files. An endpoint whose `caFile` cannot be read is left
 * out and named in `failures`: one bad endpoint never stops the probe of the others.
 */
import type { CertrotorConfig } from '../configuration';
import { describeError } from '../../domain/errors';
import type { EndpointTarget, ScanFailure } from '../../use-cases/scan';
import { agentDestinationHosts } from './agent-hosts';

export interface EndpointTargetOptions {
  /** Reads a `caFile` as PEM texts; throws when it cannot. */
  readonly readCaFile: (path: string) => readonly string[];
  /** Trust anchors for endpoints serving certificates of an issuer (the local CA). @default none */
  readonly trustFor?: (issuer: string) => readonly string[] | undefined;
  /**
   * Also probe the endpoints hosts serve (`hosts[].endpoint`). The CLI does; the deployed probe job
   * does not: hosts are often private addresses outside the Lambdas' reach, and their agents' reports
   * and each rotation's verification already prove what they serve. @default true
   */
  readonly hostEndpoints?: boolean;
}

export interface EndpointTargets {
  readonly endpoints: EndpointTarget[];
  readonly failures: ScanFailure[];
}

export function endpointTargets(config: CertrotorConfig, options: EndpointTargetOptions): EndpointTargets {
  const endpoints: EndpointTarget[] = [];
  const failures: ScanFailure[] = [];
  const seen = new Set<string>();
  const add = (t: EndpointTarget) => {
    const key = `${t.environment}|${t.host}:${t.port}|${t.servername ?? ''}`;
    if (seen.has(key)) return;
    seen.add(key);
    endpoints.push(t);
  };
  const common = { timeoutMs: config.probe.timeout, ...probeAddresses(config) };
  for (const e of config.endpoints) {
    let caPem: readonly string[] | undefined;
    if (!e.caFile) {
      // An endpoint serving a certificate of our own CA is checked against that CA, with no path to find.
      const served = managedCertificateAt(config, e);
      const ownCa = served ? options.trustFor?.(served.issuer) : undefined;
      if (ownCa && ownCa.length > 0) caPem = ownCa;
    }
    if (e.caFile) {
      try {
        caPem = options.readCaFile(e.caFile);
      } catch (error) {
        failures.push({
          what: `endpoint ${e.name}`,
          error: `reading caFile ${e.caFile}: ${describeError(error)}`,
        });
        continue;
      }
    }
    add({
      name: e.name,
      environment: e.environment,
      host: e.host,
      port: e.port,
      ...(e.servername ? { servername: e.servername } : {}),
      ...(caPem ? { caPem } : {}),
      ...(e.expect?.certificate ? { expects: e.expect.certificate } : {}),
      ...common,
    });
  }
  if (options.hostEndpoints === false) return { endpoints, failures };
  for (const h of config.hosts) {
    if (!h.endpoint) continue;
    const cert = certificateServedBy(config, h.name);
    // A host serving a certificate from our own CA is verified against that CA.
    const caPem = cert ? options.trustFor?.(cert.issuer) : undefined;
    add({
      name: h.name,
      environment: h.environment,
      host: h.endpoint.host ?? h.address ?? h.name,
      port: h.endpoint.port,
      ...(h.endpoint.servername ? { servername: h.endpoint.servername } : {}),
      ...(cert ? { expects: cert.name } : {}),
      ...(caPem && caPem.length > 0 ? { caPem } : {}),
      ...common,
    });
  }
  return { endpoints, failures };
}

/**
 * The managed certificate an endpoint serves: the one it must serve (`expect.certificate`), else the
 * only one listing it (`certificates[].endpoints`), else the only one whose names cover its SNI name
 * (or host).
 */
function managedCertificateAt(config: CertrotorConfig, e: CertrotorConfig['endpoints'][number]) {
  if (e.expect?.certificate) return config.certificates.find((c) => c.name === e.expect?.certificate);
  const listed = config.certificates.filter((c) => (c.endpoints ?? []).includes(e.name));
  if (listed.length === 1) return listed[0];
  const name = (e.servername ?? e.host).toLowerCase();
  const covering = config.certificates.filter((c) =>
    [...c.dnsNames, ...(c.commonName ? [c.commonName] : [])].some((n) => coversName(n.toLowerCase(), name)),
  );
  return covering.length === 1 ? covering[0] : undefined;
}

function coversName(pattern: string, name: string): boolean {
  if (pattern === name) return true;
  return (
    pattern.startsWith('*.') &&
    name.endsWith(pattern.slice(1)) &&
    !name.slice(0, -pattern.length + 1).includes('.')
  );
}

/** The managed certificate delivered to a host (through a files destination or its agent), if any. */
function certificateServedBy(config: CertrotorConfig, host: string) {
  return config.certificates.find((c) =>
    c.destinations.some((name) => {
      const d = config.destinations.find((x) => x.name === name);
      if (!d) return false;
      return (
        (d.kind === 'files' && d.host === host) ||
        (d.kind === 'agent' && agentDestinationHosts(config, d).includes(host))
      );
    }),
  );
}

/** Every address is the prober's default; only `false` needs saying. */
export function probeAddresses(config: CertrotorConfig): { allAddresses?: false } {
  return config.probe.allAddresses ? {} : { allAddresses: false };
}
