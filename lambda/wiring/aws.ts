/**
 * The AWS backend's adapters from configuration: the bundle store (KMS envelope in the state table, Secrets
 * Manager where hosts read the bundle), ACM PCA issuers,
 * Secrets Manager / ACM / SSM / agent destinations, and the ACM and Secrets Manager inventory
 * sources. One registry per port keyed by `kind`, typed against the kinds table
 * (lambda/config/backends.ts) so it builds exactly what validation accepts for the aws backend.
 * Shared by every Lambda (handlers/support) and the CLI's `--backend aws` (cli/aws-runtime.ts), so
 * both wire the same configuration to the same adapters the same way.
 */
import { join } from 'node:path';
import { ACMClient } from '@aws-sdk/client-acm';
import { ACMPCAClient } from '@aws-sdk/client-acm-pca';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Route53Client } from '@aws-sdk/client-route-53';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { AcmPcaIssuer, SecretsManagerIssuanceJournal } from '../adapters/aws/acm-pca';
import { AwsAcmeJournal } from '../adapters/aws/acme-journal';
import { awsIssuerCaReaders } from '../adapters/aws/inventory-sources';
import { AcmDestination, AcmSource } from '../adapters/aws/acm';
import type { AwsClientProvider } from '../adapters/aws/clients';
import { DynamoDbStateStore } from '../adapters/aws/dynamodb-state-store';
import { KmsEnvelopeBundleStore, RoutedBundleStore } from '../adapters/aws/kms-envelope-bundle-store';
import { awsStateStore } from '../adapters/aws/state-and-events';
import { SecretsManagerBundleStore } from '../adapters/aws/secrets-manager';
import { SecretsManagerDestination } from '../adapters/aws/secrets-manager-destination';
import { SecretsManagerSource } from '../adapters/aws/secrets-manager-source';
import { SsmRunCommandDestination, locateInBundleStore } from '../adapters/aws/ssm-run-command';
import { AgentDestination } from '../adapters/local/agent-destination';
import { DESTINATION_KINDS, ISSUER_KINDS, SOURCE_KINDS } from '../config/backends';
import type { CertrotorConfig, DestinationConfig, IssuerConfig, SourceConfig } from '../config/configuration';
import { agentDestinationHosts, agentReportTimeoutMs } from '../config/views/agent-hosts';
import { certificateSpecs } from '../config/views/certificates';
import type { BundleStore, CertificateSource, Clock, Destination, Issuer, StateStore } from '../domain/ports';
import { issuerCaSources, issuerEnvironments } from '../use-cases/issuer-ca-source';
import { type AcmeIssuerConfig, acmeIssuerWith } from './acme';
import { acmIssuerWith } from './acm-issuer';
import { type Registry, buildByKind, buildListByKind } from './registry';
import { issuerTrust } from './trust';

export interface RotationAdapterSettings {
  /** KMS key for secrets certrotor creates; a destination's own `kmsKeyId` wins. @default the account's default key */
  readonly kmsKeyId?: string;
  readonly clock: Clock;
  /**
   * Where `agent` destinations write each host's desired version and read its reports. @default the
   * DynamoDB table `aws.tableName`; without either, agent destinations are not built.
   */
  readonly state?: StateStore;
  /**
   * Agent destinations wait for each host's report before a delivery counts (the CLI's engine
   * verifies right after delivering). The workflow passes false: a task must not hold a Lambda for a
   * fleet, so its verify step polls the reports until its deadline. @default true
   */
  readonly waitForAgents?: boolean;
}

export interface RotationAdapters {
  readonly bundles: BundleStore;
  readonly issuers: Map<string, Issuer>;
  readonly destinations: Map<string, Destination>;
  /** Roots verifying the endpoints of an issuer's certificates (an ACME `trustFile`), as locally. */
  readonly trustFor: (issuer: string) => string[] | undefined;
}

export interface AwsDeps {
  readonly config: CertrotorConfig;
  readonly clients: AwsClientProvider;
  readonly settings: RotationAdapterSettings;
  /** Where bundles are stored: envelope-encrypted in the table, or a secret where hosts read one. */
  readonly bundles: BundleStore;
  /** The Secrets Manager bundles (`<secretPrefix><name>`) hosts read: what SSM installs locate. */
  readonly secretBundles: SecretsManagerBundleStore;
  readonly state: StateStore | undefined;
}

export interface AwsSourceDeps {
  readonly clients: AwsClientProvider;
  /** The region of sources that name none. @default us-east-1 */
  readonly region?: string;
}

function kmsOf(settings: RotationAdapterSettings): { kmsKeyId?: string } {
  return settings.kmsKeyId ? { kmsKeyId: settings.kmsKeyId } : {};
}

export const AWS_ISSUERS: Registry<IssuerConfig, typeof ISSUER_KINDS, 'aws', AwsDeps, Issuer> = {
  'acm-pca': (issuer, { config, clients, settings }) =>
    new AcmPcaIssuer({
      client: clients.get(ACMPCAClient, issuer.region),
      certificateAuthorityArn: issuer.certificateAuthorityArn,
      name: issuer.name,
      journal: new SecretsManagerIssuanceJournal({
        client: clients.get(SecretsManagerClient),
        prefix: `${config.aws.secretPrefix}issuance/`,
        ...kmsOf(settings),
      }),
      ...(issuer.signingAlgorithm ? { signingAlgorithm: issuer.signingAlgorithm } : {}),
      ...(issuer.templateArn ? { templateArn: issuer.templateArn } : {}),
    }),
  acme: (issuer, deps) => awsAcmeIssuer(issuer, deps),
  // Not built without a state table: nowhere to record which ACM certificate backs a certificate.
  acm: (issuer, { clients, settings, state }) =>
    state
      ? acmIssuerWith(issuer, {
          clock: settings.clock,
          state,
          sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
          acm: (region) => clients.get(ACMClient, region),
          // Route 53 is a global service: its API is in us-east-1 unless the issuer names a region.
          route53: (region) => clients.get(Route53Client, region ?? 'us-east-1'),
          // Within the rotation step's 5-minute Lambda timeout (lib/constructs/job-functions.ts).
          maxWaitMs: 240_000,
        })
      : undefined,
  // A vendor supplies these; nothing issues.
  external: () => undefined,
};

/**
 * An ACME issuer on the aws backend: its account key a secret, its order journal in the state table
 * (lambda/adapters/aws/acme-journal.ts), DNS-01 through Route 53 with the backend's clients. Not built
 * without a state table (nowhere to journal orders): a certificate naming it then fails with the
 * issuer named.
 */
function awsAcmeIssuer(issuer: AcmeIssuerConfig, deps: AwsDeps): Issuer | undefined {
  const { config, clients, settings, state, bundles } = deps;
  if (!state) return undefined;
  const tableName = state instanceof DynamoDbStateStore ? state.tableName : config.aws.tableName;
  const journal = new AwsAcmeJournal({
    issuerName: issuer.name,
    state,
    clock: settings.clock,
    secrets: clients.get(SecretsManagerClient),
    accountSecretName: `${config.aws.secretPrefix}acme/${issuer.name}/account-key`,
    ...kmsOf(settings),
    ...(tableName
      ? { table: { dynamodb: clients.get(DynamoDBClient), kms: clients.get(KMSClient), tableName } }
      : {}),
    fallbackKeys: new SecretsManagerIssuanceJournal({
      client: clients.get(SecretsManagerClient),
      prefix: `${config.aws.secretPrefix}issuance/`,
      ...kmsOf(settings),
    }),
  });
  return acmeIssuerWith(issuer, {
    clock: settings.clock,
    state,
    bundles,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    journal,
    keys: journal,
    // Route 53 is a global service: its API is in us-east-1 unless the issuer names a region.
    route53: (region) => clients.get(Route53Client, region ?? 'us-east-1'),
    secrets: () => clients.get(SecretsManagerClient),
  });
}

export const AWS_DESTINATIONS: Registry<
  DestinationConfig,
  typeof DESTINATION_KINDS,
  'aws',
  AwsDeps,
  Destination
> = {
  agent: (d, { config, state, bundles, settings }) =>
    state
      ? new AgentDestination({
          name: d.name,
          hosts: agentDestinationHosts(config, d),
          state,
          bundles,
          clock: settings.clock,
          sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
          waitForReport: settings.waitForAgents ?? true,
          timeoutMs: agentReportTimeoutMs(config, d),
        })
      : undefined,
  'secrets-manager': (d, { clients, settings }) =>
    new SecretsManagerDestination({
      client: clients.get(SecretsManagerClient, d.region),
      name: d.name,
      secretIds: [d.secretId],
      ...(d.kmsKeyId ? { kmsKeyId: d.kmsKeyId } : kmsOf(settings)),
    }),
  acm: (d, { clients, settings }) =>
    new AcmDestination({
      client: clients.get(ACMClient, d.region),
      name: d.name,
      certificateArns: [d.certificateArn],
      clock: settings.clock,
    }),
  ssm: (d, { clients, secretBundles }) => {
    const [tagKey, tagValues] = Object.entries(d.targets.tags ?? {})[0] ?? [];
    return new SsmRunCommandDestination({
      client: clients.get(SSMClient, d.region),
      name: d.name,
      instances:
        d.targets.instanceIds !== undefined
          ? { instanceIds: d.targets.instanceIds }
          : {
              tag: {
                key: tagKey ?? 'certrotor',
                values: Array.isArray(tagValues) ? tagValues : [tagValues ?? ''],
              },
            },
      locate: locateInBundleStore(secretBundles),
      host: {
        certificatePath: join(d.directory, d.fileNames.certificate),
        keyPath: join(d.directory, d.fileNames.key),
        chainPath: join(d.directory, d.fileNames.chain),
        fullchainPath: join(d.directory, d.fileNames.fullchain),
        keyMode: d.keyMode,
        ...(d.owner ? { owner: d.owner } : {}),
        ...(d.group ? { group: d.group } : {}),
        ...(d.reloadCommand
          ? {
              reloadCommand: Array.isArray(d.reloadCommand) ? shellCommand(d.reloadCommand) : d.reloadCommand,
            }
          : {}),
        ...(d.healthCheck?.command
          ? {
              healthCheckCommand: Array.isArray(d.healthCheck.command)
                ? shellCommand(d.healthCheck.command)
                : d.healthCheck.command,
            }
          : {}),
      },
      ...(d.documentName ? { documentName: d.documentName } : {}),
    });
  },
};

export const AWS_SOURCES: Registry<
  SourceConfig,
  typeof SOURCE_KINDS,
  'aws',
  AwsSourceDeps,
  CertificateSource
> = {
  acm: (s, { clients, region }) => {
    const sourceRegion = s.region ?? region ?? 'us-east-1';
    return new AcmSource({
      client: clients.get(ACMClient, sourceRegion),
      environment: s.environment,
      region: sourceRegion,
      name: s.name,
      includeImported: s.includeImported,
    });
  },
  'secrets-manager': (s, { clients }) =>
    new SecretsManagerSource({
      client: clients.get(SecretsManagerClient, s.region),
      environment: s.environment,
      ...(s.tagKey ? { tagKey: s.tagKey } : {}),
    }),
};

function awsDeps(
  config: CertrotorConfig,
  clients: AwsClientProvider,
  settings: RotationAdapterSettings,
): AwsDeps {
  const secretBundles = new SecretsManagerBundleStore({
    client: clients.get(SecretsManagerClient),
    secretNameFor: (name) => `${config.aws.secretPrefix}${name}`,
    ...kmsOf(settings),
  });
  const state =
    settings.state ?? (config.aws.tableName ? awsStateStore(clients, config.aws.tableName) : undefined);
  const tableName = state instanceof DynamoDbStateStore ? state.tableName : config.aws.tableName;
  if (!tableName) return { config, clients, settings, bundles: secretBundles, secretBundles, state };
  // Stored in the table with a KMS key (the deployed service passes its key); without one, new
  // bundles go to Secrets Manager and the table's bundles stay readable.
  const hostRead = certificatesReadByHosts(config);
  const bundles = new RoutedBundleStore({
    envelope: new KmsEnvelopeBundleStore({
      dynamodb: clients.get(DynamoDBClient),
      tableName,
      kms: clients.get(KMSClient),
      ...(settings.kmsKeyId ? { keyId: settings.kmsKeyId } : {}),
    }),
    secrets: secretBundles,
    needsSecret: settings.kmsKeyId ? (name) => hostRead.has(name) : () => true,
  });
  return { config, clients, settings, bundles, secretBundles, state };
}

/** Destination kinds whose hosts read the bundle from its Secrets Manager secret. */
const HOST_READ_KINDS: ReadonlySet<string> = new Set(['ssm', 'agent']);

/**
 * Certificates whose bundle must be a Secrets Manager secret because hosts read it there: delivered
 * by an `ssm` (the install document reads the secret on the instance) or `agent` destination
 * (`certrotor agent` reads it), directly or as an upstream's client certificate delivered to the
 * upstream's consumer destinations. Every other bundle is envelope-encrypted in the state table.
 */
export function certificatesReadByHosts(config: CertrotorConfig): Set<string> {
  const hostRead = new Set(config.destinations.filter((d) => HOST_READ_KINDS.has(d.kind)).map((d) => d.name));
  const names = new Set<string>();
  for (const c of config.certificates) {
    if (c.destinations.some((d) => hostRead.has(d))) names.add(c.name);
  }
  for (const u of config.upstreams) {
    if (u.clientCertificate && u.consumers.destinations.some((d) => hostRead.has(d))) {
      names.add(u.clientCertificate);
    }
  }
  return names;
}

/**
 * The rotation's adapters: issuers and destinations of the kinds the aws backend runs. Other kinds (a
 * local CA, files) are refused by validation for this backend; a certificate that names one anyway is
 * refused by the rotation with the missing issuer or destination named.
 *
 * Agent destinations record each host's desired version next to the staged secret version; see
 * `waitForAgents` for who waits for the hosts' reports.
 */
export function buildRotationAdapters(
  config: CertrotorConfig,
  clients: AwsClientProvider,
  settings: RotationAdapterSettings,
): RotationAdapters {
  const deps = awsDeps(config, clients, settings);
  const issuers = buildByKind(config.issuers, AWS_ISSUERS, deps);
  return {
    bundles: deps.bundles,
    issuers,
    destinations: buildByKind(config.destinations, AWS_DESTINATIONS, deps),
    trustFor: issuerTrust(config, issuers),
  };
}

/** The configured inventory sources the aws backend runs (ACM, Secrets Manager). */
export function buildAwsInventorySources(
  config: CertrotorConfig,
  clients: AwsClientProvider,
  region: string | undefined,
): CertificateSource[] {
  return buildListByKind(config.sources, AWS_SOURCES, {
    clients,
    ...(region !== undefined ? { region } : {}),
  });
}

/** An argv as one shell command line, each argument single-quoted (the install document runs it with bash). */
function shellCommand(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_./:=@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/**
 * Every inventory source the aws backend runs: the configured ACM and Secrets Manager sources, and
 * the CA certificate of every ACM PCA issuer (no AWS event warns of a private CA nearing expiry), in
 * the environments of the certificates it signs. The inventory job and the CLI's `--backend aws`.
 */
export function awsInventorySources(
  config: CertrotorConfig,
  clients: AwsClientProvider,
  region: string | undefined,
  /** Read the issuers' CA certificates too. @default true (an ACM event reads only ACM) */
  options: { readonly issuerCas?: boolean } = {},
): CertificateSource[] {
  const sources = buildAwsInventorySources(config, clients, region);
  if (options.issuerCas === false) return sources;
  return [
    ...sources,
    ...issuerCaSources(
      awsIssuerCaReaders(config, clients),
      issuerEnvironments(certificateSpecs(config), config.environments[0]!.name),
    ),
  ];
}
