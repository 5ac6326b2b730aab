/**
 * The configured endpoints as probe targets, for the CLI and the deployed probe job alike. An endpoint
 * whose trust anchors (`caFile`) cannot be read is left out and reported as a failure of that endpoint:
 * one bad endpoint never stops the probe of the others.
 */
import { readFileSync } from 'node:fs';
import type { CertrotorConfig } from '../../config/configuration';
import { describeError } from '../../domain/errors';
import type { EndpointTarget, ScanFailure } from '../../use-cases/scan';

export function configuredEndpointTargets(config: CertrotorConfig): {
  endpoints: EndpointTarget[];
  failures: ScanFailure[];
} {
  const endpoints: EndpointTarget[] = [];
  const failures: ScanFailure[] = [];
  for (const e of config.endpoints) {
    let caPem: string[] | undefined;
    if (e.caFile) {
      try {
        caPem = [readFileSync(e.caFile, 'utf8')];
      } catch (error) {
        failures.push({
          what: `endpoint ${e.name}`,
          error: `reading caFile ${e.caFile}: ${describeError(error)}`,
        });
        continue;
      }
    }
    endpoints.push({
      name: e.name,
      environment: e.environment,
      host: e.host,
      port: e.port,
      ...(e.servername ? { servername: e.servername } : {}),
      ...(caPem ? { caPem } : {}),
      ...(e.expect?.certificate ? { expects: e.expect.certificate } : {}),
      timeoutMs: config.probe.timeout,
      ...probeAddresses(config),
    });
  }
  return { endpoints, failures };
}

/** Every address is the prober's default; only `false` needs saying. */
export function probeAddresses(config: CertrotorConfig): { allAddresses?: false } {
  return config.probe.allAddresses ? {} : { allAddresses: false };
}
