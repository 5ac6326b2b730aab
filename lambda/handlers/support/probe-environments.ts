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

/**
 * Whether this probe function reads the inventory sources again in the sibling sweep (ACM, Secrets
 * Manager, the private CAs' certificates), so an inventory place with a finding's certificate shows
 * what its source holds now, not what the inventory job last recorded. Unset: it does (the default
 * probe, outside any VPC, reaches every AWS API). A network placement's probe has `false` unless the
 * placement declares `readsInventory` (its subnets reach those APIs; see lib/constructs/network-placement.ts).
 */
export const PROBE_READS_INVENTORY_VARIABLE = 'CERTROTOR_PROBE_READS_INVENTORY';

export function probeReadsInventory(
  variable: string | undefined = process.env[PROBE_READS_INVENTORY_VARIABLE],
): boolean {
  return variable !== 'false';
}

/**
 * Every network placement's probe function, as JSON `[{ name, environments }]`, given to every function
 * so each scheduled job's Scan Missed check watches each placement's probe on its own.
 */
export const PROBE_PLACEMENTS_VARIABLE = 'CERTROTOR_PROBE_PLACEMENTS';

/** The placement probes named in CERTROTOR_PROBE_PLACEMENTS (none when unset); throws on a malformed value. */
export function probePlacements(
  variable: string | undefined = process.env[PROBE_PLACEMENTS_VARIABLE],
): { name: string; environments: string[] }[] {
  if (variable === undefined || variable === '') return [];
  const parsed = JSON.parse(variable) as unknown;
  const valid =
    Array.isArray(parsed) &&
    parsed.every(
      (p: unknown) =>
        typeof (p as { name?: unknown } | null)?.name === 'string' &&
        Array.isArray((p as { environments?: unknown }).environments) &&
        (p as { environments: unknown[] }).environments.every((e) => typeof e === 'string'),
    );
  if (!valid) throw new Error(`${PROBE_PLACEMENTS_VARIABLE} is not a JSON array of { name, environments }`);
  return (parsed as { name: string; environments: string[] }[]).map((p) => ({
    name: p.name,
    environments: [...p.environments],
  }));
}
