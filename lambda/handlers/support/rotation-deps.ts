/** The rotation's adapters, built from configuration (only the rotation-step function loads these SDK clients). */
import { join } from 'node:path';
import { ACMClient } from '@aws-sdk/client-acm';
import { ACMPCAClient } from '@aws-sdk/client-acm-pca';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { AcmPcaIssuer, SecretsManagerIssuanceJournal } from '../../adapters/aws/acm-pca';
import { AcmDestination } from '../../adapters/aws/acm';
import { SecretsManagerBundleStore, SecretsManagerDestination } from '../../adapters/aws/secrets-manager';
import { SsmRunCommandDestination, locateInBundleStore } from '../../adapters/aws/ssm-run-command';
import { NodeTlsProber } from '../../adapters/net/tls-prober';
import type { CertrotorConfig } from '../../domain/config';
import type { Destination, Issuer } from '../../domain/ports';
import type { WorkflowDeps } from '../../use-cases/rotation-workflow';
import { type AwsClients, type HandlerEnvironment, eventPublisher, stateStore } from './runtime';

/** Everything the rotation steps need, built from configuration. Files and agent destinations are not deliverable from Lambda. */
export function rotationDeps(
  config: CertrotorConfig,
  env: HandlerEnvironment,
  clients: AwsClients,
): WorkflowDeps {
  const kms = env.CERTROTOR_KMS_KEY_ID ? { kmsKeyId: env.CERTROTOR_KMS_KEY_ID } : {};
  const prefix = config.aws.secretPrefix;
  const bundles = new SecretsManagerBundleStore({
    client: clients.get(SecretsManagerClient),
    secretNameFor: (name) => `${prefix}${name}`,
    ...kms,
  });
  const clock = () => new Date();
  const issuers = new Map<string, Issuer>();
  for (const issuer of config.issuers) {
    if (issuer.kind !== 'acm-pca') continue;
    const client = clients.get(SecretsManagerClient);
    issuers.set(
      issuer.name,
      new AcmPcaIssuer({
        client: clients.get(ACMPCAClient, issuer.region),
        certificateAuthorityArn: issuer.certificateAuthorityArn,
        name: issuer.name,
        journal: new SecretsManagerIssuanceJournal({ client, prefix: `${prefix}issuance/`, ...kms }),
        ...(issuer.signingAlgorithm ? { signingAlgorithm: issuer.signingAlgorithm } : {}),
      }),
    );
  }
  const destinations = new Map<string, Destination>();
  for (const d of config.destinations) {
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
          clock,
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
            ...(d.owner ? { owner: d.owner } : {}),
            ...(d.group ? { group: d.group } : {}),
            ...(d.reloadCommand
              ? {
                  reloadCommand: Array.isArray(d.reloadCommand) ? d.reloadCommand.join(' ') : d.reloadCommand,
                }
              : {}),
          },
          ...(d.documentName ? { documentName: d.documentName } : {}),
        }),
      );
    }
  }
  return {
    issuers,
    destinations,
    bundles,
    state: stateStore(env, clients),
    prober: new NodeTlsProber({ clock }),
    clock,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    events: eventPublisher(env, clients),
  };
}
