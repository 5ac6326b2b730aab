/**
 * The local composition root: the adapters a validated configuration asks for come from the wiring
 * (lambda/wiring/local.ts: state in a directory, a local CA, files and agent destinations), what the
 * use cases take comes from the configuration views (lambda/config/views); this adds the event sinks
 * and the issuer CA sources. The AWS composition lives in aws-runtime.ts.
 */
import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { CertrotorConfig } from '../config/configuration';
import { certificateSpecs } from '../config/views/certificates';
import { endpointTargets as configuredTargets, type EndpointTargets } from '../config/views/endpoints';
import type {
  BundleStore,
  CertificateSource,
  Clock,
  Destination,
  EventPublisher,
  Issuer,
  StateStore,
  TlsProber,
} from '../domain/ports';
import { LocalCaIssuer } from '../adapters/local/local-ca-issuer';
import {
  FanOutPublisher,
  JsonlFileEventPublisher,
  StreamEventPublisher,
} from '../adapters/local/event-sinks';
import { configuredProber } from '../adapters/net/tls-prober';
import type { ManagedCertificateSpec } from '../use-cases/managed-certificate';
import type { EndpointTarget, ScanFailure } from '../use-cases/scan';
import { type CaCertificateReader } from '../domain/ports';
import { ISSUER_SOURCE, issuerCaSources, issuerEnvironments } from '../use-cases/issuer-ca-source';
import { type OwnershipLookup } from '../use-cases/finding-events';
import { ownershipLookup } from '../config/views/ownership';
import { buildLocalAdapters } from '../wiring/local';
import { issuerTrust } from '../wiring/trust';

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
   * Inventory sources: the configured sources the backend runs (files locally; ACM and Secrets
   * Manager on the AWS backend), and the issuers' CA certificates.
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
  const adapters = buildLocalAdapters(config, { clock: options.clock });
  const sinks: EventPublisher[] = [];
  if (options.eventStream && config.local.events.stdout) {
    sinks.push(
      new StreamEventPublisher({ name: 'stdout', stream: options.eventStream, format: humanEventLine }),
    );
  }
  if (config.local.events.jsonlFile)
    sinks.push(new JsonlFileEventPublisher({ path: config.local.events.jsonlFile }));
  const specs = certificateSpecs(config, { trustFor: adapters.trustFor });
  return {
    config,
    state: adapters.state,
    bundles: adapters.bundles,
    issuers: adapters.issuers,
    destinations: adapters.destinations,
    prober: configuredProber(config.probe, { clock: options.clock }),
    publisher: new FanOutPublisher(sinks, 'events'),
    specs,
    ...endpointsOf(config, adapters.issuers),
    ownership: ownershipLookup(config),
    sources: [
      ...adapters.sources,
      ...issuerCaSources(
        localCaReaders(adapters.issuers),
        issuerEnvironments(specs, config.environments[0]!.name),
      ),
    ],
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
 * Every endpoint the CLI probes (configured endpoints and the endpoints hosts serve; see
 * config/views/endpoints.ts), with the local CAs as trust anchors for the hosts they serve.
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
): EndpointTargets {
  return configuredTargets(config, {
    readCaFile: (path) => [readFileSync(path, 'utf8')],
    trustFor: issuerTrust(config, issuers),
  });
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
