/**
 * The ACME issuer from its configuration entry (issue 17): its account key and order records in
 * `<state>/acme/<name>` (or `directory`), the order URLs in the state store, the challenge solver
 * (HTTP-01 responder or webroot, DNS-01 through Route 53), the EAB MAC key from a file or Secrets
 * Manager, and the version being replaced (for ARI's `replaces`) from the state's key store.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Route53Client } from '@aws-sdk/client-route-53';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createAwsClient, describeAwsError } from '../adapters/aws/clients';
import { Route53Dns } from '../adapters/aws/route53-dns';
import {
  type ChallengeSolver,
  Dns01Solver,
  Http01Responder,
  Http01Webroot,
} from '../adapters/net/acme/challenges';
import { AcmeIssuer } from '../adapters/net/acme/issuer';
import { type AcmeKeyFiles, type AcmeOrderJournal, LocalAcmeJournal } from '../adapters/net/acme/journal';
import type { CertrotorConfig, IssuerConfig } from '../config/configuration';
import { InvalidInputError, describeError } from '../domain/errors';
import type { BundleRef, BundleStore, Clock, Issuer, StateStore } from '../domain/ports';
import { readCertificateState } from '../use-cases/certificate-state';

export type AcmeIssuerConfig = Extract<IssuerConfig, { kind: 'acme' }>;

export function buildAcmeIssuer(
  issuer: AcmeIssuerConfig,
  deps: {
    readonly config: CertrotorConfig;
    readonly clock: Clock;
    readonly state: StateStore;
    readonly bundles: BundleStore;
    readonly sleep: (ms: number) => Promise<void>;
  },
): AcmeIssuer {
  const directory = issuer.directory ?? join(deps.config.local.stateDirectory, 'acme', issuer.name);
  const journal = new LocalAcmeJournal(directory, deps.state, deps.clock);
  return acmeIssuerWith(issuer, {
    ...deps,
    journal,
    keys: journal,
    route53: (region) => createAwsClient(Route53Client, region ? { region } : {}),
    secrets: () => createAwsClient(SecretsManagerClient, {}),
  });
}

/** The ACME issuer over a given journal and AWS clients (the aws backend's: lambda/wiring/aws.ts). */
export function acmeIssuerWith(
  issuer: AcmeIssuerConfig,
  deps: {
    readonly clock: Clock;
    readonly state: StateStore;
    readonly bundles: BundleStore;
    readonly sleep: (ms: number) => Promise<void>;
    readonly journal: AcmeOrderJournal;
    readonly keys: AcmeKeyFiles;
    /** Route 53 is global; a configured region only picks the endpoint. */
    readonly route53: (region: string | undefined) => Route53Client;
    readonly secrets: () => SecretsManagerClient;
  },
): AcmeIssuer {
  const { eab } = issuer;
  return new AcmeIssuer({
    name: issuer.name,
    directoryUrl: issuer.directoryUrl,
    ...(issuer.email ? { email: issuer.email } : {}),
    ...(issuer.profile ? { profile: issuer.profile } : {}),
    ...(eab ? { eab: { keyId: eab.keyId, hmacKey: () => readMacKey(eab, deps.secrets) } } : {}),
    solver: acmeSolver(issuer.challenge, deps.sleep, deps.route53),
    journal: deps.journal,
    keys: deps.keys,
    sleep: deps.sleep,
    currentCertificatePem: async (name) => {
      const current = (await readCertificateState(deps.state, name, deps.clock()))?.value.current;
      if (!current) return undefined;
      return (await deps.bundles.get(current.bundle).catch(() => undefined))?.certificatePem;
    },
  });
}

function acmeSolver(
  challenge: AcmeIssuerConfig['challenge'],
  sleep: (ms: number) => Promise<void>,
  route53: (region: string | undefined) => Route53Client,
): ChallengeSolver {
  if (challenge.type === 'dns-01')
    return new Dns01Solver(
      new Route53Dns({
        client: route53(challenge.route53.region),
        hostedZoneId: challenge.route53.hostedZoneId,
        sleep,
      }),
    );
  if (challenge.webroot !== undefined) return new Http01Webroot(challenge.webroot);
  return new Http01Responder({
    host: challenge.listen?.host ?? '0.0.0.0',
    port: challenge.listen?.port ?? 80,
  });
}

async function readMacKey(
  eab: NonNullable<AcmeIssuerConfig['eab']>,
  secrets: () => SecretsManagerClient,
): Promise<string> {
  if (eab.hmacKeyFile !== undefined) return (await readFile(eab.hmacKeyFile, 'utf8')).trim();
  const id = eab.hmacKeySecretId!;
  try {
    const secret = await secrets().send(new GetSecretValueCommand({ SecretId: id }));
    return (secret.SecretString ?? '').trim();
  } catch (error) {
    throw describeAwsError('secretsmanager:GetSecretValue', id, error);
  }
}

/**
 * ARI for the scan: the CA's suggested renewal window of each certificate whose issuer is an ACME
 * issuer, read for its current version (the certificate from the key store).
 */
export function acmeRenewalWindows(
  issuers: ReadonlyMap<string, Issuer>,
  bundles: BundleStore,
): (
  spec: { readonly name: string; readonly issuer: string },
  current: { readonly bundle: BundleRef },
) => Promise<{ start: string; end: string; explanationUrl?: string } | undefined> {
  return async (spec, current) => {
    const issuer = issuers.get(spec.issuer);
    if (!(issuer instanceof AcmeIssuer)) return undefined;
    const { certificatePem } = await bundles.get(current.bundle);
    const info = await issuer.renewalInfo(certificatePem);
    if (!info) return undefined;
    return {
      start: info.suggestedWindow.start,
      end: info.suggestedWindow.end,
      ...(info.explanationURL ? { explanationUrl: info.explanationURL } : {}),
    };
  };
}

/**
 * An ACME issuer's `trustFile`: the roots its certificates' consumers trust (undefined: the system
 * store). The deployed functions get the file's contents in place of its path (lib/constructs/
 * bundled-trust.ts reads it at synth: the synthesizing machine's paths do not exist in a Lambda).
 */
export function acmeTrust(config: CertrotorConfig, issuerName: string): string[] | undefined {
  const issuer = config.issuers.find((i) => i.name === issuerName);
  if (issuer?.kind !== 'acme' || issuer.trustFile === undefined) return undefined;
  if (issuer.trustFile.includes(PEM_CERTIFICATE)) return [issuer.trustFile];
  try {
    return [readFileSync(issuer.trustFile, 'utf8')];
  } catch (error) {
    throw new InvalidInputError(
      `issuers.${issuer.name}.trustFile: cannot read ${issuer.trustFile}: ${describeError(error)}`,
    );
  }
}

/** What a PEM certificate starts with: a `trustFile` holding it is the file's contents, not a path. */
export const PEM_CERTIFICATE = '-----BEGIN CERTIFICATE-----';
