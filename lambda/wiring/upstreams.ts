/**
 * The upstream watcher's specs from configuration, for the CLI (`upstream watch|status`, `run`) and the
 * upstream-watch Lambda alike: each upstream's trust bundle (`trust.caBundleFile`) read here, its
 * consumers resolved through the destinations' targets (upstream-spec.ts). An upstream that
 * cannot be resolved is one failure naming the setting; the others still run.
 */
import { readFileSync } from 'node:fs';
import type { CertrotorConfig, UpstreamConfig } from '../config/configuration';
import { InvalidInputError, describeError } from '../domain/errors';
import type { Destination } from '../domain/ports';
import { parseCertificates } from '../domain/x509';
import type { ScanFailure } from '../use-cases/scan';
import type { UpstreamSpec } from '../use-cases/upstream/model';
import { upstreamSpecOf } from './upstream-spec';
import { expectedAgentHosts } from '../config/views/agent-hosts';
import { certificateSpecs } from '../config/views/certificates';
import type { FleetReportSettings } from '../use-cases/fleet-report';

/**
 * One upstream's spec.
 * @throws InvalidInputError naming `upstreams.<name>.trust.caBundleFile` when the bundle cannot be read
 */
export async function upstreamSpec(
  config: CertrotorConfig,
  upstream: UpstreamConfig,
  destinations: ReadonlyMap<string, Destination>,
): Promise<UpstreamSpec> {
  const file = upstream.trust.caBundleFile;
  let caPem: string[] | undefined;
  if (file) {
    try {
      caPem = parseCertificates(readFileSync(file), file).map((m) => m.pem);
    } catch (error) {
      throw new InvalidInputError(`upstreams.${upstream.name}.trust.caBundleFile: ${describeError(error)}`, {
        cause: error,
      });
    }
  }
  return upstreamSpecOf(config, upstream, destinations, caPem);
}

/** Every upstream's spec; an upstream that cannot be resolved is a failure, the others still run. */
export async function upstreamSpecs(
  config: CertrotorConfig,
  destinations: ReadonlyMap<string, Destination>,
): Promise<{ readonly specs: UpstreamSpec[]; readonly failures: ScanFailure[] }> {
  const specs: UpstreamSpec[] = [];
  const failures: ScanFailure[] = [];
  for (const upstream of config.upstreams) {
    try {
      specs.push(await upstreamSpec(config, upstream, destinations));
    } catch (error) {
      failures.push({ what: `upstream ${upstream.name}`, error: describeError(error) });
    }
  }
  return { specs, failures };
}

/**
 * What the fleet report needs of the configuration (lambda/use-cases/fleet-report.ts): environments,
 * where each managed certificate lives, the hosts expected to report, and each upstream's consumers
 * (resolved through the destinations when the caller has them).
 */
export async function fleetReportSettings(
  config: CertrotorConfig,
  destinations: ReadonlyMap<string, Destination> = new Map(),
): Promise<FleetReportSettings> {
  const upstreams = new Map<string, { consumers: string[]; safetyMarginMs: number }>();
  for (const upstream of config.upstreams) {
    const spec = await upstreamSpecOf(config, upstream, destinations);
    upstreams.set(upstream.name, {
      consumers: spec.consumers.map((c) => c.name),
      safetyMarginMs: upstream.safetyMargin,
    });
  }
  return {
    environments: config.environments.map((e) => e.name),
    managedEnvironments: new Map(certificateSpecs(config).map((s) => [s.name, s.environments])),
    expectedHosts: expectedAgentHosts(config),
    upstreams,
    // Row states by the same threshold rule as the scan: thresholds scaled by lifetime by default.
    thresholds: config.notifications.thresholds,
    thresholdScaling: config.notifications.thresholdScaling,
  };
}
