/**
 * The rotation's AWS adapters built from configuration: the Secrets Manager bundle store, ACM PCA
 * issuers and the Secrets Manager, ACM, SSM and agent destinations. Shared by the rotation Lambda
 * (handlers/support/rotation-deps.ts) and the CLI's `--backend aws` (cli/aws-runtime.ts), so both
 * wire the same configuration to the same adapters the same way.
 */
import { join } from 'node:path';
import { ACMClient } from '@aws-sdk/client-acm';
import { ACMPCAClient } from '@aws-sdk/client-acm-pca';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { CertrotorConfig } from '../../config/configuration';
import { agentDestinationHosts, agentReportTimeoutMs } from '../../domain/agent-hosts';
import type { Clock, Destination, Issuer, StateStore } from '../../domain/ports';
import { AgentDestination } from '../local/agent-destination';
import { AcmPcaIssuer, SecretsManagerIssuanceJournal } from './acm-pca';
import { AcmDestination } from './acm';
import type { AwsClientProvider } from './clients';
import { awsStateStore } from './state-and-events';
import { SecretsManagerBundleStore, SecretsManagerDestination } from './secrets-manager';
import { SsmRunCommandDestination, locateInBundleStore } from './ssm-run-command';

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
  readonly bundles: SecretsManagerBundleStore;
  readonly issuers: Map<string, Issuer>;
  readonly destinations: Map<string, Destination>;
}

/**
 * Issuers of kind `acm-pca` and destinations of kind `secrets-manager`, `acm`, `ssm` and `agent`.
 * Other kinds (a local CA, files, external vendors) are not built here: a certificate that names one
 * is refused by the rotation with the missing issuer or destination named.
 *
 * Agent destinations record each host's desired version next to the staged secret version; see
 * `waitForAgents` for who waits for the hosts' reports.
 */
export function buildRotationAdapters(
  config: CertrotorConfig,
  clients: AwsClientProvider,
  settings: RotationAdapterSettings,
): RotationAdapters {
  const kms = settings.kmsKeyId ? { kmsKeyId: settings.kmsKeyId } : {};
  const prefix = config.aws.secretPrefix;
  const bundles = new SecretsManagerBundleStore({
    client: clients.get(SecretsManagerClient),
    secretNameFor: (name) => `${prefix}${name}`,
    ...kms,
  });
  const issuers = new Map<string, Issuer>();
  for (const issuer of config.issuers) {
    if (issuer.kind !== 'acm-pca') continue;
    issuers.set(
      issuer.name,
      new AcmPcaIssuer({
        client: clients.get(ACMPCAClient, issuer.region),
        certificateAuthorityArn: issuer.certificateAuthorityArn,
        name: issuer.name,
        journal: new SecretsManagerIssuanceJournal({
          client: clients.get(SecretsManagerClient),
          prefix: `${prefix}issuance/`,
          ...kms,
        }),
        ...(issuer.signingAlgorithm ? { signingAlgorithm: issuer.signingAlgorithm } : {}),
        ...(issuer.templateArn ? { templateArn: issuer.templateArn } : {}),
      }),
    );
  }
  const destinations = new Map<string, Destination>();
  const state =
    settings.state ?? (config.aws.tableName ? awsStateStore(clients, config.aws.tableName) : undefined);
  for (const d of config.destinations) {
    if (d.kind === 'agent' && state) {
      destinations.set(
        d.name,
        new AgentDestination({
          name: d.name,
          hosts: agentDestinationHosts(config, d),
          state,
          bundles,
          clock: settings.clock,
          sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
          waitForReport: settings.waitForAgents ?? true,
          timeoutMs: agentReportTimeoutMs(config, d),
        }),
      );
    }
    if (d.kind === 'secrets-manager') {
      destinations.set(
        d.name,
        new SecretsManagerDestination({
          client: clients.get(SecretsManagerClient, d.region),
          name: d.name,
          secretIds: [d.secretId],
          ...(d.kmsKeyId ? { kmsKeyId: d.kmsKeyId } : kms),
        }),
      );
    } else if (d.kind === 'acm') {
      destinations.set(
        d.name,
        new AcmDestination({
          client: clients.get(ACMClient, d.region),
          name: d.name,
          certificateArns: [d.certificateArn],
          clock: settings.clock,
        }),
      );
    } else if (d.kind === 'ssm') {
      const [tagKey, tagValues] = Object.entries(d.targets.tags ?? {})[0] ?? [];
      destinations.set(
        d.name,
        new SsmRunCommandDestination({
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
          locate: locateInBundleStore(bundles),
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
                  reloadCommand: Array.isArray(d.reloadCommand)
                    ? shellCommand(d.reloadCommand)
                    : d.reloadCommand,
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
        }),
      );
    }
  }
  return { bundles, issuers, destinations };
}

/** An argv as one shell command line, each argument single-quoted (the install document runs it with bash). */
function shellCommand(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_./:=@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
