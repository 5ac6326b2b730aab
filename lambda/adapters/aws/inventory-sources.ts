/**
 * The AWS inventory sources from configuration (ACM, Secrets Manager, the ACM PCA issuers' CA
 * certificates), shared by the inventory Lambda (handlers/support/scan-job.ts) and the CLI's
 * `--backend aws`.
 */
import { ACMClient } from '@aws-sdk/client-acm';
import { ACMPCAClient } from '@aws-sdk/client-acm-pca';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CertrotorConfig } from '../../config/configuration';
import type { CertificateSource } from '../../domain/ports';
import type { CaCertificateReader } from '../../use-cases/issuer-ca-source';
import { AcmSource } from './acm';
import { readPcaCaCertificate } from './acm-pca';
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
          includeImported: s.includeImported,
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

/**
 * Readers of the CA certificate of every `acm-pca` issuer, for the issuer CA sources. A PCA CA is
 * created by its operator, never by certrotor: one that is missing or has no certificate installed is
 * a failure of that issuer, not something to skip.
 */
export function awsIssuerCaReaders(
  config: CertrotorConfig,
  clients: AwsClientProvider,
): CaCertificateReader[] {
  return config.issuers.flatMap((issuer) =>
    issuer.kind === 'acm-pca'
      ? [
          {
            issuer: issuer.name,
            location: issuer.certificateAuthorityArn,
            read: () =>
              readPcaCaCertificate(clients.get(ACMPCAClient, issuer.region), issuer.certificateAuthorityArn),
          },
        ]
      : [],
  );
}
