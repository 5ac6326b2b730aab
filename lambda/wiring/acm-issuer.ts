/**
 * The `acm` issuer (ACM exportable public certificates, issue 17) from its configuration entry, for
 * both backends: the ACM client of its region, Route 53 for the validation CNAMEs, the state store
 * recording which ACM certificate backs each managed certificate, and the notAfter of the version
 * distributed now (so a rotation before ACM renewed is refused before anything is stored).
 */
import { ACMClient } from '@aws-sdk/client-acm';
import type { Route53Client } from '@aws-sdk/client-route-53';
import { AcmExportableIssuer, readAcmCertificateStatus } from '../adapters/aws/acm-exportable-issuer';
import type { AwsClientProvider } from '../adapters/aws/clients';
import type { CertrotorConfig, IssuerConfig } from '../config/configuration';
import type { AcmCertificateStatus } from '../domain/acm-issuance';
import { InvalidInputError } from '../domain/errors';
import type { Clock, Issuer, StateStore } from '../domain/ports';
import { acmIssuedCertificates } from '../config/views/planner';
import type { AcmRenewalSource } from '../use-cases/acm-renewals';
import { readCertificateState } from '../use-cases/certificate-state';

export type AcmIssuerConfig = Extract<IssuerConfig, { kind: 'acm' }>;

export interface AcmIssuerDeps {
  readonly clock: Clock;
  readonly state: StateStore;
  readonly sleep: (ms: number) => Promise<void>;
  /** The ACM client of a region (undefined: the backend's default region). */
  readonly acm: (region: string | undefined) => ACMClient;
  /** Route 53 is global; a configured region only picks the endpoint. */
  readonly route53: (region: string | undefined) => Route53Client;
  /**
   * The longest wait within one call, whatever `validationTimeout` says: a deployed rotation step is a
   * Lambda invocation of a few minutes, which should fail with the status named, not time out (the
   * next attempt resumes the same request). @default no cap
   */
  readonly maxWaitMs?: number;
}

export function acmIssuerWith(issuer: AcmIssuerConfig, deps: AcmIssuerDeps): AcmExportableIssuer {
  const { route53 } = issuer.validation;
  return new AcmExportableIssuer({
    name: issuer.name,
    acm: deps.acm(issuer.region),
    route53: deps.route53(route53.region),
    hostedZoneId: route53.hostedZoneId,
    state: deps.state,
    clock: deps.clock,
    sleep: deps.sleep,
    validationTimeoutMs: Math.min(issuer.validationTimeout, deps.maxWaitMs ?? Number.POSITIVE_INFINITY),
    currentNotAfter: async (name) =>
      (await readCertificateState(deps.state, name, deps.clock()))?.value.current?.notAfter,
  });
}

/** What ACM holds now for an ARN of an `acm` issuer, through a client of that issuer's region. */
export function acmStatusReader(
  config: CertrotorConfig,
  clients: AwsClientProvider,
): (issuer: string, certificateArn: string) => Promise<AcmCertificateStatus> {
  return (issuerName, certificateArn) => {
    const issuer = config.issuers.find((i) => i.name === issuerName);
    if (issuer?.kind !== 'acm')
      throw new InvalidInputError(`issuers.${issuerName}: not an acm issuer (reading ${certificateArn})`);
    return readAcmCertificateStatus(clients.get(ACMClient, issuer.region), certificateArn);
  };
}

/**
 * `certrotor run`'s view of ACM's renewals: the `acm` certificates, and what ACM holds for an ARN read
 * through the issuer the runtime built (its region, the SDK's credentials and endpoint).
 */
export function acmRenewalSource(
  config: CertrotorConfig,
  issuers: ReadonlyMap<string, Issuer>,
): AcmRenewalSource | undefined {
  const certificates = acmIssuedCertificates(config);
  if (certificates.length === 0) return undefined;
  return {
    certificates,
    status: async (issuerName, certificateArn) => {
      const issuer = issuers.get(issuerName);
      if (!(issuer instanceof AcmExportableIssuer))
        throw new InvalidInputError(`issuers.${issuerName}: not an acm issuer (reading ${certificateArn})`);
      return issuer.status(certificateArn);
    },
  };
}
