/**
 * Which environments this probe function serves. The CDK construct creates one probe function per
 * network placement (a VPC that reaches some environments' endpoints) and lists the environments
 * each one probes in CERTROTOR_PROBE_ENVIRONMENTS (a JSON array); unset, the function probes them all.
 */
import type { CertrotorConfig } from '../../config/configuration';

export const PROBE_ENVIRONMENTS_VARIABLE = 'CERTROTOR_PROBE_ENVIRONMENTS';

/** The configuration with only the endpoints of the served environments. */
export function servedEndpoints(
  config: CertrotorConfig,
  variable: string | undefined = process.env[PROBE_ENVIRONMENTS_VARIABLE],
): CertrotorConfig {
  if (variable === undefined || variable === '') return config;
  const served = new Set(JSON.parse(variable) as string[]);
  return { ...config, endpoints: config.endpoints.filter((e) => served.has(e.environment)) };
}

/** The network placement this probe function runs in (unset: the default probe, outside any VPC). */
export const PROBE_PLACEMENT_VARIABLE = 'CERTROTOR_PROBE_PLACEMENT';

/** This probe function's placement name, which its heartbeat carries as the `placement` dimension. */
export function probePlacement(
  variable: string | undefined = process.env[PROBE_PLACEMENT_VARIABLE],
): string | undefined {
  return variable === undefined || variable === '' ? undefined : variable;
}
