/** A root private CA in the emulator, set up the way an operator does it: create, sign its CSR, install. */
import {
  type ACMPCAClient,
  CreateCertificateAuthorityCommand,
  GetCertificateAuthorityCsrCommand,
  GetCertificateCommand,
  ImportCertificateAuthorityCertificateCommand,
  IssueCertificateCommand,
} from '@aws-sdk/client-acm-pca';

export interface EmulatedCa {
  readonly arn: string;
  readonly certificatePem: string;
}

export async function createRootCa(pca: ACMPCAClient, commonName: string): Promise<EmulatedCa> {
  const created = await pca.send(
    new CreateCertificateAuthorityCommand({
      CertificateAuthorityType: 'ROOT',
      CertificateAuthorityConfiguration: {
        KeyAlgorithm: 'RSA_2048',
        SigningAlgorithm: 'SHA256WITHRSA',
        Subject: { CommonName: commonName, Organization: 'certrotor tests' },
      },
    }),
  );
  const arn = created.CertificateAuthorityArn!;
  const { Csr } = await pca.send(new GetCertificateAuthorityCsrCommand({ CertificateAuthorityArn: arn }));
  const { CertificateArn } = await pca.send(
    new IssueCertificateCommand({
      CertificateAuthorityArn: arn,
      Csr: Buffer.from(Csr!),
      SigningAlgorithm: 'SHA256WITHRSA',
      TemplateArn: 'arn:aws:acm-pca:::template/RootCACertificate/V1',
      Validity: { Type: 'YEARS', Value: 10 },
    }),
  );
  const { Certificate } = await pca.send(
    new GetCertificateCommand({ CertificateAuthorityArn: arn, CertificateArn: CertificateArn! }),
  );
  await pca.send(
    new ImportCertificateAuthorityCertificateCommand({
      CertificateAuthorityArn: arn,
      Certificate: Buffer.from(Certificate!),
    }),
  );
  return { arn, certificatePem: Certificate! };
}
