/**
 * The ACM PCA issuers' CA certificates as inventory, shared by the inventory Lambda
 * (handlers/support/scan-job.ts) and the CLI's `--backend aws`. The configured ACM and Secrets
 * Manager sources are built by the wiring's source registry (lambda/wiring/aws.ts).
 */
import { ACMPCAClient } from '@aws-sdk/client-acm-pca';
import type { CertrotorConfig } from '../../config/configuration';
import type { CaCertificateReader } from '../../domain/ports';
import { readPcaCaCertificate } from './acm-pca';
import type { AwsClientProvider } from './clients';

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
