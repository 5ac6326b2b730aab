/**
 * The local backend's adapters from configuration: state, bundles and the local CA in the state
 * directory, files and agent destinations, files sources. One registry per port keyed by `kind`,
 * typed against the kinds table (lambda/config/backends.ts) so it builds exactly what validation
 * accepts for the local backend.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ACMClient } from '@aws-sdk/client-acm';
import { Route53Client } from '@aws-sdk/client-route-53';
import { createAwsClient } from '../adapters/aws/clients';
import { AgentDestination } from '../adapters/local/agent-destination';
import { FileBundleStore } from '../adapters/local/file-bundle-store';
import { FileDestination } from '../adapters/local/file-destination';
import { FileStateStore } from '../adapters/local/file-state-store';
import { FilesSource } from '../adapters/local/files-source';
import { LocalCaIssuer } from '../adapters/local/local-ca-issuer';
import { DESTINATION_KINDS, ISSUER_KINDS, SOURCE_KINDS } from '../config/backends';
import type { CertrotorConfig, DestinationConfig, IssuerConfig, SourceConfig } from '../config/configuration';
import { agentDestinationHosts, agentReportTimeoutMs } from '../config/views/agent-hosts';
import type { EndpointTargetOptions } from '../config/views/endpoints';
import type { BundleStore, CertificateSource, Clock, Destination, Issuer, StateStore } from '../domain/ports';
import { buildAcmeIssuer } from './acme';
import { acmIssuerWith } from './acm-issuer';
import { installLayout, resolveFileOwner } from './file-install';
import { type Registry, buildByKind, buildListByKind } from './registry';
import { issuerTrust } from './trust';

export { localCaTrust } from './local-ca-trust';

export interface LocalDeps {
  readonly config: CertrotorConfig;
  readonly clock: Clock;
  readonly state: StateStore;
  readonly bundles: BundleStore;
  readonly sleep: (ms: number) => Promise<void>;
}

export const LOCAL_ISSUERS: Registry<IssuerConfig, typeof ISSUER_KINDS, 'local', LocalDeps, Issuer> = {
  'local-ca': (issuer, { config, clock, bundles }) =>
    new LocalCaIssuer({
      // Leaf keys only in the state's key store, beside every other version's.
      keyStore: bundles,
      directory: issuer.directory ?? join(config.local.stateDirectory, 'ca', issuer.name),
      name: issuer.name,
      caCommonName: issuer.commonName,
      caValidityDays: Math.round(issuer.validity / 86_400_000),
      clock,
    }),
  acme: (issuer, deps) => buildAcmeIssuer(issuer, deps),
  // ACM from the CLI: the SDK's credentials, region and endpoint (AWS_ENDPOINT_URL), as ACME's Route 53.
  acm: (issuer, { clock, state, sleep }) =>
    acmIssuerWith(issuer, {
      clock,
      state,
      sleep,
      acm: (region) => createAwsClient(ACMClient, region ? { region } : {}),
      route53: (region) => createAwsClient(Route53Client, region ? { region } : {}),
    }),
  // A vendor supplies these; nothing issues.
  external: () => undefined,
};

export const LOCAL_DESTINATIONS: Registry<
  DestinationConfig,
  typeof DESTINATION_KINDS,
  'local',
  LocalDeps,
  Destination
> = {
  files: (d) => {
    const host = d.host ?? d.name;
    const owner = resolveFileOwner(d.owner, d.group, `destinations.${d.name}`);
    return new FileDestination({
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
    });
  },
  agent: (d, { config, state, bundles, clock, sleep }) =>
    new AgentDestination({
      name: d.name,
      hosts: agentDestinationHosts(config, d),
      state,
      bundles,
      clock,
      sleep,
      timeoutMs: agentReportTimeoutMs(config, d),
    }),
};

export const LOCAL_SOURCES: Registry<
  SourceConfig,
  typeof SOURCE_KINDS,
  'local',
  LocalDeps,
  CertificateSource
> = {
  files: (s) => new FilesSource(s.name, s.environment, s.paths),
};

export interface LocalAdapters {
  readonly state: FileStateStore;
  readonly bundles: FileBundleStore;
  readonly issuers: Map<string, Issuer>;
  readonly destinations: Map<string, Destination>;
  /** Configured inventory sources (files). */
  readonly sources: CertificateSource[];
  /** Trust anchors for endpoints serving an issuer's certificates: the local CA, once it exists. */
  readonly trustFor: (issuer: string) => string[] | undefined;
  /** Reads an endpoint's `caFile`. */
  readonly readCaFile: EndpointTargetOptions['readCaFile'];
}

/**
 * The state and bundle stores in the state directory: one layout for the CLI's runtime and the agents
 * that run on the local backend (they read what the rotation wrote).
 */
export function localStores(
  config: CertrotorConfig,
  clock: Clock,
): { readonly state: FileStateStore; readonly bundles: FileBundleStore } {
  const stateDir = config.local.stateDirectory;
  return {
    state: new FileStateStore({ directory: join(stateDir, 'state') }),
    bundles: new FileBundleStore({ directory: join(stateDir, 'bundles'), clock }),
  };
}

export function buildLocalAdapters(
  config: CertrotorConfig,
  options: { readonly clock: Clock },
): LocalAdapters {
  const { state, bundles } = localStores(config, options.clock);
  const deps: LocalDeps = {
    config,
    clock: options.clock,
    state,
    bundles,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
  const issuers = buildByKind(config.issuers, LOCAL_ISSUERS, deps);
  return {
    state,
    bundles,
    issuers,
    destinations: buildByKind(config.destinations, LOCAL_DESTINATIONS, deps),
    sources: buildListByKind(config.sources, LOCAL_SOURCES, deps),
    trustFor: issuerTrust(config, issuers),
    readCaFile: (path) => [readFileSync(path, 'utf8')],
  };
}
