/**
 * The one mapping from configured certificates to what the rotation and the scan take: the CLI (both
 * backends), the rotation-step Lambda, the scan jobs and the planner all call these, so the same file
 * gives every driver the same spec.
 *
 * Where the CLI's and the Lambdas' copies used to disagree, the reason for each choice is on the
 * field below (and in the README, "Which backend runs which kind").
 */
import type { CertrotorConfig, ManagedCertificateConfig } from '../configuration';
import { ConfigurationError } from '../../domain/errors';
import type { RenewalPolicy } from '../../domain/renewal';
import type { ManagedCertificateSpec, VerifyEndpoint } from '../../use-cases/managed-certificate';
import { agentDestinationHosts } from './agent-hosts';

const DAY_MS = 86_400_000;

/** A managed certificate as both rotation drivers take it (a `WorkflowSpec` / `RotationSpec`). */
export interface CertificateSpec extends ManagedCertificateSpec {
  /** How long a target may take to serve the new version after delivery (`rollout.verifyTimeout`). */
  readonly verifyTimeoutMs: number;
  /** Pause between verification rounds (`rollout.verifyInterval`). */
  readonly verifyIntervalMs: number;
  /** Environment of each destination (by destination name), for events and endpoint matching. */
  readonly destinationEnvironments: ReadonlyMap<string, string | undefined>;
}

export interface CertificateSpecOptions {
  /**
   * Trust anchors (PEM) for endpoints serving certificates of an issuer, e.g. the local CA's
   * certificate; read by the wiring, since the views never touch files. @default none: the system store
   */
  readonly trustFor?: (issuer: string) => readonly string[] | undefined;
}

/**
 * Certificates certrotor issues and rotates itself. Those of an `external` issuer are supplied by a
 * vendor and reach their consumers through the upstream watcher, never through a rotation.
 */
export function rotatableCertificates(config: CertrotorConfig): ManagedCertificateConfig[] {
  const external = new Set(config.issuers.filter((i) => i.kind === 'external').map((i) => i.name));
  return config.certificates.filter((c) => !external.has(c.issuer));
}

/** The spec of every rotatable certificate, in configuration order. */
export function certificateSpecs(
  config: CertrotorConfig,
  options: CertificateSpecOptions = {},
): CertificateSpec[] {
  return rotatableCertificates(config).map((c) => toCertificateSpec(config, c, options));
}

/**
 * The spec of one certificate by name.
 * @throws ConfigurationError when the configuration has no certificate of that name
 */
export function certificateSpec(
  config: CertrotorConfig,
  name: string,
  options: CertificateSpecOptions = {},
): CertificateSpec {
  const certificate = config.certificates.find((c) => c.name === name);
  if (!certificate) {
    throw new ConfigurationError('configuration', [`certificates: no certificate named ${name}`]);
  }
  return toCertificateSpec(config, certificate, options);
}

/** Maps one configured certificate onto the spec both drivers take. */
export function toCertificateSpec(
  config: CertrotorConfig,
  c: ManagedCertificateConfig,
  options: CertificateSpecOptions = {},
): CertificateSpec {
  const caPem = options.trustFor?.(c.issuer);
  const trust = caPem && caPem.length > 0 ? { caPem } : {};
  const verify: VerifyEndpoint[] = [];
  const environments = new Set<string>();
  const destinationEnvironments = new Map<string, string | undefined>();
  for (const name of c.destinations) {
    const d = config.destinations.find((x) => x.name === name);
    if (!d) continue;
    destinationEnvironments.set(d.name, d.environment);
    if (d.environment) environments.add(d.environment);
    // A target is verified by its own endpoint: the host a files destination serves, each agent host.
    const hostNames =
      d.kind === 'files' && d.host ? [d.host] : d.kind === 'agent' ? agentDestinationHosts(config, d) : [];
    for (const hostName of hostNames) {
      const host = config.hosts.find((h) => h.name === hostName);
      if (!host) continue;
      environments.add(host.environment);
      if (!host.endpoint) continue;
      verify.push({
        environment: host.environment,
        host: host.endpoint.host ?? host.address ?? host.name,
        port: host.endpoint.port,
        ...(host.endpoint.servername ? { servername: host.endpoint.servername } : {}),
        target: host.name,
        ...trust,
      });
    }
  }
  for (const name of c.endpoints) {
    const e = config.endpoints.find((x) => x.name === name);
    if (!e) continue;
    environments.add(e.environment);
    verify.push({
      environment: e.environment,
      host: e.host,
      port: e.port,
      ...(e.servername ? { servername: e.servername } : {}),
      ...trust,
    });
  }
  return {
    name: c.name,
    // An IP-only certificate is named by its address, not by the configuration's label for it.
    commonName: c.commonName ?? c.dnsNames[0] ?? c.ipAddresses[0] ?? c.name,
    dnsNames: c.dnsNames,
    ipAddresses: c.ipAddresses,
    keySpec: c.keySpec,
    usage: c.usage,
    validityDays: Math.max(1, Math.round(c.validity / DAY_MS)),
    issuer: c.issuer,
    ...(config.issuers.find((i) => i.name === c.issuer)?.kind === 'acm' ? { caRenews: true } : {}),
    destinations: c.destinations,
    verify,
    // Events always name an environment; a certificate with no placed target belongs to the first.
    environments: environments.size > 0 ? [...environments] : [config.environments[0]!.name],
    rollout: {
      canary: c.rollout.canary,
      batchSize: c.rollout.batchSize,
      failureTolerance: c.rollout.failureTolerance,
    },
    verifyPolicy: {
      attempts: Math.max(1, Math.ceil(c.rollout.verifyTimeout / Math.max(1, c.rollout.verifyInterval))),
      intervalMs: c.rollout.verifyInterval,
      timeoutMs: config.probe.timeout,
    },
    verifyTimeoutMs: c.rollout.verifyTimeout,
    verifyIntervalMs: c.rollout.verifyInterval,
    destinationEnvironments,
    ...(c.owner ? { owner: c.owner } : {}),
    ...(c.runbookUrl ? { runbookUrl: c.runbookUrl } : {}),
  };
}

/** One certificate's renewal settings as the renewal decision takes them. */
export function renewalPolicy(c: ManagedCertificateConfig): RenewalPolicy {
  return {
    ...(c.renewal.renewBefore !== undefined ? { renewBefore: c.renewal.renewBefore } : {}),
    ...(c.renewal.renewBeforePercentage !== undefined
      ? { renewBeforePercentage: c.renewal.renewBeforePercentage }
      : {}),
    jitterPercentage: c.renewal.jitterPercentage,
  };
}

/** Every certificate's renewal policy, by certificate name. */
export function renewalPolicies(config: CertrotorConfig): Map<string, RenewalPolicy> {
  return new Map(config.certificates.map((c) => [c.name, renewalPolicy(c)]));
}
