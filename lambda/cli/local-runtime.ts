/**
 * The local composition root: builds the adapters a validated configuration asks for (state in a
 * directory, a local CA, file destinations with reload commands, the TLS prober, event sinks) and
 * maps configuration onto the use cases' views. The AWS composition lives in aws-runtime.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { CertrotorConfig, ManagedCertificateConfig } from '../config/configuration';
import type {
  BundleStore,
  CertificateSource,
  Destination,
  EventPublisher,
  Issuer,
  StateStore,
  TlsProber,
} from '../domain/ports';
import { FileBundleStore } from '../adapters/local/file-bundle-store';
import { FileDestination } from '../adapters/local/file-destination';
import { FileStateStore } from '../adapters/local/file-state-store';
import { LocalCaIssuer } from '../adapters/local/local-ca-issuer';
import {
  FanOutPublisher,
  JsonlFileEventPublisher,
  StreamEventPublisher,
} from '../adapters/local/event-sinks';
import { configuredProber } from '../adapters/net/tls-prober';
import type { ManagedCertificateSpec, VerifyEndpoint } from '../use-cases/managed-certificate';
import {
  agentDestinationHosts,
  buildAgentDestinations,
  installLayout,
  resolveFileOwner,
} from './agent-runtime';
import { DEFAULT_VERIFY } from '../use-cases/managed-certificate';
import type { EndpointTarget, ScanFailure } from '../use-cases/scan';
import { configuredEndpointTargets, probeAddresses } from '../adapters/local/endpoint-targets';
import {
  type CaCertificateReader,
  ISSUER_SOURCE,
  issuerCaSources,
  issuerEnvironments,
} from '../use-cases/issuer-ca-source';
import { type OwnershipLookup, ownershipLookup } from '../use-cases/finding-events';
export { ownershipLookup };
import type { Clock } from '../domain/ports';

export interface Runtime {
  readonly config: CertrotorConfig;
  readonly state: StateStore;
  readonly bundles: BundleStore;
  readonly issuers: ReadonlyMap<string, Issuer>;
  readonly destinations: ReadonlyMap<string, Destination>;
  readonly prober: TlsProber;
  readonly publisher: EventPublisher;
  readonly specs: readonly ManagedCertificateSpec[];
  readonly endpoints: readonly EndpointTarget[];
  readonly ownership: OwnershipLookup;
  /**
   * Inventory sources besides configured files: the issuers' CA certificates, and on the AWS backend
   * ACM and Secrets Manager.
   */
  readonly sources?: readonly CertificateSource[];
  /** Endpoints left out of the probe (an unreadable `caFile`), each one failure of every scan. */
  readonly endpointFailures?: readonly ScanFailure[];
}

export interface LocalRuntimeOptions {
  readonly clock: Clock;
  /** Where human-readable event lines go (stdout in the CLI); omitted with --json. */
  readonly eventStream?: Writable;
}

export function buildLocalRuntime(config: CertrotorConfig, options: LocalRuntimeOptions): Runtime {
  const stateDir = config.local.stateDirectory;
  const issuers = new Map<string, Issuer>();
  for (const issuer of config.issuers) {
    if (issuer.kind === 'local-ca') {
      issuers.set(
        issuer.name,
        new LocalCaIssuer({
          directory: issuer.directory ?? join(stateDir, 'ca', issuer.name),
          name: issuer.name,
          caCommonName: issuer.commonName,
          caValidityDays: Math.round(issuer.validity / 86_400_000),
          clock: options.clock,
        }),
      );
    }
    // acm-pca and acm issuers need the AWS backend; `external` issuers are supplied by vendors.
  }
  const destinations = new Map<string, Destination>();
  for (const d of config.destinations) {
    if (d.kind !== 'files') continue;
    const host = d.host ?? d.name;
    const owner = resolveFileOwner(d.owner, d.group, `destinations.${d.name}`);
    destinations.set(
      d.name,
      new FileDestination({
        name: d.name,
        hosts: {
          [host]: {
            dir: d.directory,
            ...(d.reloadCommand !== undefined ? { reload: d.reloadCommand } : {}),
            reloadTimeoutMs: d.reloadTimeout,
          },
        },
        ...(owner ? { owner } : {}),
        ...installLayout(d, `destinations.${d.name}`),
      }),
    );
  }
  const state = new FileStateStore({ directory: join(stateDir, 'state') });
  const bundles = new FileBundleStore({ directory: join(stateDir, 'bundles'), clock: options.clock });
  for (const [name, destination] of buildAgentDestinations(config, {
    state,
    bundles,
    clock: options.clock,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  })) {
    destinations.set(name, destination);
  }
  const sinks: EventPublisher[] = [];
  if (options.eventStream && config.local.events.stdout) {
    sinks.push(
      new StreamEventPublisher({ name: 'stdout', stream: options.eventStream, format: humanEventLine }),
    );
  }
  if (config.local.events.jsonlFile)
    sinks.push(new JsonlFileEventPublisher({ path: config.local.events.jsonlFile }));
  const specs = rotatable(config).map((c) => managedSpec(config, c, issuers));
  return {
    config,
    state,
    bundles,
    issuers,
    destinations,
    prober: configuredProber(config.probe, { clock: options.clock }),
    publisher: new FanOutPublisher(sinks, 'events'),
    specs,
    ...endpointsOf(config, issuers),
    ownership: ownershipLookup(config),
    sources: issuerCaSources(
      localCaReaders(issuers),
      issuerEnvironments(specs, config.environments[0]!.name),
    ),
  };
}

/**
 * The local CAs' certificates for the issuer CA sources. A local CA is created on its first issue; a
 * scan before that finds nothing to watch and must not create it.
 */
export function localCaReaders(issuers: ReadonlyMap<string, Issuer>): CaCertificateReader[] {
  return [...issuers.values()].flatMap((issuer) =>
    issuer instanceof LocalCaIssuer
      ? [
          {
            issuer: issuer.name,
            location: `${ISSUER_SOURCE}:${issuer.name}`,
            read: () => issuer.existingCaCertificate(),
          },
        ]
      : [],
  );
}

/**
 * Certificates certrotor issues and rotates itself. Those of an `external` issuer are supplied by a
 * vendor and reach their consumers through the upstream watcher, never through a rotation.
 */
export function rotatable(config: CertrotorConfig): ManagedCertificateConfig[] {
  const external = new Set(config.issuers.filter((i) => i.kind === 'external').map((i) => i.name));
  return config.certificates.filter((c) => !external.has(c.issuer));
}

/** Maps one configured certificate onto the rotation use case's view. */
export function managedSpec(
  config: CertrotorConfig,
  c: ManagedCertificateConfig,
  issuers: ReadonlyMap<string, Issuer>,
): ManagedCertificateSpec {
  const caPem = caOf(issuers.get(c.issuer));
  const verify: VerifyEndpoint[] = [];
  const environments = new Set<string>();
  for (const name of c.destinations) {
    const d = config.destinations.find((x) => x.name === name);
    if (!d) continue;
    if (d.environment) environments.add(d.environment);
    const hostNames =
      d.kind === 'files' && d.host ? [d.host] : d.kind === 'agent' ? agentDestinationHosts(config, d) : [];
    for (const hostName of hostNames) {
      const host = config.hosts.find((h) => h.name === hostName);
      if (host) environments.add(host.environment);
      if (host?.endpoint) {
        verify.push({
          environment: host.environment,
          host: host.endpoint.host ?? host.address ?? host.name,
          port: host.endpoint.port,
          ...(host.endpoint.servername ? { servername: host.endpoint.servername } : {}),
          target: host.name,
          ...(caPem ? { caPem } : {}),
        });
      }
    }
  }
  for (const name of c.endpoints) {
    const e = config.endpoints.find((x) => x.name === name);
    if (!e) continue;
    environments.add(e.environment);
    verify.push({
      environment: e.environment,
      host: e.host,
      port: e.port,
      ...(e.servername ? { servername: e.servername } : {}),
      ...(caPem ? { caPem } : {}),
    });
  }
  const commonName = c.commonName ?? c.dnsNames[0] ?? c.ipAddresses[0] ?? c.name;
  return {
    name: c.name,
    commonName,
    dnsNames: c.dnsNames,
    ipAddresses: c.ipAddresses,
    keySpec: c.keySpec,
    usage: c.usage,
    validityDays: Math.max(1, Math.round(c.validity / 86_400_000)),
    issuer: c.issuer,
    destinations: c.destinations,
    verify,
    environments: environments.size > 0 ? [...environments] : [config.environments[0]!.name],
    rollout: {
      canary: c.rollout.canary,
      batchSize: c.rollout.batchSize,
      failureTolerance: c.rollout.failureTolerance,
    },
    verifyPolicy: {
      attempts: Math.max(1, Math.ceil(c.rollout.verifyTimeout / Math.max(1, c.rollout.verifyInterval))),
      intervalMs: c.rollout.verifyInterval,
      timeoutMs: config.probe.timeout || DEFAULT_VERIFY.timeoutMs,
    },
    ...(c.owner ? { owner: c.owner } : {}),
    ...(c.runbookUrl ? { runbookUrl: c.runbookUrl } : {}),
  };
}

/**
 * Every endpoint to probe: configured endpoints and the endpoints hosts serve. An endpoint whose
 * `caFile` cannot be read is left out and named in `failures` (the scan reports it, the rest go on).
 */
export function endpointTargets(
  config: CertrotorConfig,
  issuers: ReadonlyMap<string, Issuer> = new Map(),
): EndpointTarget[] {
  return endpointTargetsWithFailures(config, issuers).endpoints;
}

export function endpointTargetsWithFailures(
  config: CertrotorConfig,
  issuers: ReadonlyMap<string, Issuer> = new Map(),
): { endpoints: EndpointTarget[]; failures: ScanFailure[] } {
  const targets: EndpointTarget[] = [];
  const seen = new Set<string>();
  const add = (t: EndpointTarget) => {
    const key = `${t.environment}|${t.host}:${t.port}|${t.servername ?? ''}`;
    if (!seen.has(key)) {
      seen.add(key);
      targets.push(t);
    }
  };
  const configured = configuredEndpointTargets(config);
  configured.endpoints.forEach(add);
  for (const h of config.hosts) {
    if (!h.endpoint) continue;
    const cert = config.certificates.find((c) =>
      c.destinations.some((d) =>
        config.destinations.find(
          (x) =>
            x.name === d &&
            ((x.kind === 'files' && x.host === h.name) ||
              (x.kind === 'agent' && agentDestinationHosts(config, x).includes(h.name))),
        ),
      ),
    );
    // A host serving a certificate from our own CA is verified against that CA.
    const caPem = cert ? caOf(issuers.get(cert.issuer)) : undefined;
    add({
      name: h.name,
      environment: h.environment,
      host: h.endpoint.host ?? h.address ?? h.name,
      port: h.endpoint.port,
      ...(h.endpoint.servername ? { servername: h.endpoint.servername } : {}),
      ...(cert ? { expects: cert.name } : {}),
      ...(caPem ? { caPem } : {}),
      timeoutMs: config.probe.timeout,
      ...probeAddresses(config),
    });
  }
  return { endpoints: targets, failures: configured.failures };
}

function caOf(issuer: Issuer | undefined): string[] | undefined {
  if (issuer instanceof LocalCaIssuer) {
    try {
      return [readFileSync(issuer.caCertificatePath, 'utf8')];
    } catch {
      return undefined; // created on first issue
    }
  }
  return undefined;
}

/** One event as a line for people (the CLI's stdout). */
export function humanEventLine(event: { detailType: string; detail: Record<string, unknown> }): string {
  const severity = String(event.detail.severity ?? 'info').toUpperCase();
  const envs = Array.isArray(event.detail.environments)
    ? ` [${(event.detail.environments as string[]).join(', ')}]`
    : '';
  return `event  ${severity.padEnd(8)} ${event.detailType}${envs}: ${String(event.detail.summary ?? '')}`;
}

/** The runtime's endpoints and the endpoints left out, as `Runtime` carries them. */
export function endpointsOf(
  config: CertrotorConfig,
  issuers: ReadonlyMap<string, Issuer>,
): Pick<Runtime, 'endpoints' | 'endpointFailures'> {
  const { endpoints, failures } = endpointTargetsWithFailures(config, issuers);
  return { endpoints, ...(failures.length > 0 ? { endpointFailures: failures } : {}) };
}
