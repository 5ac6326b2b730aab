/**
 * The AWS inventory sources from configuration (ACM, Secrets Manager), shared by the inventory
 * Lambda (handlers/support/scan-job.ts) and the CLI's `--backend aws`.
 */
import { ACMClient } from '@aws-sdk/client-acm';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CertrotorConfig } from '../../domain/config';
import type { CertificateSource } from '../../domain/ports';
import { AcmSource } from './acm';
import type { AwsClientProvider } from './clients';
import { SecretsManagerSource } from './secrets-manager';

/** Sources of kind `acm` and `secrets-manager`; `files` sources are local and built elsewhere. */
export function buildAwsInventorySources(
  config: CertrotorConfig,
  clients: AwsClientProvider,
  region: string | undefined,
): CertificateSource[] {
  const sources: CertificateSource[] = [];
  for (const s of config.sources) {
    if (s.kind === 'acm') {
      const sourceRegion = s.region ?? region ?? 'us-east-1';
      sources.push(
        new AcmSource({
          client: clients.get(ACMClient, sourceRegion),
          environment: s.environment,
          region: sourceRegion,
          name: s.name,
        }),
      );
    } else if (s.kind === 'secrets-manager') {
      sources.push(
        new SecretsManagerSource({
          client: clients.get(SecretsManagerClient, s.region),
          environment: s.environment,
          ...(s.tagKey ? { tagKey: s.tagKey } : {}),
        }),
      );
    }
  }
  return sources;
}
